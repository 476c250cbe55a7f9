package ratchet

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
)

// RootKey is the key of the root chain.
type RootKey [KeySize]byte

// ChainKey is a sending or receiving chain key with the index of the next
// message it will produce.
type ChainKey struct {
	Key   [KeySize]byte
	Index uint32
}

// MessageSeed is the chain's output for one message, from which the
// message keys are derived. Skipped messages keep their seed.
type MessageSeed [KeySize]byte

// MessageKeys encrypt and authenticate one message.
type MessageKeys struct {
	CipherKey [KeySize]byte
	MACKey    [KeySize]byte
	IV        [ivSize]byte
}

// KDFRK is the specification's KDF_RK(rk, dh_out) (Double Ratchet §5.2):
//
//	HKDF-SHA256(salt = rk, ikm = dh_out, info = "WhisperRatchet") -> 64 bytes
//	= root key || chain key
func KDFRK(rk RootKey, dhOut [KeySize]byte) (RootKey, ChainKey) {
	okm, err := hkdf.Key(sha256.New, dhOut[:], rk[:], infoRatchet, 2*KeySize)
	if err != nil {
		panic("ratchet: internal error: " + err.Error())
	}
	var root RootKey
	var chain ChainKey
	copy(root[:], okm[:KeySize])
	copy(chain.Key[:], okm[KeySize:])
	clear(okm)
	return root, chain
}

// KDFCK is the specification's KDF_CK(ck) (Double Ratchet §5.2):
//
//	message seed = HMAC-SHA256(ck, 0x01)
//	next ck      = HMAC-SHA256(ck, 0x02)
func KDFCK(ck ChainKey) (ChainKey, MessageSeed) {
	var seed MessageSeed
	next := ChainKey{Index: ck.Index + 1}
	m := hmac.New(sha256.New, ck.Key[:])
	m.Write(kdfCKInputs[0:1])
	m.Sum(seed[:0])
	m.Reset()
	m.Write(kdfCKInputs[1:2])
	m.Sum(next.Key[:0])
	return next, seed
}

// kdfCKInputs are KDF_CK's two HMAC inputs, message seed then chain key.
var kdfCKInputs = [2]byte{messageKeySeed, chainKeySeed}

// DeriveMessageKeys expands a message seed into the message keys:
//
//	HKDF-SHA256(salt = pq, ikm = seed, info = "WhisperMessageKeys") -> 80 bytes
//	= cipher key || MAC key || IV
//
// pq is nil for version 3 sessions; with the post-quantum ratchet it is the
// per-message key that ratchet contributes.
//
// This runs for every message sent and received, so HKDF (RFC 5869) is
// spelled out over crypto/hmac with one keyed HMAC for the three expand
// blocks and no intermediate slices; TestDeriveMessageKeysIsHKDF checks it
// against crypto/hkdf.
func DeriveMessageKeys(seed MessageSeed, pq *[KeySize]byte) MessageKeys {
	var salt [sha256.Size]byte // RFC 5869 §2.2: no salt is HashLen zeros
	if pq != nil {
		salt = *pq
	}
	var prk [sha256.Size]byte
	ext := hmac.New(sha256.New, salt[:])
	ext.Write(seed[:])
	ext.Sum(prk[:0])

	var okm [3 * sha256.Size]byte // T(1) || T(2) || T(3), 96 >= 80 bytes
	exp := hmac.New(sha256.New, prk[:])
	clear(prk[:])
	prev := okm[:0]
	for i := range 3 {
		if i > 0 {
			exp.Reset()
		}
		exp.Write(prev)
		exp.Write(infoMessageKeysBytes)
		exp.Write(expandCounters[i : i+1])
		block := okm[i*sha256.Size : i*sha256.Size]
		prev = exp.Sum(block)
	}
	var mk MessageKeys
	copy(mk.CipherKey[:], okm[:KeySize])
	copy(mk.MACKey[:], okm[KeySize:2*KeySize])
	copy(mk.IV[:], okm[2*KeySize:messageKeyMaterial])
	clear(okm[:])
	return mk
}

// infoMessageKeysBytes is infoMessageKeys as bytes, and expandCounters
// the HKDF block counters, made once.
var (
	infoMessageKeysBytes = []byte(infoMessageKeys)
	expandCounters       = []byte{1, 2, 3}
)

// String redacts the key.
func (RootKey) String() string { return "ratchet.RootKey(REDACTED)" }

// GoString redacts the key.
func (k RootKey) GoString() string { return k.String() }

// Format redacts the key for every verb.
func (k RootKey) Format(f fmt.State, _ rune) { fmt.Fprint(f, k.String()) }

// String shows the index only.
func (c ChainKey) String() string { return fmt.Sprintf("ratchet.ChainKey{Index:%d}", c.Index) }

// GoString shows the index only.
func (c ChainKey) GoString() string { return c.String() }

// Format shows the index only, for every verb.
func (c ChainKey) Format(f fmt.State, _ rune) { fmt.Fprint(f, c.String()) }

// String redacts the seed.
func (MessageSeed) String() string { return "ratchet.MessageSeed(REDACTED)" }

// GoString redacts the seed.
func (s MessageSeed) GoString() string { return s.String() }

// Format redacts the seed for every verb.
func (s MessageSeed) Format(f fmt.State, _ rune) { fmt.Fprint(f, s.String()) }

// String redacts the keys.
func (MessageKeys) String() string { return "ratchet.MessageKeys(REDACTED)" }

// GoString redacts the keys.
func (k MessageKeys) GoString() string { return k.String() }

// Format redacts the keys for every verb.
func (k MessageKeys) Format(f fmt.State, _ rune) { fmt.Fprint(f, k.String()) }
