// Package escrow is INSECURE BY DESIGN. It exists only for `blindpost demo
// --escrow`, to show side by side what a "TCN-compliant" design would
// change: each client also encrypts every message key to a key the
// provider holds, so the provider can decrypt every message on demand.
//
// Nothing in blindpost's client path (messenger, chat, send, recv) imports
// this package; a test checks that. Do not use it for anything else: a
// provider-held key that opens every conversation is a single point whose
// compromise, abuse or compelled use exposes every user.
package escrow

import (
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/blindpost/blindpost/identity"
	"github.com/blindpost/blindpost/ratchet"
)

// info is the HKDF label of the capsule key.
const info = "blindpost INSECURE key-escrow demo v1"

// Tag names the message a capsule belongs to, by fields the provider can
// read in the clear: the sender's ratchet key and the message counter.
type Tag struct {
	RatchetKey identity.PublicKey
	Counter    uint32
}

func (t Tag) bytes() []byte {
	b := append([]byte(nil), t.RatchetKey[:]...)
	return binary.BigEndian.AppendUint32(b, t.Counter)
}

// capsule layout: tag (36) || ephemeral public key (32) || sealed keys.
const tagSize = identity.PublicKeySize + 4

// Seal encrypts a message's keys to the provider's escrow public key.
func Seal(rand io.Reader, escrowKey identity.PublicKey, tag Tag, mk ratchet.MessageKeys) ([]byte, error) {
	eph, err := identity.GenerateKeyPair(rand)
	if err != nil {
		return nil, err
	}
	aead, err := capsuleAEAD(eph, escrowKey)
	if err != nil {
		return nil, err
	}
	plain := make([]byte, 0, 80)
	plain = append(plain, mk.CipherKey[:]...)
	plain = append(plain, mk.MACKey[:]...)
	plain = append(plain, mk.IV[:]...)
	out := append(tag.bytes(), eph.Public[:]...)
	nonce := make([]byte, aead.NonceSize())
	return aead.Seal(out, nonce, plain, tag.bytes()), nil
}

// Open is the provider's side: it recovers the tag and message keys.
func Open(escrowPrivate identity.KeyPair, capsule []byte) (Tag, ratchet.MessageKeys, error) {
	var tag Tag
	var mk ratchet.MessageKeys
	if len(capsule) < tagSize+identity.PublicKeySize {
		return tag, mk, errors.New("escrow: capsule too short")
	}
	copy(tag.RatchetKey[:], capsule)
	tag.Counter = binary.BigEndian.Uint32(capsule[identity.PublicKeySize:tagSize])
	eph := identity.PublicKey(capsule[tagSize : tagSize+identity.PublicKeySize])
	aead, err := capsuleAEAD(escrowPrivate, eph)
	if err != nil {
		return tag, mk, err
	}
	nonce := make([]byte, aead.NonceSize())
	plain, err := aead.Open(nil, nonce, capsule[tagSize+identity.PublicKeySize:], tag.bytes())
	if err != nil || len(plain) != 80 {
		return tag, mk, fmt.Errorf("escrow: capsule does not open")
	}
	copy(mk.CipherKey[:], plain[:32])
	copy(mk.MACKey[:], plain[32:64])
	copy(mk.IV[:], plain[64:])
	return tag, mk, nil
}

// capsuleAEAD derives the one-time capsule key from DH(ours, theirs). The
// key is used once (a fresh ephemeral key per capsule), so a zero nonce is
// safe.
func capsuleAEAD(ours identity.KeyPair, theirs identity.PublicKey) (cipher.AEAD, error) {
	dh, err := ours.DH(theirs)
	if err != nil {
		return nil, fmt.Errorf("escrow: %w", err)
	}
	key, err := hkdf.Key(sha256.New, dh[:], nil, info, chacha20poly1305.KeySize)
	if err != nil {
		return nil, fmt.Errorf("escrow: %w", err)
	}
	return chacha20poly1305.New(key)
}

// NextMessageKeys returns the keys the sending chain of st will use for its
// next message, and that message's tag: what an escrowing client discloses
// before it encrypts. In a session with SPQR the message keys are salted
// with the SPQR key of the next message; it is computed on a copy of the
// SPQR state (st is a value and stays as it is). That key follows from the
// state alone: rand feeds only the ML-KEM steps of the throwaway copy,
// whose outputs the real send draws afresh and which salt later messages.
func NextMessageKeys(st ratchet.State, rand io.Reader) (Tag, ratchet.MessageKeys, error) {
	_, _, pqKey, err := st.PQ.Send(rand)
	if err != nil {
		return Tag{}, ratchet.MessageKeys{}, fmt.Errorf("escrow: %w", err)
	}
	_, seed := ratchet.KDFCK(st.Sender.Chain)
	tag := Tag{RatchetKey: st.Sender.RatchetKey.Public, Counter: st.Sender.Chain.Index}
	return tag, ratchet.DeriveMessageKeys(seed, pqKey), nil
}
