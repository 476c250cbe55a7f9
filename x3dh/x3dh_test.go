package x3dh

import (
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/blindpost/blindpost/identity"
	"github.com/blindpost/blindpost/kem"
)

type responder struct {
	keys   ResponderKeys
	bundle Bundle
}

func newResponder(t *testing.T, oneTime, kyber bool) responder {
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
	if kyber {
		kpk, err := kem.GeneratePreKey(rand.Reader, ik, 9, 0)
		if err != nil {
			t.Fatal(err)
		}
		r.keys.KyberPreKey = &kpk.KeyPair
		r.bundle.KyberPreKey = &KyberPreKey{ID: kpk.ID, Key: kpk.KeyPair.Public, Signature: kpk.Signature}
	}
	return r
}

// shapes are the four bundles: with or without a one-time prekey, X3DH or
// PQXDH.
var shapes = []struct{ oneTime, kyber bool }{{false, false}, {true, false}, {false, true}, {true, true}}

func shapeName(oneTime, kyber bool) string {
	return fmt.Sprintf("one-time=%t/kyber=%t", oneTime, kyber)
}

func TestBothSidesAgree(t *testing.T) {
	for _, sh := range shapes {
		t.Run(shapeName(sh.oneTime, sh.kyber), func(t *testing.T) {
			t.Parallel()
			bob := newResponder(t, sh.oneTime, sh.kyber)
			ik, _ := identity.GenerateIdentityKeyPair(rand.Reader)
			ek, _ := identity.GenerateKeyPair(rand.Reader)
			var ta, tb Trace
			sa, err := InitiateTraced(ik, ek, &bob.bundle, rand.Reader, &ta)
			if err != nil {
				t.Fatal(err)
			}
			var ct *kem.Ciphertext
			if sh.kyber {
				ct = &sa.KyberCiphertext
			}
			sb, err := RespondTraced(bob.keys, ik.Public, ek.Public, ct, &tb)
			if err != nil {
				t.Fatal(err)
			}
			if sa != sb || ta.Secrets != sa || tb.Secrets != sb {
				t.Fatal("the two sides derived different secrets")
			}
			wantDH := 3
			if sh.oneTime {
				wantDH = 4
			}
			if len(ta.DH) != wantDH || len(tb.DH) != wantDH {
				t.Fatalf("%d and %d DH values, want %d", len(ta.DH), len(tb.DH), wantDH)
			}
			for i := range ta.DH {
				if ta.DH[i] != tb.DH[i] {
					t.Fatalf("DH%d differs", i+1)
				}
			}
			if sh.kyber {
				if sa.Version != SessionVersionPQXDH || bob.bundle.Version() != SessionVersionPQXDH {
					t.Fatalf("version %d, bundle version %d", sa.Version, bob.bundle.Version())
				}
				if ta.KEM == nil || tb.KEM == nil || *ta.KEM != *tb.KEM {
					t.Fatal("KEM secrets missing or different in the traces")
				}
				if sa.PQRKey == ([32]byte{}) || sa.KyberCiphertext == (kem.Ciphertext{}) {
					t.Fatal("PQXDH without a PQR key or ciphertext")
				}
			} else {
				if sa.Version != SessionVersion || bob.bundle.Version() != SessionVersion {
					t.Fatalf("version %d, bundle version %d", sa.Version, bob.bundle.Version())
				}
				if ta.KEM != nil || sa.PQRKey != ([32]byte{}) || sa.KyberCiphertext != (kem.Ciphertext{}) {
					t.Fatal("X3DH with PQXDH outputs")
				}
			}
			// Untraced calls give the same result: Bob's side is
			// deterministic, Alice's is for the same randomness.
			if s, err := Respond(bob.keys, ik.Public, ek.Public, ct); err != nil || s != sb {
				t.Fatalf("Respond and RespondTraced differ: %v", err)
			}
			if !sh.kyber {
				if s, _ := Initiate(ik, ek, &bob.bundle, nil); s != sa {
					t.Fatal("Initiate and InitiateTraced differ")
				}
			}
		})
	}
}

