package kem

import (
	"bytes"
	"crypto/mlkem"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/blindpost/blindpost/internal/testvec"
)

// TestKyber1024RoundThreeKAT checks key generation, encapsulation and
// decapsulation against the reference implementation's known answers,
// with the randomness the NIST KAT generator draws from each seed.
func TestKyber1024RoundThreeKAT(t *testing.T) {
	f := testvec.Read(t, "testdata/kyber1024-round3-kat.txt")
	if f.Expect != "kyber1024 pk sk ct ss" {
		t.Fatalf("unknown expect %q", f.Expect)
	}
	counts := f.All("count")
	if len(counts) == 0 {
		t.Fatal("no vectors")
	}
	for i, count := range counts {
		t.Run("count="+count, func(t *testing.T) {
			t.Parallel()
			want := func(key string) []byte { return testvec.Decode(t, f.All(key)[i]) }
			d := newDRBG([48]byte(want("seed")))
			var seed [SeedSize]byte
			var m [EncapsulationSeedSize]byte
			// Three separate reads, as the reference code makes them.
			mustRead(t, d, seed[:32])
			mustRead(t, d, seed[32:])
			mustRead(t, d, m[:])

			kp := NewKeyPair(seed)
			if !bytes.Equal(kp.Public[:], want("pk")) {
				t.Fatal("public key differs")
			}
			if !bytes.Equal(kp.Private[:], want("sk")) {
				t.Fatal("private key differs")
			}
			ct, ss := kp.Public.encapsulate(m)
			if !bytes.Equal(ct[:], want("ct")) {
				t.Fatal("ciphertext differs")
			}
			if !bytes.Equal(ss[:], want("ss")) {
				t.Fatalf("shared secret %x, want %x", ss[:], want("ss"))
			}
			if got := kp.Decapsulate(ct); got != ss {
				t.Fatal("decapsulation differs from encapsulation")
			}
		})
	}
}

func mustRead(t *testing.T, d *drbg, p []byte) {
	t.Helper()
	if _, err := d.Read(p); err != nil {
		t.Fatal(err)
	}
}

// TestNotMLKEM pins that this is round-3 Kyber: FIPS 203 ML-KEM-1024 from
// the same seed d || z gives another public key (its key generation adds a
// domain separator to d), so libsignal's 0x08 keys must not go through
// crypto/mlkem.
func TestNotMLKEM(t *testing.T) {
	var seed [SeedSize]byte
	for i := range seed {
		seed[i] = byte(i)
	}
	dk, err := mlkem.NewDecapsulationKey1024(seed[:])
	if err != nil {
		t.Fatal(err)
	}
	kp := NewKeyPair(seed)
	if bytes.Equal(dk.EncapsulationKey().Bytes(), kp.Public[:]) {
		t.Fatal("ML-KEM-1024 and Kyber1024 gave the same public key")
	}
}

