package spqr

import (
	"crypto/hkdf"
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
var zeroSalt = make([]byte, sha256.Size)

// kdf is HKDF-SHA256 with an explicit salt.
func kdf(salt, ikm []byte, info string, n int) []byte {
	out, err := hkdf.Key(sha256.New, ikm, salt, info, n)
	if err != nil {
		// Only possible for n > 255*32, which no caller asks for.
		panic("spqr: hkdf: " + err.Error())
	}
	return out
}

// withEpoch returns label || epoch as a big-endian uint64.
func withEpoch(label string, ep uint64) string {
	return string(binary.BigEndian.AppendUint64([]byte(label), ep))
}

// epochSecret derives the epoch's shared secret from the ML-KEM secret.
func epochSecret(ep uint64, kemSecret []byte) []byte {
	return kdf(zeroSalt, kemSecret, withEpoch(labelSCKAKey, ep), 32)
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
	out := kdf(zeroSalt, ikm, withEpoch(labelAuthUpdate, ep), 64)
	copy(a.root[:], out[:32])
	copy(a.mac[:], out[32:])
}

func (a *authenticator) tag(label string, ep uint64, data []byte) []byte {
	m := hmac.New(sha256.New, a.mac[:])
	m.Write([]byte(withEpoch(label, ep)))
	m.Write(data)
	return m.Sum(nil)
}

func (a *authenticator) macHeader(ep uint64, hdr []byte) []byte {
	return a.tag(labelHeaderMAC, ep, hdr)
}

func (a *authenticator) macCiphertext(ep uint64, ct []byte) []byte {
	return a.tag(labelCtMAC, ep, ct)
}
