package lab

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"io"

	"github.com/blindpost/blindpost/identity"
	"github.com/blindpost/blindpost/ratchet"
	"github.com/blindpost/blindpost/wire"
)

// The labs run ratchet.State.Encrypt and Decrypt themselves, then recompute
// the values those calls used with the ratchet's exported specification
// functions (KDF_RK, KDF_CK, the message-key derivation) and check them
// against the state and the message the real code produced. A value a lab
// prints is therefore the value the protocol used, or the lab stops with
// an internal error.

// kdfRK is one application of KDF_RK: a DH between a ratchet key pair and
// the peer's ratchet key, fed into the root chain.
type kdfRK struct {
	ours   identity.KeyPair
	theirs identity.PublicKey
	dh     [identity.SharedSecretSize]byte
	rkIn   ratchet.RootKey
	rkOut  ratchet.RootKey
	chain  ratchet.ChainKey
}

func newKDFRK(ours identity.KeyPair, theirs identity.PublicKey, rk ratchet.RootKey) (kdfRK, error) {
	dh, err := ours.DH(theirs)
	if err != nil {
		return kdfRK{}, fmt.Errorf("lab: DH: %w", err)
	}
	out, ck := ratchet.KDFRK(rk, dh)
	return kdfRK{ours: ours, theirs: theirs, dh: dh, rkIn: rk, rkOut: out, chain: ck}, nil
}

// encryption is what one RatchetEncrypt used.
type encryption struct {
	msg  *wire.SignalMessage
	ck   ratchet.ChainKey    // CKs before the message
	seed ratchet.MessageSeed // mk
	keys ratchet.MessageKeys // mk expanded: cipher key, MAC key, IV
	next ratchet.ChainKey    // CKs after
	// pq is what SPQR did for the message (version 4), or nil.
	pq *pqStep
}

// encryptTraced is s.Encrypt with the keys it used. rand is the sender's
// stream, which only SPQR reads (version 4).
func encryptTraced(s ratchet.State, plaintext []byte, rand *Stream) (ratchet.State, *encryption, error) {
	var pq *pqStep
	if s.PQ.Enabled() {
		var err error
		if pq, err = replaySend(s.PQ, rand.clone()); err != nil {
			return s, nil, err
		}
	}
	next, m, err := s.Encrypt(plaintext, ratchet.Header{}, rand)
	if err != nil {
		return s, nil, err
	}
	e := &encryption{msg: m, ck: s.Sender.Chain, pq: pq}
	e.next, e.seed = ratchet.KDFCK(s.Sender.Chain)
	e.keys = ratchet.DeriveMessageKeys(e.seed, pq.salt())
	if e.next != next.Sender.Chain {
		return s, nil, fmt.Errorf("lab: internal error: KDF_CK does not give the sending chain Encrypt left")
	}
	if err := pq.check(next.PQ, m.PQRatchet); err != nil {
		return s, nil, err
	}
	if err := checkMessageKeys(&e.keys, m, s.LocalIdentity, s.RemoteIdentity, plaintext); err != nil {
		return s, nil, err
	}
	return next, e, nil
}

// decryption is what one RatchetDecrypt used.
type decryption struct {
	plaintext []byte
	// step is the DH ratchet step the message caused, or nil: the
	// receiving half (a new receiving chain) and the sending half (a new
	// ratchet key pair and sending chain).
	step *[2]kdfRK
	// ck is the receiving chain key before the message, when the key was
	// derived from the chain (not from a stored skipped key).
	ck          ratchet.ChainKey
	fromSkipped bool
	// skipped are the keys stored for messages this one jumped over.
	skipped []ratchet.SkippedKey
	seed    ratchet.MessageSeed
	keys    ratchet.MessageKeys
	// pq is what SPQR did for the message (version 4), or nil.
	pq *pqStep
}

