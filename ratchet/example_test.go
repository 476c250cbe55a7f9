package ratchet_test

import (
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/blindpost/blindpost/identity"
	"github.com/blindpost/blindpost/ratchet"
)

// Example runs the Double Ratchet alone: the key agreement is replaced by a
// shared root and chain key, and Bob's first ratchet key by a fresh pair.
func Example() {
	aliceID, _ := identity.GenerateKeyPair(rand.Reader)
	bobID, _ := identity.GenerateKeyPair(rand.Reader)
	bobRatchet, _ := identity.GenerateKeyPair(rand.Reader)
	aliceRatchet, _ := identity.GenerateKeyPair(rand.Reader)
	var root ratchet.RootKey
	var chain [ratchet.KeySize]byte
	rand.Read(root[:])
	rand.Read(chain[:])

	alice, _ := ratchet.NewInitiator(3, aliceID.Public, bobID.Public, root, chain, bobRatchet.Public, aliceRatchet)
	bob := ratchet.NewResponder(3, bobID.Public, aliceID.Public, root, chain, bobRatchet)

	alice, m, _ := alice.Encrypt([]byte("hello Bob"), ratchet.Header{}, rand.Reader)
	bob, pt, _ := bob.Decrypt(m, rand.Reader)
	fmt.Printf("Bob reads %q (message %d)\n", pt, m.Counter)

	bob, m, _ = bob.Encrypt([]byte("hello Alice"), ratchet.Header{}, rand.Reader)
	alice, pt, _ = alice.Decrypt(m, rand.Reader)
	fmt.Printf("Alice reads %q on Bob's new ratchet key\n", pt)

	// A replay is refused: its key is used up.
	_, _, err := alice.Decrypt(m, rand.Reader)
	fmt.Println(errors.Is(err, ratchet.ErrDuplicate))
	// Output:
	// Bob reads "hello Bob" (message 0)
	// Alice reads "hello Alice" on Bob's new ratchet key
	// true
}
