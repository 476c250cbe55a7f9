package kem_test

import (
	"crypto/rand"
	"fmt"

	"github.com/blindpost/blindpost/identity"
	"github.com/blindpost/blindpost/kem"
)

// Example is PQXDH's KEM step between a bundle's Kyber prekey and the
// initiator: Bob publishes a signed Kyber prekey, Alice checks the
// signature and encapsulates, Bob decapsulates the ciphertext she sends.
func Example() {
	bobID, _ := identity.GenerateIdentityKeyPair(rand.Reader)
	prekey, _ := kem.GeneratePreKey(rand.Reader, bobID, 1, 0)
	published := prekey.KeyPair.Public.Bytes()

	// Alice parses and verifies what Bob published.
	pk, err := kem.ParsePublicKey(published)
	if err != nil {
		panic(err)
	}
	if err := kem.VerifyPreKey(bobID.Public, pk, prekey.Signature[:]); err != nil {
		panic(err)
	}
	ct, aliceSecret, _ := pk.Encapsulate(rand.Reader)
	sent := ct.Bytes()

	// Bob parses the ciphertext and decapsulates it.
	received, err := kem.ParseCiphertext(sent)
	if err != nil {
		panic(err)
	}
	bobSecret := prekey.KeyPair.Decapsulate(received)
	fmt.Printf("key %d bytes, ciphertext %d bytes, type 0x%02x\n", len(published), len(sent), sent[0])
	fmt.Println("same secret:", bobSecret == aliceSecret)
	fmt.Println(bobSecret)
	// Output:
	// key 1569 bytes, ciphertext 1569 bytes, type 0x08
	// same secret: true
	// kem.SharedSecret(REDACTED)
}
