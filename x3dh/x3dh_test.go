package x3dh

import (
	"crypto/rand"
	"errors"
	"testing"

	"github.com/blindpost/blindpost/identity"
)

type responder struct {
	keys   ResponderKeys
	bundle Bundle
}

func newResponder(t *testing.T, oneTime bool) responder {
	t.Helper()
	ik, _ := identity.GenerateIdentityKeyPair(rand.Reader)
	spk, err := identity.GenerateSignedPreKey(rand.Reader, ik, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	r := responder{
		keys:   ResponderKeys{Identity: ik, SignedPreKey: spk.KeyPair},
		bundle: Bundle{IdentityKey: ik.Public, SignedPreKeyID: 1, SignedPreKey: spk.KeyPair.Public, SignedPreKeySignature: spk.Signature},
	}
	if oneTime {
		opk, _ := identity.GenerateKeyPair(rand.Reader)
		r.keys.PreKey = &opk
		r.bundle.PreKey = &OneTimePreKey{ID: 7, Key: opk.Public}
	}
	return r
}

func TestBothSidesAgree(t *testing.T) {
	for _, oneTime := range []bool{false, true} {
		bob := newResponder(t, oneTime)
		ik, _ := identity.GenerateIdentityKeyPair(rand.Reader)
		ek, _ := identity.GenerateKeyPair(rand.Reader)
		var ta, tb Trace
		sa, err := InitiateTraced(ik, ek, &bob.bundle, &ta)
		if err != nil {
			t.Fatal(err)
		}
		sb, err := RespondTraced(bob.keys, ik.Public, ek.Public, &tb)
		if err != nil {
			t.Fatal(err)
		}
		if sa != sb || ta.Secrets != sa || tb.Secrets != sb {
			t.Fatal("the two sides derived different secrets")
		}
		want := 3
		if oneTime {
			want = 4
		}
		if len(ta.DH) != want || len(tb.DH) != want {
			t.Fatalf("%d and %d DH values, want %d", len(ta.DH), len(tb.DH), want)
		}
		for i := range ta.DH {
			if ta.DH[i] != tb.DH[i] {
				t.Fatalf("DH%d differs", i+1)
			}
		}
		// Untraced calls give the same result.
		if s, _ := Initiate(ik, ek, &bob.bundle); s != sa {
			t.Fatal("Initiate and InitiateTraced differ")
		}
	}
}

func TestBadSignatureAlwaysRefused(t *testing.T) {
	bob := newResponder(t, true)
	ik, _ := identity.GenerateIdentityKeyPair(rand.Reader)
	ek, _ := identity.GenerateKeyPair(rand.Reader)
	for i := range identity.SignatureSize * 8 {
		b := bob.bundle
		b.SignedPreKeySignature[i/8] ^= 1 << (i % 8)
		if _, err := Initiate(ik, ek, &b); !errors.Is(err, ErrBadSignature) {
			t.Fatalf("signature bit %d flipped: %v", i, err)
		}
	}
	b := bob.bundle
	b.SignedPreKey[0] ^= 1
	if _, err := Initiate(ik, ek, &b); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("another signed prekey under the signature: %v", err)
	}
	other, _ := identity.GenerateIdentityKeyPair(rand.Reader)
	b = bob.bundle
	b.IdentityKey = other.Public
	if _, err := Initiate(ik, ek, &b); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("signature by another identity: %v", err)
	}
}

func TestBadPointsRefused(t *testing.T) {
	bob := newResponder(t, true)
	ik, _ := identity.GenerateIdentityKeyPair(rand.Reader)
	ek, _ := identity.GenerateKeyPair(rand.Reader)
	// A low-order one-time prekey (u = 0).
	b := bob.bundle
	b.PreKey = &OneTimePreKey{ID: 1}
	if _, err := Initiate(ik, ek, &b); !errors.Is(err, identity.ErrNonCanonical) && !errors.Is(err, identity.ErrLowOrder) {
		t.Fatalf("low-order one-time prekey: %v", err)
	}
	// Base keys: low order, high bit set, u >= p.
	high := ek.Public
	high[31] |= 0x80
	p1 := identity.PublicKey{0: 0xee, 31: 0x7f}
	for i := 1; i < 31; i++ {
		p1[i] = 0xff
	}
	for name, base := range map[string]identity.PublicKey{"zero": {}, "one": {0: 1}, "high bit": high, "p+1": p1} {
		if _, err := Respond(bob.keys, ik.Public, base); !errors.Is(err, ErrBadBaseKey) {
			t.Errorf("base key %s: %v, want ErrBadBaseKey", name, err)
		}
	}
	// A low-order identity key of the initiator.
	if _, err := Respond(bob.keys, identity.PublicKey{}, ek.Public); err == nil {
		t.Error("low-order initiator identity accepted")
	}
}
