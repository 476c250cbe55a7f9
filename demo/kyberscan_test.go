package demo

import (
	"crypto/rand"
	"slices"
	"testing"

	"github.com/blindpost/blindpost/kem"
)

// TestFindKyberKeys: the provider's search finds a packed private key
// wherever it lies in what it holds, and nothing where only public keys
// (or a private key's public part behind other bytes) are.
func TestFindKyberKeys(t *testing.T) {
	keys := make([]kem.KeyPair, 3)
	for i := range keys {
		kp, err := kem.GenerateKeyPair(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		keys[i] = kp
	}
	noise := func(n int) []byte {
		b := make([]byte, n)
		rand.Read(b)
		return b
	}
	// keys[0]: its private key, 7 bytes into a blob. keys[1]: only its
	// public key. keys[2]: its public key behind 1,536 bytes of noise, in
	// the private key's place.
	held := [][]byte{
		slices.Concat(noise(7), keys[0].Private[:], noise(100)),
		slices.Concat(noise(5000), keys[1].Public[:], noise(3000)),
		slices.Concat(noise(kyberPublicOffset), keys[2].Public[:], noise(64)),
	}
	pubs := []kem.PublicKey{keys[0].Public, keys[1].Public, keys[2].Public}
	found, err := findKyberKeys(pubs, held)
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 1 || found[0] != keys[0] {
		t.Fatalf("found %d private keys, want exactly keys[0]'s", len(found))
	}
	// Found once, however often it occurs.
	held = append(held, keys[0].Private[:])
	if found, _ := findKyberKeys(pubs, held); len(found) != 1 {
		t.Fatalf("a key held twice found %d times", len(found))
	}
	if found, _ := findKyberKeys(pubs[1:], held); len(found) != 0 {
		t.Fatalf("found %d private keys of public keys held alone", len(found))
	}
}
