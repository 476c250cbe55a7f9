package spqr

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
)

// Labels of the SPQR key schedule (ML-KEM Braid spec, "Key derivation";
// SPQR chain). "Chain  Start" has two spaces, as in libsignal's SPQR.
const (
	labelSCKAKey    = "Signal_PQCKA_V1_MLKEM768:SCKA Key"
	labelAuthUpdate = "Signal_PQCKA_V1_MLKEM768:Authenticator Update"
	labelHeaderMAC  = "Signal_PQCKA_V1_MLKEM768:ekheader"
	labelCtMAC      = "Signal_PQCKA_V1_MLKEM768:ciphertext"
	labelChainStart = "Signal PQ Ratchet V1 Chain  Start"
	labelChainAdd   = "Signal PQ Ratchet V1 Chain Add Epoch"
	labelChainNext  = "Signal PQ Ratchet V1 Chain Next"
)

// zeroSalt is the 32-byte all-zero salt SPQR uses where no key is chained.
var zeroSalt [sha256.Size]byte

// maxInfo is the room for an HKDF info on the stack: the longest label
// with its epoch or counter is 53 bytes.
const maxInfo = 64

// kdf fills out with HKDF-SHA256(salt, ikm, info) (RFC 5869); out may be
// up to 255·32 bytes long (the callers' are 32 to 96).
//
// Chain steps run it for every message sent and received, so HMAC is
// spelled out over sha256.Sum256 (hmacSHA256), which allocates nothing;
// TestKDFIsHKDF checks it against crypto/hkdf.
func kdf(out, salt, ikm, info []byte) {
	if len(out) > 255*sha256.Size {
		panic("spqr: internal error: HKDF output too long")
	}
	prk := hmacSHA256(salt, ikm) // extract
	var t [sha256.Size]byte      // expand: T(i) = HMAC(prk, T(i-1) || info || i)
	prev := t[:0]
	for i := 1; len(out) > 0; i++ {
		t = hmacSHA256(prk[:], prev, info, []byte{byte(i)})
		prev = t[:]
		out = out[copy(out, t[:]):]
	}
	clear(prk[:])
	clear(t[:])
}

// hmacSHA256 returns HMAC-SHA256 of the concatenation of msg under key
// (RFC 2104): SHA-256((K ⊕ opad) || SHA-256((K ⊕ ipad) || msg)), K being
// key padded with zeros to the block size, or its hash if it is longer.
// A message of up to 192 bytes (kdf's are at most 86) is hashed from the
// stack; a longer one allocates.
func hmacSHA256(key []byte, msg ...[]byte) [sha256.Size]byte {
	var k [sha256.BlockSize]byte
	if len(key) > sha256.BlockSize {
		h := sha256.Sum256(key)
		copy(k[:], h[:])
	} else {
		copy(k[:], key)
	}
	var ibuf [sha256.BlockSize + 192]byte
	in := ibuf[:sha256.BlockSize]
	for i, b := range k {
		in[i] = b ^ 0x36
	}
	for _, m := range msg {
		in = append(in, m...)
	}
	var obuf [sha256.BlockSize + sha256.Size]byte
	for i, b := range k {
		obuf[i] = b ^ 0x5c
	}
	inner := sha256.Sum256(in)
	copy(obuf[sha256.BlockSize:], inner[:])
	out := sha256.Sum256(obuf[:])
	clear(k[:])
	clear(in)
	clear(ibuf[:])
	clear(obuf[:])
	clear(inner[:])
	return out
}

// appendEpoch returns dst || label || epoch as a big-endian uint64.
func appendEpoch(dst []byte, label string, ep uint64) []byte {
	return binary.BigEndian.AppendUint64(append(dst, label...), ep)
}

// epochSecret derives the epoch's shared secret from the ML-KEM secret.
func epochSecret(ep uint64, kemSecret []byte) []byte {
	var info [maxInfo]byte
	out := make([]byte, 32)
	kdf(out, zeroSalt[:], kemSecret, appendEpoch(info[:0], labelSCKAKey, ep))
	return out
}

// authenticator MACs the ML-KEM header and ciphertext of each epoch with a
// key that every epoch's secret updates (ML-KEM Braid, "Authenticator").
type authenticator struct {
	root [32]byte
	mac  [32]byte
}

func newAuthenticator(authKey []byte, ep uint64) authenticator {
	var a authenticator
	a.update(ep, authKey)
	return a
}

func (a *authenticator) update(ep uint64, k []byte) {
	ikm := append(a.root[:len(a.root):len(a.root)], k...)
	var info [maxInfo]byte
	var out [64]byte
	kdf(out[:], zeroSalt[:], ikm, appendEpoch(info[:0], labelAuthUpdate, ep))
	copy(a.root[:], out[:32])
	copy(a.mac[:], out[32:])
	clear(out[:])
}

func (a *authenticator) tag(label string, ep uint64, data []byte) []byte {
	var info [maxInfo]byte
	m := hmac.New(sha256.New, a.mac[:])
	m.Write(appendEpoch(info[:0], label, ep))
	m.Write(data)
	return m.Sum(nil)
}

func (a *authenticator) macHeader(ep uint64, hdr []byte) []byte {
	return a.tag(labelHeaderMAC, ep, hdr)
}

func (a *authenticator) macCiphertext(ep uint64, ct []byte) []byte {
	return a.tag(labelCtMAC, ep, ct)
}
