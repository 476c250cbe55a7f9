package identity

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"github.com/blindpost/blindpost/internal/testvec"
	"testing"
)

func TestXEdDSALibsignalSignature(t *testing.T) {
	v := testvec.Read(t, "testdata/xeddsa-libsignal-signature.txt")
	if v.Expect != "valid" {
		t.Fatalf("unknown expect %q", v.Expect)
	}
	ik, err := NewKeyPair(v.Hex32(t, "private"))
	if err != nil {
		t.Fatal(err)
	}
	pub := PublicKey(v.Hex32(t, "public"))
	if ik.Public != pub {
		t.Fatalf("derived public %x, want %x", ik.Public[:], pub[:])
	}
	msg, sig := v.Hex(t, "message"), v.Hex(t, "signature")
	if !Verify(pub, msg, sig) {
		t.Fatal("libsignal's signature does not verify")
	}
	// Every one-bit change of the signature, and of the message, fails.
	for i := range len(sig) * 8 {
		s := bytes.Clone(sig)
		s[i/8] ^= 1 << (i % 8)
		if Verify(pub, msg, s) {
			t.Errorf("signature with bit %d flipped verifies", i)
		}
	}
	for i := range len(msg) * 8 {
		m := bytes.Clone(msg)
		m[i/8] ^= 1 << (i % 8)
		if Verify(pub, m, sig) {
			t.Errorf("message with bit %d flipped verifies", i)
		}
	}
}

// TestXEdDSAAsEd25519 checks signatures against an independent verifier:
// an XEdDSA signature is an Ed25519 signature under the Edwards form A of
// the Montgomery key, so crypto/ed25519 must accept it.
func TestXEdDSAAsEd25519(t *testing.T) {
	for i := range 64 {
		ik, err := GenerateIdentityKeyPair(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		msg := make([]byte, i*7)
		rand.Read(msg)
		sig, err := ik.Sign(rand.Reader, msg)
		if err != nil {
			t.Fatal(err)
		}
		if !Verify(ik.Public, msg, sig[:]) {
			t.Fatalf("own signature does not verify")
		}
		A, err := montgomeryToEdwards(ik.Public, 0)
		if err != nil {
			t.Fatal(err)
		}
		if !ed25519.Verify(A.Bytes(), msg, sig[:]) {
			t.Fatalf("crypto/ed25519 refuses the signature")
		}
		other, _ := GenerateIdentityKeyPair(rand.Reader)
		if Verify(other.Public, msg, sig[:]) {
			t.Fatal("signature verifies under another key")
		}
	}
}

func TestXEdDSADeterministicGivenZ(t *testing.T) {
	ik, _ := GenerateIdentityKeyPair(rand.Reader)
	z := bytes.Repeat([]byte{7}, 64)
	a, _ := ik.Sign(bytes.NewReader(z), []byte("m"))
	b, _ := ik.Sign(bytes.NewReader(z), []byte("m"))
	if a != b {
		t.Fatal("same Z gave different signatures")
	}
	c, _ := ik.Sign(rand.Reader, []byte("m"))
	if a == c {
		t.Fatal("different Z gave the same signature")
	}
}

// TestXEdDSALargeS checks libsignal's range rule: s may be any value below
// 2^253 (not only below q), and anything at or above 2^253 is refused.
func TestXEdDSALargeS(t *testing.T) {
	ik, _ := GenerateIdentityKeyPair(rand.Reader)
	msg := []byte("large s")
	sig, _ := ik.Sign(rand.Reader, msg)
	// s + q names the same scalar and stays below 2^253 whenever s < 2^253 - q.
	q := [32]byte{0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 31: 0x10}
	big := addLE(sig[32:], q[:])
	if big[31]&0xE0 == 0 {
		s := sig
		copy(s[32:], big)
		if !Verify(ik.Public, msg, s[:]) {
			t.Error("s + q below 2^253 refused")
		}
	}
	s := sig
	s[63] |= 0x20 // s >= 2^253
	if Verify(ik.Public, msg, s[:]) {
		t.Error("s >= 2^253 accepted")
	}
}

func addLE(a, b []byte) []byte {
	out := make([]byte, len(a))
	var carry uint16
	for i := range a {
		v := uint16(a[i]) + uint16(b[i]) + carry
		out[i] = byte(v)
		carry = v >> 8
	}
	return out
}

func TestVerifyRefusesBadShapes(t *testing.T) {
	ik, _ := GenerateIdentityKeyPair(rand.Reader)
	sig, _ := ik.Sign(rand.Reader, []byte("x"))
	for _, s := range [][]byte{nil, sig[:63], append(sig[:], 0)} {
		if Verify(ik.Public, []byte("x"), s) {
			t.Errorf("signature of %d bytes accepted", len(s))
		}
	}
	// u = -1 has no Edwards point.
	var minusOne PublicKey
	copy(minusOne[:], []byte{0xec})
	for i := 1; i < 31; i++ {
		minusOne[i] = 0xff
	}
	minusOne[31] = 0x7f
	if Verify(minusOne, []byte("x"), sig[:]) {
		t.Error("u = -1 accepted")
	}
}

func FuzzVerify(f *testing.F) {
	ik, _ := GenerateIdentityKeyPair(rand.Reader)
	sig, _ := ik.Sign(rand.Reader, []byte("seed"))
	f.Add(ik.Public[:], []byte("seed"), sig[:])
	f.Fuzz(func(t *testing.T, pub, msg, sig []byte) {
		var k PublicKey
		copy(k[:], pub)
		Verify(k, msg, sig) // must not panic
	})
}

func FuzzParsePublicKey(f *testing.F) {
	kp, _ := GenerateKeyPair(rand.Reader)
	f.Add(kp.Public.Bytes())
	f.Add([]byte{0x05})
	f.Fuzz(func(t *testing.T, b []byte) {
		k, err := ParsePublicKey(b)
		if err != nil {
			return
		}
		if !bytes.Equal(k.Bytes(), b) {
			t.Fatalf("round trip changed %x to %x", b, k.Bytes())
		}
	})
}
