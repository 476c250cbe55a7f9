package ratchet

import (
	"bytes"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"slices"
	"testing"
)

// TestDeriveMessageKeysIsHKDF: the message-key derivation is exactly
// HKDF-SHA256 as crypto/hkdf computes it, with and without the SPQR salt.
func TestDeriveMessageKeysIsHKDF(t *testing.T) {
	for i := range 200 {
		var seed MessageSeed
		var pq [KeySize]byte
		rand.Read(seed[:])
		rand.Read(pq[:])
		var salt []byte
		var pqp *[KeySize]byte
		if i%2 == 1 {
			salt, pqp = pq[:], &pq
		}
		want, err := hkdf.Key(sha256.New, seed[:], salt, infoMessageKeys, messageKeyMaterial)
		if err != nil {
			t.Fatal(err)
		}
		mk := DeriveMessageKeys(seed, pqp)
		got := slices.Concat(mk.CipherKey[:], mk.MACKey[:], mk.IV[:])
		if !bytes.Equal(got, want) {
			t.Fatalf("case %d: DeriveMessageKeys differs from crypto/hkdf", i)
		}
	}
}
