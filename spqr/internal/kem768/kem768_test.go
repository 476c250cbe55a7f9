package kem768

import (
	"bytes"
	"crypto/mlkem"
	"crypto/mlkem/mlkemtest"
	"crypto/rand"
	"crypto/sha3"
	"fmt"
	"io"
	"math/bits"
	mrand "math/rand/v2"
	"strings"
	"testing"

	"github.com/cloudflare/circl/pke/kyber/kyber768"
)

// seeded returns a deterministic random source for reproducible tests.
func seeded(seed uint64) io.Reader {
	return mrand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), byte(seed >> 16)})
}

type keyPair struct {
	h  Header
	kv KeyVector
	dk DecapsulationKey
}

func mustKey(t testing.TB, r io.Reader) keyPair {
	t.Helper()
	h, kv, dk, err := GenerateKey(r)
	if err != nil {
		t.Fatal(err)
	}
	return keyPair{h, kv, dk}
}

// encapsulate runs Encaps1 and Encaps2.
func encapsulate(t testing.TB, k keyPair, r io.Reader) (Ciphertext1, Ciphertext2, SharedSecret) {
	t.Helper()
	ct1, st, ss, err := Encaps1(k.h, r)
	if err != nil {
		t.Fatal(err)
	}
	ct2, err := Encaps2(k.h, k.kv, st[:])
	if err != nil {
		t.Fatal(err)
	}
	return ct1, ct2, ss
}

func TestRoundTrip(t *testing.T) {
	for i := range 200 {
		k := mustKey(t, rand.Reader)
		ct1, ct2, ss := encapsulate(t, k, rand.Reader)
		got, err := Decaps(k.dk[:], ct1[:], ct2[:])
		if err != nil {
			t.Fatal(err)
		}
		if got != ss {
			t.Fatalf("run %d: decapsulated secret differs", i)
		}
	}
}

// TestHeaderLayout checks the split against crypto/mlkem's encapsulation
// key: header = ρ || SHA3-256(ek), key vector = ek[:1152].
func TestHeaderLayout(t *testing.T) {
	k := mustKey(t, seeded(1))
	dk, err := mlkem.NewDecapsulationKey768(k.dk[:])
	if err != nil {
		t.Fatal(err)
	}
	ek := dk.EncapsulationKey().Bytes()
	hash := sha3.Sum256(ek)
	if !bytes.Equal(k.kv[:], ek[:1152]) || !bytes.Equal(k.h[:32], ek[1152:]) || !bytes.Equal(k.h[32:], hash[:]) {
		t.Fatal("header or key vector is not the FIPS 203 encapsulation key split")
	}
	if !KeyVectorMatchesHeader(k.kv[:], k.h[:]) {
		t.Fatal("own key vector does not match own header")
	}
}

// TestMatchesMLKEMTest compares the two-part encapsulation, byte for
// byte, with Go's derandomized ML-KEM.Encaps_internal for the same key and
// m: ct1 || ct2 is its ciphertext and K its shared secret.
func TestMatchesMLKEMTest(t *testing.T) {
	r := seeded(2)
	for i := range 100 {
		k := mustKey(t, r)
		var m EncapsState
		if _, err := io.ReadFull(r, m[:]); err != nil {
			t.Fatal(err)
		}
		ct1, st, ss, err := Encaps1(k.h, bytes.NewReader(m[:]))
		if err != nil {
			t.Fatal(err)
		}
		if st != m {
			t.Fatal("state is not m")
		}
		ct2, err := Encaps2(k.h, k.kv, st[:])
		if err != nil {
			t.Fatal(err)
		}
		ek, err := mlkem.NewEncapsulationKey768(append(k.kv[:], k.h[:32]...))
		if err != nil {
			t.Fatal(err)
		}
		wantK, wantCT, err := mlkemtest.Encapsulate768(ek, m[:])
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(append(ct1[:], ct2[:]...), wantCT) {
			t.Fatalf("run %d: ct1 || ct2 differs from ML-KEM.Encaps_internal", i)
		}
		if !bytes.Equal(ss[:], wantK) {
			t.Fatalf("run %d: K differs from ML-KEM.Encaps_internal", i)
		}
	}
}

