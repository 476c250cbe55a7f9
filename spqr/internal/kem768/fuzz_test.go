package kem768

import (
	"testing"
)

// FuzzSliceInputs feeds arbitrary bytes to every function that takes
// slices: wrong lengths are errors, right lengths never panic, and a
// decapsulation of the right lengths always yields a secret.
func FuzzSliceInputs(f *testing.F) {
	k := mustKey(f, seeded(20))
	ct1, ct2, _ := encapsulate(f, k, seeded(21))
	f.Add(k.kv[:], k.h[:], k.dk[:], ct1[:], ct2[:], make([]byte, EncapsStateSize))
	f.Add([]byte{1}, []byte{2}, []byte{3}, []byte{4}, []byte{5}, []byte{6})
	f.Fuzz(func(t *testing.T, kv, hdr, dk, c1, c2, state []byte) {
		match := KeyVectorMatchesHeader(kv, hdr)
		if match && (len(kv) != KeyVectorSize || len(hdr) != HeaderSize) {
			t.Fatal("match with wrong lengths")
		}
		if len(hdr) == HeaderSize && len(kv) == KeyVectorSize {
			_, err := Encaps2(Header(hdr), KeyVector(kv), state)
			if match && len(state) == EncapsStateSize && err != nil {
				t.Fatalf("Encaps2 of a matching key vector: %v", err)
			}
			if (!match || len(state) != EncapsStateSize) && err == nil {
				t.Fatal("Encaps2 accepted bad input")
			}
		}
		_, err := Decaps(dk, c1, c2)
		right := len(dk) == DecapsulationKeySize && len(c1) == Ciphertext1Size && len(c2) == Ciphertext2Size
		if right != (err == nil) {
			t.Fatalf("Decaps lengths %d %d %d: %v", len(dk), len(c1), len(c2), err)
		}
	})
}
