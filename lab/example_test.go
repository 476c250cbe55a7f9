package lab_test

import (
	"fmt"
	"io"

	"github.com/blindpost/blindpost/identity"
	"github.com/blindpost/blindpost/lab"
)

// A Stream is an io.Reader, so it can stand in for crypto/rand in any
// Generate* call: the same seed and label give the same key, everywhere.
func ExampleNewStream() {
	a, _ := identity.GenerateKeyPair(lab.NewStream(1, "alice"))
	b, _ := identity.GenerateKeyPair(lab.NewStream(1, "alice"))
	fmt.Println(a.Public == b.Public)

	// Alice's identity private key in `blindpost lab x3dh --seed 1` is
	// these bytes, clamped (90f3e791...).
	var first [8]byte
	io.ReadFull(lab.NewStream(1, "alice"), first[:])
	fmt.Printf("%x\n", first)
	// Output:
	// true
	// 97f3e7912857202b
}

// The attacks, as `blindpost lab attack NAME` lists them.
func ExampleAttacks() {
	for _, l := range lab.Attacks() {
		fmt.Println(l.Name)
	}
	// Output:
	// forward-secrecy
	// post-compromise
	// out-of-order
	// mitm
	// prekey-exhaustion
	// provider
}