// TestPQXDHDerivation recomputes a PQXDH agreement from its definition: the
// KEM secret is the last input, the info string is PQXDH's, and the 96
// bytes split as root key, chain key, PQR key. The first 64 bytes are not
// X3DH's (the info differs), so a PQXDH session can never be mistaken for
// an X3DH one.
func TestPQXDHDerivation(t *testing.T) {
	bob := newResponder(t, true, true)
	ik, _ := identity.GenerateIdentityKeyPair(rand.Reader)
	ek, _ := identity.GenerateKeyPair(rand.Reader)
	var tr Trace
	s, err := InitiateTraced(ik, ek, &bob.bundle, rand.Reader, &tr)
	if err != nil {
		t.Fatal(err)
	}
	km := append([]byte{}, discontinuity[:]...)
	for _, dh := range tr.DH {
		km = append(km, dh[:]...)
	}
	km = append(km, tr.KEM[:]...)
	x3 := KDF(append([]byte{}, km...))
	want := KDFPQXDH(km)
	if s.RootKey != want.RootKey || s.ChainKey != want.ChainKey || s.PQRKey != want.PQRKey {
		t.Fatal("secrets are not KDFPQXDH of F || DH1..DH4 || SS")
	}
	if x3.RootKey == s.RootKey || x3.ChainKey == s.ChainKey {
		t.Fatal("PQXDH keys equal the X3DH KDF of the same input")
	}
	if ss := bob.keys.KyberPreKey.Decapsulate(s.KyberCiphertext); ss != *tr.KEM {
		t.Fatal("the ciphertext does not carry the traced KEM secret")
	}
}

func TestBadSignatureAlwaysRefused(t *testing.T) {
	bob := newResponder(t, true, true)
	ik, _ := identity.GenerateIdentityKeyPair(rand.Reader)
	ek, _ := identity.GenerateKeyPair(rand.Reader)
	for i := range identity.SignatureSize * 8 {
		b := bob.bundle
		b.SignedPreKeySignature[i/8] ^= 1 << (i % 8)
		if _, err := Initiate(ik, ek, &b, rand.Reader); !errors.Is(err, ErrBadSignature) {
			t.Fatalf("signature bit %d flipped: %v", i, err)
		}
		kb := *bob.bundle.KyberPreKey
		kb.Signature[i/8] ^= 1 << (i % 8)
		b = bob.bundle
		b.KyberPreKey = &kb
		if _, err := Initiate(ik, ek, &b, rand.Reader); !errors.Is(err, ErrBadSignature) {
			t.Fatalf("kyber signature bit %d flipped: %v", i, err)
		}
	}
	b := bob.bundle
	b.SignedPreKey[0] ^= 1
	if _, err := Initiate(ik, ek, &b, rand.Reader); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("another signed prekey under the signature: %v", err)
	}
	kb := *bob.bundle.KyberPreKey
	kb.Key[100] ^= 1
	b = bob.bundle
	b.KyberPreKey = &kb
	if _, err := Initiate(ik, ek, &b, rand.Reader); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("another kyber prekey under the signature: %v", err)
	}
	// The signed prekey's signature does not cover the Kyber prekey.
	kb = *bob.bundle.KyberPreKey
	kb.Signature = bob.bundle.SignedPreKeySignature
	b.KyberPreKey = &kb
	if _, err := Initiate(ik, ek, &b, rand.Reader); !errors.Is(err, ErrBadKyberSignature) || !errors.Is(err, ErrBadSignature) {
		t.Fatalf("signed prekey signature on the kyber prekey: %v", err)
	}
	other, _ := identity.GenerateIdentityKeyPair(rand.Reader)
	b = bob.bundle
	b.IdentityKey = other.Public
	if _, err := Initiate(ik, ek, &b, rand.Reader); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("signature by another identity: %v", err)
	}
}

