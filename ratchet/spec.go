// Package ratchet is the Double Ratchet as libsignal runs it: a root chain
// advanced by Diffie-Hellman ratchet steps, sending and receiving chains of
// HMAC-SHA256, and per-message keys for AES-256-CBC and an 8-byte
// HMAC-SHA256 MAC (Signal's "The Double Ratchet Algorithm", revision 4,
// with the recommended cryptographic algorithms of its §5.2).
//
// The package is pure: no I/O, no clock, no logging, no goroutines. The
// shared secret arrives from the key agreement as plain keys, so the
// ratchet can be taught and tested alone. Every transition returns a new
// State and leaves the receiver untouched; a message that fails for any
// reason changes nothing.
package ratchet

// Specification constants (libsignal rust/protocol/src/ratchet/keys.rs).
const (
	// infoRatchet is the HKDF info of KDF_RK.
	infoRatchet = "WhisperRatchet"
	// infoMessageKeys is the HKDF info of the message-key derivation.
	infoMessageKeys = "WhisperMessageKeys"
	// messageKeySeed and chainKeySeed are the HMAC inputs of KDF_CK
	// (Double Ratchet §5.2: "0x01 as the input to produce the message key,
	// and 0x02 as the input to produce the next chain key").
	messageKeySeed = 0x01
	chainKeySeed   = 0x02

	// KeySize is the size of root, chain, cipher and MAC keys.
	KeySize = 32
	// ivSize is the AES-CBC IV length.
	ivSize = 16
	// messageKeyMaterial is cipher key || MAC key || IV.
	messageKeyMaterial = KeySize + KeySize + ivSize
)

// Implementation constants: libsignal's limits (rust/protocol/src/consts.rs),
// kept identical so that both sides agree on what is "too far".
const (
	// MaxForwardJumps bounds how far ahead of a receiving chain a message
	// may be. Larger lets a receiver survive more lost messages; smaller
	// bounds the HMAC work a forged counter can cause (each step costs two
	// HMAC-SHA256 calls).
	MaxForwardJumps = 25_000
	// MaxSkippedKeys bounds the stored keys of skipped messages per
	// receiving chain; the oldest are evicted first. Each costs 36 bytes of
	// state; an evicted key makes its late message undecryptable.
	MaxSkippedKeys = 2_000
	// MaxReceiverChains bounds the receiving chains kept (the oldest goes
	// first): late messages of older chains are lost, in exchange for
	// bounded state.
	MaxReceiverChains = 5
)