// TestCiphertext1IgnoresT checks the claim Encaps1 rests on: in CIRCL's
// K-PKE.Encrypt, c1 depends on ρ, m and r but not on t̂ (while c2 does).
func TestCiphertext1IgnoresT(t *testing.T) {
	r := seeded(3)
	for range 50 {
		k := mustKey(t, r)
		var m, rr [32]byte
		r.Read(m[:])
		r.Read(rr[:])
		var real, zero kyber768.PublicKey
		if err := real.UnpackMLKEM(append(k.kv[:], k.h[:32]...)); err != nil {
			t.Fatal(err)
		}
		zero.Unpack(append(make([]byte, KeyVectorSize), k.h[:32]...))
		var a, b [CiphertextSize]byte
		real.EncryptTo(a[:], m[:], rr[:])
		zero.EncryptTo(b[:], m[:], rr[:])
		if !bytes.Equal(a[:Ciphertext1Size], b[:Ciphertext1Size]) {
			t.Fatal("c1 depends on t")
		}
		if bytes.Equal(a[Ciphertext1Size:], b[Ciphertext1Size:]) {
			t.Fatal("c2 does not depend on t")
		}
	}
}

// TestDeterministic: the same randomness gives the same outputs.
func TestDeterministic(t *testing.T) {
	k1, k2 := mustKey(t, seeded(4)), mustKey(t, seeded(4))
	if k1 != k2 {
		t.Fatal("key generation is not a function of the seed")
	}
	a1, a2, as := encapsulate(t, k1, seeded(5))
	b1, b2, bs := encapsulate(t, k1, seeded(5))
	if a1 != b1 || a2 != b2 || as != bs {
		t.Fatal("encapsulation is not a function of m")
	}
}

// flipBit flips each listed bit of b, one at a time, and calls f.
func flipBits(b []byte, positions []int, f func()) {
	for _, p := range positions {
		b[p/8] ^= 1 << (p % 8)
		f()
		b[p/8] ^= 1 << (p % 8)
	}
}

// TestTamperedCiphertext: any flipped bit of ct1 or ct2 gives another
// secret (implicit rejection), not an error.
func TestTamperedCiphertext(t *testing.T) {
	k := mustKey(t, seeded(6))
	ct1, ct2, ss := encapsulate(t, k, seeded(7))
	check := func(part string) func() {
		return func() {
			got, err := Decaps(k.dk[:], ct1[:], ct2[:])
			if err != nil {
				t.Fatalf("%s: %v", part, err)
			}
			if got == ss {
				t.Fatalf("%s: tampered ciphertext gives the same secret", part)
			}
		}
	}
	flipBits(ct1[:], []int{0, 1, 7, 4000, 8*Ciphertext1Size - 1}, check("ct1"))
	flipBits(ct2[:], []int{0, 9, 500, 8*Ciphertext2Size - 1}, check("ct2"))
	// And a wrong key gets a different secret too.
	other := mustKey(t, seeded(8))
	if got, err := Decaps(other.dk[:], ct1[:], ct2[:]); err != nil || got == ss {
		t.Fatal("another key decapsulates to the same secret")
	}
}

// setCoefficient sets the i-th 12-bit coefficient of a ByteEncode_12
// vector (FIPS 203 Algorithm 5: little-endian bit order).
func setCoefficient(kv *KeyVector, i int, v uint16) {
	b := kv[3*(i/2):]
	if i%2 == 0 {
		b[0] = byte(v)
		b[1] = b[1]&0xf0 | byte(v>>8)
	} else {
		b[1] = b[1]&0x0f | byte(v<<4)
		b[2] = byte(v >> 4)
	}
}

// withHash returns the header of the key vector kv with ρ from h and the
// hash recomputed, so that only the modulus check can fail.
func withHash(h Header, kv KeyVector) Header {
	sum := sha3.Sum256(append(kv[:], h[:32]...))
	copy(h[32:], sum[:])
	return h
}

// TestKeyVectorChecks: KeyVectorMatchesHeader and Encaps2 refuse a key
// vector of another key, a changed bit, or a coefficient >= q even with a
// matching hash.
func TestKeyVectorChecks(t *testing.T) {
	k := mustKey(t, seeded(9))
	_, st, _, err := Encaps1(k.h, seeded(10))
	if err != nil {
		t.Fatal(err)
	}
	refused := func(name string, kv KeyVector, h Header) {
		t.Helper()
		if KeyVectorMatchesHeader(kv[:], h[:]) {
			t.Errorf("%s: KeyVectorMatchesHeader accepted", name)
		}
		if _, err := Encaps2(h, kv, st[:]); err == nil {
			t.Errorf("%s: Encaps2 accepted", name)
		}
	}
	other := mustKey(t, seeded(11))
	refused("other key's vector", other.kv, k.h)
	refused("other key's header", k.kv, other.h)
	flipBits(k.kv[:], []int{0, 5000, 8*KeyVectorSize - 1}, func() { refused("flipped key vector bit", k.kv, k.h) })
	flipBits(k.h[:], []int{0, 255, 256, 511}, func() { refused("flipped header bit", k.kv, k.h) })

	// Coefficient q = 3329 and 4095 with the hash made to match: only the
	// FIPS 203 §7.2 modulus check catches them.
	for _, c := range []struct{ i int }{{0}, {1}, {767}} {
		for _, v := range []uint16{3329, 4095} {
			kv := k.kv
			setCoefficient(&kv, c.i, v)
			refused(fmt.Sprintf("coefficient %d = %d", c.i, v), kv, withHash(k.h, kv))
		}
	}
	// q - 1 is a valid coefficient.
	kv := k.kv
	setCoefficient(&kv, 5, 3328)
	if h := withHash(k.h, kv); !KeyVectorMatchesHeader(kv[:], h[:]) {
		t.Error("coefficient 3328 refused")
	}
}