// TestTamperedKyberCiphertext: a changed ciphertext decapsulates (implicit
// rejection) to another secret, so Bob derives other keys and the first
// message's MAC fails in the session layer.
func TestTamperedKyberCiphertext(t *testing.T) {
	bob := newResponder(t, false, true)
	ik, _ := identity.GenerateIdentityKeyPair(rand.Reader)
	ek, _ := identity.GenerateKeyPair(rand.Reader)
	sa, err := Initiate(ik, ek, &bob.bundle, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for _, bit := range []int{0, 5000, 8*kem.CiphertextSize - 1} {
		ct := sa.KyberCiphertext
		ct[bit/8] ^= 1 << (bit % 8)
		sb, err := Respond(bob.keys, ik.Public, ek.Public, &ct)
		if err != nil {
			t.Fatal(err)
		}
		if sb.RootKey == sa.RootKey || sb.ChainKey == sa.ChainKey || sb.PQRKey == sa.PQRKey {
			t.Fatalf("bit %d flipped: a key survived", bit)
		}
	}
}

func TestKyberMismatchRefused(t *testing.T) {
	bob := newResponder(t, false, true)
	ik, _ := identity.GenerateIdentityKeyPair(rand.Reader)
	ek, _ := identity.GenerateKeyPair(rand.Reader)
	if _, err := Respond(bob.keys, ik.Public, ek.Public, nil); !errors.Is(err, ErrKyberMismatch) {
		t.Errorf("kyber key without ciphertext: %v", err)
	}
	keys := bob.keys
	keys.KyberPreKey = nil
	if _, err := Respond(keys, ik.Public, ek.Public, &kem.Ciphertext{}); !errors.Is(err, ErrKyberMismatch) {
		t.Errorf("ciphertext without kyber key: %v", err)
	}
	if _, err := Initiate(ik, ek, &bob.bundle, nil); err == nil {
		t.Error("PQXDH without randomness")
	}
}

func TestBadPointsRefused(t *testing.T) {
	bob := newResponder(t, true, false)
	ik, _ := identity.GenerateIdentityKeyPair(rand.Reader)
	ek, _ := identity.GenerateKeyPair(rand.Reader)
	// A low-order one-time prekey (u = 0).
	b := bob.bundle
	b.PreKey = &OneTimePreKey{ID: 1}
	if _, err := Initiate(ik, ek, &b, nil); !errors.Is(err, identity.ErrNonCanonical) && !errors.Is(err, identity.ErrLowOrder) {
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
		if _, err := Respond(bob.keys, ik.Public, base, nil); !errors.Is(err, ErrBadBaseKey) {
			t.Errorf("base key %s: %v, want ErrBadBaseKey", name, err)
		}
	}
	// A low-order identity key of the initiator.
	if _, err := Respond(bob.keys, identity.PublicKey{}, ek.Public, nil); err == nil {
		t.Error("low-order initiator identity accepted")
	}
}

func TestSecretsRedacted(t *testing.T) {
	bob := newResponder(t, false, true)
	ik, _ := identity.GenerateIdentityKeyPair(rand.Reader)
	ek, _ := identity.GenerateKeyPair(rand.Reader)
	s, err := Initiate(ik, ek, &bob.bundle, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%x", "%s"} {
		out := fmt.Sprintf(verb, s)
		for _, k := range [][32]byte{s.RootKey, s.ChainKey, s.PQRKey} {
			if strings.Contains(out, fmt.Sprintf("%x", k[:8])) || strings.Contains(out, fmt.Sprint(k[0], " ", k[1], " ", k[2])) {
				t.Errorf("%s shows a key: %s", verb, out)
			}
		}
	}
	s.Clear()
	if s.RootKey != ([32]byte{}) || s.ChainKey != ([32]byte{}) || s.PQRKey != ([32]byte{}) {
		t.Error("Clear left a key")
	}
}
