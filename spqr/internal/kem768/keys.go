package kem768

import (
	"crypto/mlkem"
	"fmt"

	"github.com/cloudflare/circl/pke/kyber/kyber768"
)

// The sizes above are those of crypto/mlkem and CIRCL: a mismatch does not
// compile.
var (
	_ = [1]struct{}{}[EncapsulationKeySize-mlkem.EncapsulationKeySize768]
	_ = [1]struct{}{}[CiphertextSize-mlkem.CiphertextSize768]
	_ = [1]struct{}{}[DecapsulationKeySize-mlkem.SeedSize]
	_ = [1]struct{}{}[SharedSecretSize-mlkem.SharedKeySize]
	_ = [1]struct{}{}[EncapsulationKeySize-kyber768.PublicKeySize]
	_ = [1]struct{}{}[CiphertextSize-kyber768.CiphertextSize]
	_ = [1]struct{}{}[EncapsStateSize-kyber768.PlaintextSize]
	_ = [1]struct{}{}[32-kyber768.EncryptionSeedSize]
)

// Header is the first part of an encapsulation key: ρ || SHA3-256(ek).
type Header [HeaderSize]byte

// KeyVector is the second part of an encapsulation key: ByteEncode_12(t̂).
type KeyVector [KeyVectorSize]byte

// DecapsulationKey is the ML-KEM-768 key generation seed d || z, from
// which crypto/mlkem expands the decapsulation key. It redacts itself when
// formatted.
type DecapsulationKey [DecapsulationKeySize]byte

// Ciphertext1 is c1, the compressed u of K-PKE.Encrypt.
type Ciphertext1 [Ciphertext1Size]byte

// Ciphertext2 is c2, the compressed v of K-PKE.Encrypt.
type Ciphertext2 [Ciphertext2Size]byte

// EncapsState is what Encaps1 leaves for Encaps2: the message m, from
// which the shared secret derives. It redacts itself when formatted.
type EncapsState [EncapsStateSize]byte

// SharedSecret is the ML-KEM shared secret K. It redacts itself when
// formatted.
type SharedSecret [SharedSecretSize]byte

// String redacts the key.
func (DecapsulationKey) String() string { return "kem768.DecapsulationKey(REDACTED)" }

// GoString redacts the key.
func (k DecapsulationKey) GoString() string { return k.String() }

// Format redacts the key for every verb.
func (k DecapsulationKey) Format(f fmt.State, _ rune) { fmt.Fprint(f, k.String()) }

// String redacts the state.
func (EncapsState) String() string { return "kem768.EncapsState(REDACTED)" }

// GoString redacts the state.
func (s EncapsState) GoString() string { return s.String() }

// Format redacts the state for every verb.
func (s EncapsState) Format(f fmt.State, _ rune) { fmt.Fprint(f, s.String()) }

// String redacts the secret.
func (SharedSecret) String() string { return "kem768.SharedSecret(REDACTED)" }

// GoString redacts the secret.
func (s SharedSecret) GoString() string { return s.String() }

// Format redacts the secret for every verb.
func (s SharedSecret) Format(f fmt.State, _ rune) { fmt.Fprint(f, s.String()) }

// exactly checks that b has the size of the named input.
func exactly(b []byte, size int, name string) error {
	if len(b) != size {
		return fmt.Errorf("kem768: %s of %d bytes, want %d", name, len(b), size)
	}
	return nil
}