// TestWrongLengths: slice inputs of any other length are errors (or
// false), never panics.
func TestWrongLengths(t *testing.T) {
	k := mustKey(t, seeded(12))
	ct1, ct2, _ := encapsulate(t, k, seeded(13))
	_, st, _, err := Encaps1(k.h, seeded(14))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Decaps(k.dk[:DecapsulationKeySize-1], ct1[:], ct2[:]); err == nil {
		t.Error("short decapsulation key accepted")
	}
	if _, err := Decaps(append(k.dk[:], 0), ct1[:], ct2[:]); err == nil {
		t.Error("long decapsulation key accepted")
	}
	if _, err := Decaps(k.dk[:], ct1[:Ciphertext1Size-1], ct2[:]); err == nil {
		t.Error("short ct1 accepted")
	}
	if _, err := Decaps(k.dk[:], ct1[:], append(ct2[:], 0)); err == nil {
		t.Error("long ct2 accepted")
	}
	if _, err := Decaps(k.dk[:], append(ct1[:], ct2[0]), ct2[1:]); err == nil {
		t.Error("split at the wrong place accepted")
	}
	if _, err := Decaps(nil, nil, nil); err == nil || strings.Count(err.Error(), "kem768:") != 3 {
		t.Errorf("all wrong: %v", err)
	}
	if _, err := Encaps2(k.h, k.kv, st[:31]); err == nil {
		t.Error("short state accepted")
	}
	if _, err := Encaps2(k.h, k.kv, append(st[:], 0)); err == nil {
		t.Error("long state accepted")
	}
	if KeyVectorMatchesHeader(k.kv[:KeyVectorSize-1], k.h[:]) || KeyVectorMatchesHeader(k.kv[:], k.h[:63]) ||
		KeyVectorMatchesHeader(nil, nil) || KeyVectorMatchesHeader(append(k.kv[:], 0), k.h[:]) {
		t.Error("KeyVectorMatchesHeader accepted a wrong length")
	}
}

// TestRandomnessFailures: a nil or short random source is an error.
func TestRandomnessFailures(t *testing.T) {
	if _, _, _, err := GenerateKey(nil); err == nil {
		t.Error("GenerateKey(nil) succeeded")
	}
	if _, _, _, err := GenerateKey(bytes.NewReader(make([]byte, 63))); err == nil {
		t.Error("GenerateKey with 63 random bytes succeeded")
	}
	k := mustKey(t, seeded(15))
	if _, _, _, err := Encaps1(k.h, nil); err == nil {
		t.Error("Encaps1(nil) succeeded")
	}
	if _, _, _, err := Encaps1(k.h, bytes.NewReader(make([]byte, 31))); err == nil {
		t.Error("Encaps1 with 31 random bytes succeeded")
	}
}

// TestSecretsRedacted pins that secrets never print.
func TestSecretsRedacted(t *testing.T) {
	var dk DecapsulationKey
	var st EncapsState
	var ss SharedSecret
	for i := range 32 {
		dk[i], st[i], ss[i] = 0xab, 0xab, 0xab
	}
	for _, v := range []any{dk, st, ss, &dk, &st, &ss} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%q", "%d"} {
			out := fmt.Sprintf(verb, v)
			if strings.Contains(strings.ToLower(out), "abab") || strings.Contains(out, "171") || !strings.Contains(out, "REDACTED") {
				t.Errorf("%T with %s prints %q", v, verb, out)
			}
		}
	}
}

// TestTamperedCiphertextBitCount: implicit rejection gives unrelated
// secrets, about half their bits differ (a loose check).
func TestTamperedCiphertextBitCount(t *testing.T) {
	k := mustKey(t, seeded(16))
	ct1, ct2, ss := encapsulate(t, k, seeded(17))
	ct2[3] ^= 0x10
	got, err := Decaps(k.dk[:], ct1[:], ct2[:])
	if err != nil {
		t.Fatal(err)
	}
	diff := 0
	for i := range got {
		diff += bits.OnesCount8(got[i] ^ ss[i])
	}
	if diff < 64 || diff > 192 {
		t.Fatalf("%d of 256 bits differ", diff)
	}
}
