package kem

import (
	"crypto/rand"
	"errors"
	mrand "math/rand/v2"
	"testing"

	"github.com/blindpost/blindpost/identity"
	"github.com/blindpost/blindpost/internal/testvec"
)

// TestPreKeySignedByLibsignal: a Kyber prekey signature made by
// libsignal verifies, and fails with any bit of the signature or key
// flipped, or over the key without its type byte.
func TestPreKeySignedByLibsignal(t *testing.T) {
	v := testvec.Read(t, "testdata/kyber-prekey-libsignal-signature.txt")
	if v.Expect != "valid" {
		t.Fatalf("unknown expect %q", v.Expect)
	}
	ik, err := identity.ParsePublicKey(v.Hex(t, "identity_public"))
	if err != nil {
		t.Fatal(err)
	}
	pk, err := ParsePublicKey(v.Hex(t, "kyber_prekey"))
	if err != nil {
		t.Fatal(err)
	}
	sig := v.Hex(t, "signature")
	if err := VerifyPreKey(ik, pk, sig); err != nil {
		t.Fatal(err)
	}
	for _, bit := range []int{0, 255, 256, 511} {
		bad := append([]byte(nil), sig...)
		bad[bit/8] ^= 1 << (bit % 8)
		if VerifyPreKey(ik, pk, bad) == nil {
			t.Errorf("signature bit %d flipped: verified", bit)
		}
	}
	other := pk
	other[PublicKeySize-1] ^= 1
	if VerifyPreKey(ik, other, sig) == nil {
		t.Error("another key verified")
	}
	if identity.Verify(ik, pk[:], sig) {
		t.Error("the signature verifies without the type byte")
	}
}

func TestGeneratePreKey(t *testing.T) {
	ik, _ := identity.GenerateIdentityKeyPair(rand.Reader)
	k, err := GeneratePreKey(rand.Reader, ik, 42, 1234)
	if err != nil {
		t.Fatal(err)
	}
	if k.ID != 42 || k.Created != 1234 {
		t.Fatalf("id %d created %d", k.ID, k.Created)
	}
	if err := VerifyPreKey(ik.Public, k.KeyPair.Public, k.Signature[:]); err != nil {
		t.Fatal(err)
	}
	if !identity.Verify(ik.Public, k.KeyPair.Public.Bytes(), k.Signature[:]) {
		t.Fatal("signature is not over the serialized key")
	}
	other, _ := identity.GenerateIdentityKeyPair(rand.Reader)
	if VerifyPreKey(other.Public, k.KeyPair.Public, k.Signature[:]) == nil {
		t.Fatal("verified under another identity")
	}
	if VerifyPreKey(ik.Public, k.KeyPair.Public, k.Signature[:63]) == nil {
		t.Fatal("short signature verified")
	}
	ct, ss, err := k.KeyPair.Public.Encapsulate(rand.Reader)
	if err != nil || k.KeyPair.Decapsulate(ct) != ss {
		t.Fatalf("generated key does not decapsulate: %v", err)
	}
}

// TestGeneratePreKeySeeded: the same randomness gives the same key
// and signature, so labs and vectors can seed it.
func TestGeneratePreKeySeeded(t *testing.T) {
	gen := func() PreKey {
		r := mrand.NewChaCha8([32]byte{9})
		ik, _ := identity.GenerateIdentityKeyPair(r)
		k, err := GeneratePreKey(r, ik, 1, 0)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	if gen() != gen() {
		t.Fatal("same seed, different prekeys")
	}
}

// TestECParserRefusesKEMKeys: a Kyber key (type 0x08) in an EC
// position is refused, whether it comes at its own length or truncated to
// an EC key's.
func TestECParserRefusesKEMKeys(t *testing.T) {
	kp, err := GenerateKeyPair(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	full := kp.Public.Bytes()
	if _, err := identity.ParsePublicKey(full); !errors.Is(err, identity.ErrBadKeyLength) {
		t.Errorf("serialized Kyber key: %v", err)
	}
	for _, typ := range []byte{KeyTypeKyber1024, keyTypeKyber768, keyTypeMLKEM1024} {
		short := append([]byte{typ}, full[1:identity.SerializedPublicKeySize]...)
		if _, err := identity.ParsePublicKey(short); !errors.Is(err, identity.ErrBadKeyType) {
			t.Errorf("33 bytes of type 0x%02x: %v", typ, err)
		}
	}
}