// decryptTraced is s.Decrypt with the keys it used.
func decryptTraced(s ratchet.State, m *wire.SignalMessage, rand io.Reader) (ratchet.State, *decryption, error) {
	next, pt, err := s.Decrypt(m, rand)
	if err != nil {
		return s, nil, err
	}
	d := &decryption{plaintext: pt}
	if s.PQ.Enabled() {
		if d.pq, err = replayRecv(s.PQ, m.PQRatchet); err != nil {
			return s, nil, err
		}
		if err := d.pq.check(next.PQ, m.PQRatchet); err != nil {
			return s, nil, err
		}
	}
	root := s.Root
	chain, ok := findChain(s, m.RatchetKey)
	if !ok {
		recv, err := newKDFRK(s.Sender.RatchetKey, m.RatchetKey, s.Root)
		if err != nil {
			return s, nil, err
		}
		send, err := newKDFRK(next.Sender.RatchetKey, m.RatchetKey, recv.rkOut)
		if err != nil {
			return s, nil, err
		}
		if send.rkOut != next.Root || send.chain != next.Sender.Chain {
			return s, nil, fmt.Errorf("lab: internal error: KDF_RK does not give the state Decrypt left")
		}
		d.step = &[2]kdfRK{recv, send}
		chain = ratchet.ReceiverChain{RatchetKey: m.RatchetKey, Chain: recv.chain}
		root = send.rkOut
	}
	if m.Counter < chain.Chain.Index {
		for _, k := range chain.Skipped {
			if k.Index == m.Counter {
				d.seed, d.fromSkipped = k.Seed, true
			}
		}
		if !d.fromSkipped {
			return s, nil, fmt.Errorf("lab: internal error: no skipped key for counter %d", m.Counter)
		}
	} else {
		ck := chain.Chain
		d.ck = ck
		for ck.Index < m.Counter {
			idx := ck.Index
			var seed ratchet.MessageSeed
			ck, seed = ratchet.KDFCK(ck)
			d.skipped = append(d.skipped, ratchet.SkippedKey{Index: idx, Seed: seed})
		}
		ck, d.seed = ratchet.KDFCK(ck)
		after, ok := findChain(next, m.RatchetKey)
		if !ok || after.Chain != ck || next.Root != root {
			return s, nil, fmt.Errorf("lab: internal error: KDF_CK does not give the receiving chain Decrypt left")
		}
	}
	d.keys = ratchet.DeriveMessageKeys(d.seed, d.pq.salt())
	if err := checkMessageKeys(&d.keys, m, s.RemoteIdentity, s.LocalIdentity, pt); err != nil {
		return s, nil, err
	}
	return next, d, nil
}

// findChain returns the receiving chain of a ratchet key.
func findChain(s ratchet.State, k identity.PublicKey) (ratchet.ReceiverChain, bool) {
	for _, c := range s.Receivers {
		if c.RatchetKey == k {
			return c, true
		}
	}
	return ratchet.ReceiverChain{}, false
}

// checkMessageKeys verifies that keys are the ones that protect m: the MAC
// (libsignal's HMAC-SHA256(mac key, IK_sender || IK_receiver || version ||
// protobuf), first 8 bytes) matches, and AES-256-CBC decryption of the
// ciphertext gives plaintext followed by PKCS#7 padding. It is the labs'
// evidence that "this key encrypted this message"; the ratchet's own code
// did the work.
func checkMessageKeys(keys *ratchet.MessageKeys, m *wire.SignalMessage, sender, receiver identity.PublicKey, plaintext []byte) error {
	if !macVerifies(keys, m, sender, receiver) {
		return fmt.Errorf("lab: internal error: the recomputed MAC key does not authenticate the message")
	}
	block, err := aes.NewCipher(keys.CipherKey[:])
	if err != nil {
		return fmt.Errorf("lab: internal error: %w", err)
	}
	if len(m.Ciphertext) == 0 || len(m.Ciphertext)%aes.BlockSize != 0 {
		return fmt.Errorf("lab: internal error: ciphertext of %d bytes", len(m.Ciphertext))
	}
	out := make([]byte, len(m.Ciphertext))
	cipher.NewCBCDecrypter(block, keys.IV[:]).CryptBlocks(out, m.Ciphertext)
	pad := aes.BlockSize - len(plaintext)%aes.BlockSize
	want := append(bytes.Clone(plaintext), bytes.Repeat([]byte{byte(pad)}, pad)...)
	if !bytes.Equal(out, want) {
		return fmt.Errorf("lab: internal error: the recomputed cipher key does not decrypt the message")
	}
	return nil
}

// macVerifies reports whether the MAC key of keys authenticates m, as the
// receiver checks it: HMAC-SHA256(mac key, IK_sender || IK_receiver ||
// version || protobuf), first 8 bytes, over the bytes as sent.
func macVerifies(keys *ratchet.MessageKeys, m *wire.SignalMessage, sender, receiver identity.PublicKey) bool {
	mac := hmac.New(sha256.New, keys.MACKey[:])
	mac.Write(sender.Bytes())
	mac.Write(receiver.Bytes())
	mac.Write(m.MACInput())
	return hmac.Equal(mac.Sum(nil)[:wire.MACSize], m.MAC[:])
}
