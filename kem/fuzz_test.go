package kem

import (
	"bytes"
	"errors"
	"testing"
)

// Fuzz targets for both parsers. Their seed corpora are committed in
// testdata/fuzz/<FuzzName>/ (a valid key and ciphertext, a Curve25519 key
// and the other KEM types in a KEM position, truncations); `go test` runs
// them as unit tests. To fuzz:
//
//	go test -run='^$' -fuzz=FuzzParsePublicKey -fuzztime=60s ./kem/

// fuzzKey is a fixed key pair, so that fuzzing is deterministic.
var fuzzKey = NewKeyPair([SeedSize]byte{1})

// FuzzParsePublicKey: never panics; every error wraps ErrBadKeyType or
// ErrBadKeyLength; what parses is 0x08 and 1568 bytes, serializes back to
// the input, and can be encapsulated to.
func FuzzParsePublicKey(f *testing.F) {
	f.Add(fuzzKey.Public.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := ParsePublicKey(data)
		if err != nil {
			if !errors.Is(err, ErrBadKeyType) && !errors.Is(err, ErrBadKeyLength) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			if k != (PublicKey{}) {
				t.Fatal("key and error")
			}
			return
		}
		if len(data) != SerializedPublicKeySize || data[0] != KeyTypeKyber1024 || !bytes.Equal(k.Bytes(), data) {
			t.Fatalf("accepted %d bytes of type 0x%02x", len(data), data[0])
		}
		ct, _ := k.encapsulate([EncapsulationSeedSize]byte{2})
		if ct == (Ciphertext{}) {
			t.Fatal("all-zero ciphertext")
		}
	})
}

// FuzzParseCiphertext: never panics; every error wraps ErrBadKeyType or
// ErrBadCiphertextLength; what parses serializes back to the input and
// decapsulates (to a pseudorandom secret, by implicit rejection).
func FuzzParseCiphertext(f *testing.F) {
	ct, _ := fuzzKey.Public.encapsulate([EncapsulationSeedSize]byte{3})
	f.Add(ct.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseCiphertext(data)
		if err != nil {
			if !errors.Is(err, ErrBadKeyType) && !errors.Is(err, ErrBadCiphertextLength) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			return
		}
		if len(data) != SerializedCiphertextSize || data[0] != KeyTypeKyber1024 || !bytes.Equal(c.Bytes(), data) {
			t.Fatalf("accepted %d bytes of type 0x%02x", len(data), data[0])
		}
		if fuzzKey.Decapsulate(c) == (SharedSecret{}) {
			t.Fatal("all-zero shared secret")
		}
	})
}
