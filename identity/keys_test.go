package identity

import (
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/blindpost/blindpost/internal/testvec"
	"strings"
	"testing"

	"filippo.io/edwards25519"
)

func TestX25519KnownAnswers(t *testing.T) {
	for _, name := range []string{"x25519-rfc7748.txt", "x25519-libsignal.txt"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			v := testvec.Read(t, "testdata/"+name)
			if v.Expect != "shared" {
				t.Fatalf("unknown expect %q", v.Expect)
			}
			alice, err := NewKeyPair(v.Hex32(t, "alice_private"))
			if err != nil {
				t.Fatal(err)
			}
			bob, err := NewKeyPair(v.Hex32(t, "bob_private"))
			if err != nil {
				t.Fatal(err)
			}
			if alice.Public != PublicKey(v.Hex32(t, "alice_public")) {
				t.Errorf("alice public = %x", alice.Public[:])
			}
			if bob.Public != PublicKey(v.Hex32(t, "bob_public")) {
				t.Errorf("bob public = %x", bob.Public[:])
			}
			want := v.Hex32(t, "shared")
			for _, got := range [][32]byte{mustDH(t, alice, bob.Public), mustDH(t, bob, alice.Public)} {
				if got != want {
					t.Errorf("shared = %x, want %x", got, want)
				}
			}
		})
	}
}

