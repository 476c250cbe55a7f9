package fingerprint_test

import (
	"encoding/hex"
	"fmt"

	"github.com/blindpost/blindpost/fingerprint"
	"github.com/blindpost/blindpost/identity"
)

func mustKey(s string) identity.PublicKey {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	k, err := identity.ParsePublicKey(b)
	if err != nil {
		panic(err)
	}
	return k
}

// Alice and Bob each compute the safety number from their own side; they
// read the same 60 digits, and each accepts the QR code the other shows.
func Example() {
	aliceKey := mustKey("0506863bc66d02b40d27b8d49ca7c09e9239236f9d7d25d6fcca5ce13c7064d868")
	bobKey := mustKey("05f781b6fb32fed9ba1cf2de978d4d5da28dc34046ae814402b5c0dbd96fda907b")
	aliceID, bobID := []byte("+14152222222"), []byte("+14153333333")

	alice, err := fingerprint.NewStandard(aliceID, aliceKey, bobID, bobKey)
	if err != nil {
		panic(err)
	}
	bob, err := fingerprint.NewStandard(bobID, bobKey, aliceID, aliceKey)
	if err != nil {
		panic(err)
	}

	fmt.Println(fingerprint.Groups(alice.Displayable()))
	fmt.Println(alice.Displayable() == bob.Displayable())

	// Alice scans the code on Bob's screen.
	match, err := fingerprint.CompareScannable(alice, bob.Scannable())
	if err != nil {
		panic(err)
	}
	fmt.Println(match)
	// Output:
	// 30035 44776 92869 39689 28698 76765 45825 75691 62576 84344 09180 79131
	// true
	// true
}
