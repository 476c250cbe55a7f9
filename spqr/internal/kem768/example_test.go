package kem768_test

import (
	"crypto/rand"
	"fmt"

	"github.com/blindpost/blindpost/spqr/internal/kem768"
)

// Bob sends the header first; Alice starts encapsulating at once and sends
// ct1. When the key vector arrives, Alice checks it against the header and
// finishes with ct2; Bob decapsulates ct1 || ct2.
func Example() {
	header, keyVector, dk, err := kem768.GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}

	ct1, state, aliceSecret, err := kem768.Encaps1(header, rand.Reader)
	if err != nil {
		panic(err)
	}
	if !kem768.KeyVectorMatchesHeader(keyVector[:], header[:]) {
		panic("key vector does not match the header")
	}
	ct2, err := kem768.Encaps2(header, keyVector, state[:])
	if err != nil {
		panic(err)
	}

	bobSecret, err := kem768.Decaps(dk[:], ct1[:], ct2[:])
	if err != nil {
		panic(err)
	}
	fmt.Println(aliceSecret == bobSecret, aliceSecret)
	// Output: true kem768.SharedSecret(REDACTED)
}