func mustDH(t *testing.T, k KeyPair, pub PublicKey) [32]byte {
	t.Helper()
	s, err := k.DH(pub)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestLowOrderPointsRefused(t *testing.T) {
	v := testvec.Read(t, "testdata/x25519-low-order.txt")
	if v.Expect != "refused" {
		t.Fatalf("unknown expect %q", v.Expect)
	}
	kp, err := GenerateKeyPair(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range v.All("u") {
		b, err := hex.DecodeString(u)
		if err != nil {
			t.Fatal(err)
		}
		pub := PublicKey(b)
		if s, err := kp.DH(pub); err == nil {
			t.Errorf("DH with %s succeeded: %x", u, s)
		}
	}
}

func TestHighBitRefused(t *testing.T) {
	a, _ := GenerateKeyPair(rand.Reader)
	b, _ := GenerateKeyPair(rand.Reader)
	pub := b.Public
	pub[31] |= 0x80
	if _, err := a.DH(pub); !errors.Is(err, ErrNonCanonical) {
		t.Fatalf("DH with high bit set: err = %v, want ErrNonCanonical", err)
	}
	if pub.CheckCanonical() == nil {
		t.Fatal("CheckCanonical accepted a key with the high bit set")
	}
}

func TestParsePublicKey(t *testing.T) {
	kp, _ := GenerateKeyPair(rand.Reader)
	good := kp.Public.Bytes()
	got, err := ParsePublicKey(good)
	if err != nil || got != kp.Public {
		t.Fatalf("round trip: %v", err)
	}
	bad := map[string][]byte{
		"empty":      nil,
		"type only":  {0x05},
		"short":      good[:32],
		"long":       append(bytes.Clone(good), 0),
		"raw u":      kp.Public[:],
		"wrong type": append([]byte{0x08}, kp.Public[:]...),
		"type 0x0a":  append([]byte{0x0a}, kp.Public[:]...),
	}
	for name, b := range bad {
		if _, err := ParsePublicKey(b); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestTorsion(t *testing.T) {
	for range 8 {
		kp, _ := GenerateKeyPair(rand.Reader)
		if err := kp.Public.CheckCanonical(); err != nil {
			t.Fatalf("honest key refused: %v", err)
		}
	}
	// Add each small-order point to an honest key: the result names another
	// point with a torsion component, which must be refused.
	lowOrder, err := hex.DecodeString("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800")
	if err != nil {
		t.Fatal(err)
	}
	torsion, err := montgomeryToEdwards(PublicKey(lowOrder), 0)
	if err != nil {
		t.Fatal(err)
	}
	kp, _ := GenerateKeyPair(rand.Reader)
	p, err := montgomeryToEdwards(kp.Public, 0)
	if err != nil {
		t.Fatal(err)
	}
	tw := new(edwards25519.Point).Set(p)
	for i := 1; i < 8; i++ {
		tw.Add(tw, torsion)
		var u PublicKey
		copy(u[:], tw.BytesMontgomery())
		if u.IsTorsionFree() {
			t.Errorf("key + %d*T8 accepted as torsion-free", i)
		}
		if !errors.Is(u.CheckCanonical(), ErrNotTorsionFree) {
			t.Errorf("key + %d*T8: CheckCanonical = %v", i, u.CheckCanonical())
		}
	}
}

func TestNonCanonicalU(t *testing.T) {
	// u = p + 1 encodes the same point as u = 1 after reduction.
	u, _ := hex.DecodeString("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")
	if PublicKey(u).IsCanonical() {
		t.Fatal("u = p + 1 reported canonical")
	}
	u, _ = hex.DecodeString("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")
	if !PublicKey(u).IsCanonical() {
		t.Fatal("u = p - 1 reported non-canonical")
	}
}

func TestSecretsRedacted(t *testing.T) {
	ik, _ := GenerateIdentityKeyPair(rand.Reader)
	secret := hex.EncodeToString(ik.Private[:])
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%q", "%d"} {
		for _, v := range []any{ik, ik.KeyPair, ik.Private, &ik, []PrivateKey{ik.Private}} {
			out := fmt.Sprintf(verb, v)
			decimal := strings.Trim(fmt.Sprint([]byte(ik.Private[:8])), "[]")
			if strings.Contains(strings.ToLower(out), secret) || strings.Contains(out, decimal) {
				t.Errorf("%s of %T leaks the private key: %s", verb, v, out)
			}
		}
	}
}

func TestRegistrationID(t *testing.T) {
	for range 1000 {
		id, err := GenerateRegistrationID(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if id < 1 || id > MaxRegistrationID {
			t.Fatalf("registration id %d out of range", id)
		}
	}
}

func TestGeneratePreKeysSkipsZero(t *testing.T) {
	keys, err := GeneratePreKeys(rand.Reader, maxPreKeyID, 3)
	if err != nil {
		t.Fatal(err)
	}
	want := []uint32{maxPreKeyID, 1, 2}
	for i, k := range keys {
		if k.ID != want[i] {
			t.Errorf("key %d id = %d, want %d", i, k.ID, want[i])
		}
	}
}

// TestX25519MatchesCryptoECDH checks the ladder and the fixed-base public
// key against crypto/ecdh on random keys and random peer points.
func TestX25519MatchesCryptoECDH(t *testing.T) {
	for range 200 {
		var seed [32]byte
		rand.Read(seed[:])
		kp, err := NewKeyPair(seed)
		if err != nil {
			t.Fatal(err)
		}
		ek, err := ecdh.X25519().NewPrivateKey(kp.Private[:])
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(ek.PublicKey().Bytes(), kp.Public[:]) {
			t.Fatal("public key differs from crypto/ecdh")
		}
		var u PublicKey
		rand.Read(u[:])
		u[31] &= 0x7f
		ours, ourErr := kp.DH(u)
		pub, err := ecdh.X25519().NewPublicKey(u[:])
		if err != nil {
			t.Fatal(err)
		}
		theirs, theirErr := ek.ECDH(pub)
		if (ourErr == nil) != (theirErr == nil) {
			if ourErr == ErrNonCanonical {
				continue // u >= p: refused here, reduced there
			}
			t.Fatalf("errors differ: %v / %v", ourErr, theirErr)
		}
		if ourErr == nil && !bytes.Equal(ours[:], theirs) {
			t.Fatalf("X25519 differs from crypto/ecdh for u=%x", u)
		}
	}
}

// TestX25519IteratedRFC7748 runs RFC 7748 §5.2's iterated test (1,000
// iterations): k and u start as the base point, then k, u = X25519(k, u), k.
func TestX25519IteratedRFC7748(t *testing.T) {
	k := PrivateKey{9}
	u := PublicKey{9}
	for range 1000 {
		out, _ := x25519(&k, &u)
		u = PublicKey(k)
		k = PrivateKey(out)
	}
	if got := hex.EncodeToString(k[:]); got != "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51" {
		t.Fatalf("after 1000 iterations: %s", got)
	}
}

// TestTorsionLadderMatchesEdwards checks the ladder-based IsTorsionFree
// against an independent computation on the Edwards curve ([q-1]P = -P),
// for honest keys, honest keys plus each small-order point, and random
// u-coordinates (most of which name twist points, refused by both).
func TestTorsionLadderMatchesEdwards(t *testing.T) {
	reference := func(u PublicKey) bool {
		p, err := montgomeryToEdwards(u, 0)
		if err != nil {
			return false
		}
		qm1, err := new(edwards25519.Scalar).SetCanonicalBytes(append([]byte{0xec}, groupOrder[1:]...))
		if err != nil {
			t.Fatal(err)
		}
		r := new(edwards25519.Point).VarTimeDoubleScalarBaseMult(qm1, p, edwards25519.NewScalar())
		return r.Equal(new(edwards25519.Point).Negate(p)) == 1
	}
	lowOrder, _ := hex.DecodeString("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800")
	t8, err := montgomeryToEdwards(PublicKey(lowOrder), 0)
	if err != nil {
		t.Fatal(err)
	}
	var free, notFree int
	check := func(u PublicKey) {
		got, want := u.IsTorsionFree(), reference(u)
		if got != want {
			t.Fatalf("u = %x: IsTorsionFree %v, Edwards reference %v", u[:], got, want)
		}
		if got {
			free++
		} else {
			notFree++
		}
	}
	for range 64 {
		kp, _ := GenerateKeyPair(rand.Reader)
		check(kp.Public)
		p, err := montgomeryToEdwards(kp.Public, 0)
		if err != nil {
			t.Fatal(err)
		}
		for range 7 {
			p.Add(p, t8)
			var u PublicKey
			copy(u[:], p.BytesMontgomery())
			check(u)
		}
		var u PublicKey
		rand.Read(u[:])
		u[31] &= 0x7f
		check(u)
	}
	for _, s := range []string{
		"0000000000000000000000000000000000000000000000000000000000000000",
		"0100000000000000000000000000000000000000000000000000000000000000",
		"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
		"e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
		"5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
	} {
		b, _ := hex.DecodeString(s)
		if PublicKey(b).IsTorsionFree() {
			t.Errorf("small-order u = %s accepted", s)
		}
	}
	if free < 64 || notFree < 7*64 {
		t.Fatalf("free %d, not free %d", free, notFree)
	}
}