func TestRoundTrip(t *testing.T) {
	kp, err := GenerateKeyPair(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pk, err := ParsePublicKey(kp.Public.Bytes())
	if err != nil || pk != kp.Public {
		t.Fatalf("public key round trip: %v", err)
	}
	ct, ss, err := pk.Encapsulate(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	wireCT := ct.Bytes()
	if len(wireCT) != SerializedCiphertextSize || wireCT[0] != KeyTypeKyber1024 {
		t.Fatalf("serialized ciphertext: %d bytes, type 0x%02x", len(wireCT), wireCT[0])
	}
	parsed, err := ParseCiphertext(wireCT)
	if err != nil || parsed != ct {
		t.Fatalf("ciphertext round trip: %v", err)
	}
	if got := kp.Decapsulate(parsed); got != ss {
		t.Fatal("Bob's secret differs from Alice's")
	}
	if ss == (SharedSecret{}) {
		t.Fatal("all-zero shared secret")
	}
}

// TestSeededReaderIsDeterministic: the same randomness gives the same keys
// and ciphertexts, so labs and vectors can be seeded.
func TestSeededReaderIsDeterministic(t *testing.T) {
	run := func() (KeyPair, Ciphertext, SharedSecret) {
		r := newDRBG([48]byte{1, 2, 3})
		kp, err := GenerateKeyPair(r)
		if err != nil {
			t.Fatal(err)
		}
		ct, ss, err := kp.Public.Encapsulate(r)
		if err != nil {
			t.Fatal(err)
		}
		return kp, ct, ss
	}
	kp1, ct1, ss1 := run()
	kp2, ct2, ss2 := run()
	if kp1 != kp2 || ct1 != ct2 || ss1 != ss2 {
		t.Fatal("same seed, different outputs")
	}
}

// TestTamperedCiphertext: Kyber's implicit rejection gives a different
// secret for any changed ciphertext, and the same one for the same change,
// never an error.
func TestTamperedCiphertext(t *testing.T) {
	kp, _ := GenerateKeyPair(rand.Reader)
	ct, ss, err := kp.Public.Encapsulate(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for _, bit := range []int{0, 1, 7, 8, 4000, 8*CiphertextSize/2 + 3, 8*CiphertextSize - 1} {
		bad := ct
		bad[bit/8] ^= 1 << (bit % 8)
		got := kp.Decapsulate(bad)
		if got == ss {
			t.Fatalf("bit %d flipped: same secret", bit)
		}
		if kp.Decapsulate(bad) != got {
			t.Fatalf("bit %d flipped: implicit rejection is not deterministic", bit)
		}
	}
	other, _ := GenerateKeyPair(rand.Reader)
	if other.Decapsulate(ct) == ss {
		t.Fatal("another key decapsulated the same secret")
	}
}

func TestParseRefusals(t *testing.T) {
	kp, _ := GenerateKeyPair(rand.Reader)
	ct, _, _ := kp.Public.Encapsulate(rand.Reader)
	retype := func(b []byte, t byte) []byte { b = bytes.Clone(b); b[0] = t; return b }
	cases := []struct {
		name    string
		in      []byte
		want    error
		mention string
	}{
		{"empty", nil, ErrBadKeyType, "empty"},
		{"EC key 0x05", retype(kp.Public.Bytes(), 0x05), ErrBadKeyType, "Curve25519"},
		{"serialized EC key", append([]byte{0x05}, make([]byte, 32)...), ErrBadKeyType, "Curve25519"},
		{"Kyber768 0x07", retype(kp.Public.Bytes(), 0x07), ErrBadKeyType, "Kyber768"},
		{"ML-KEM-1024 0x0A", retype(kp.Public.Bytes(), 0x0A), ErrBadKeyType, "ML-KEM-1024"},
		{"unknown type", retype(kp.Public.Bytes(), 0x09), ErrBadKeyType, "0x09"},
		{"type byte only", []byte{KeyTypeKyber1024}, nil, "1 bytes"},
		{"unprefixed", kp.Public[:], nil, ""},
		{"one short", kp.Public.Bytes()[:SerializedPublicKeySize-1], nil, "1568 bytes"},
		{"one long", append(kp.Public.Bytes(), 0), nil, "1570 bytes"},
	}
	for _, tc := range cases {
		_, errK := ParsePublicKey(tc.in)
		_, errC := ParseCiphertext(tc.in)
		wantK, wantC := tc.want, tc.want
		if tc.want == nil {
			wantK, wantC = ErrBadKeyLength, ErrBadCiphertextLength
		}
		if tc.name == "unprefixed" {
			// The first byte of a packed key or ciphertext is data, here
			// almost surely not 0x08; either way the input is refused.
			if errK == nil || errC == nil {
				t.Errorf("%s: accepted", tc.name)
			}
			continue
		}
		if !errors.Is(errK, wantK) || !errors.Is(errC, wantC) {
			t.Errorf("%s: %v / %v, want %v / %v", tc.name, errK, errC, wantK, wantC)
		}
		if !strings.Contains(fmt.Sprint(errK), tc.mention) {
			t.Errorf("%s: error %q does not mention %q", tc.name, errK, tc.mention)
		}
	}
	if _, err := ParseCiphertext(retype(ct.Bytes(), 0x0A)); !errors.Is(err, ErrBadKeyType) {
		t.Errorf("ML-KEM ciphertext type: %v", err)
	}
}

// TestRedaction pins that secrets never print.
func TestRedaction(t *testing.T) {
	kp, _ := GenerateKeyPair(rand.Reader)
	_, ss, _ := kp.Public.Encapsulate(rand.Reader)
	secretHex := fmt.Sprintf("%x", kp.Private[:8])
	for _, v := range []any{kp, &kp, kp.Private, ss} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%d"} {
			out := fmt.Sprintf(verb, v)
			if strings.Contains(out, secretHex) || strings.Contains(out, fmt.Sprintf("%x", ss[:8])) ||
				!strings.Contains(out, "REDACTED") && !strings.Contains(out, "kem.KeyPair{Public:") {
				t.Errorf("%T with %s: %q", v, verb, out)
			}
		}
	}
}
