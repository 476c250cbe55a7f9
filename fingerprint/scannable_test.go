package fingerprint

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/blindpost/blindpost/identity"
)

// Alice and bob from libsignal's fingerprint.rs tests (see testdata/).
const (
	aliceKeyHex = "0506863bc66d02b40d27b8d49ca7c09e9239236f9d7d25d6fcca5ce13c7064d868"
	bobKeyHex   = "05f781b6fb32fed9ba1cf2de978d4d5da28dc34046ae814402b5c0dbd96fda907b"
	aliceID     = "+14152222222"
	bobID       = "+14153333333"
)

func testKey(t testing.TB, s string) identity.PublicKey {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	k, err := identity.ParsePublicKey(b)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// aliceAndBob returns both sides' standard fingerprints for the libsignal
// test parties.
func aliceAndBob(t testing.TB) (alice, bob Fingerprint) {
	t.Helper()
	a, b := testKey(t, aliceKeyHex), testKey(t, bobKeyHex)
	alice, err := NewStandard([]byte(aliceID), a, []byte(bobID), b)
	if err != nil {
		t.Fatal(err)
	}
	bob, err = NewStandard([]byte(bobID), b, []byte(aliceID), a)
	if err != nil {
		t.Fatal(err)
	}
	return alice, bob
}

func cat(parts ...string) []byte {
	var b []byte
	for _, p := range parts {
		x, err := hex.DecodeString(p)
		if err != nil {
			panic(err)
		}
		b = append(b, x...)
	}
	return b
}

// TestCompareMalformed feeds alice variants of bob's code that libsignal's
// lenient decoder would take or reject, and checks each is ErrMalformed.
func TestCompareMalformed(t *testing.T) {
	t.Parallel()
	alice, bob := aliceAndBob(t)
	good := bob.Scannable()
	if ok, err := CompareScannable(alice, good); err != nil || !ok {
		t.Fatalf("unmodified code: %v, %v", ok, err)
	}
	h := hex.EncodeToString(good)
	l, r := h[12:76], h[84:]  // the two 32-byte contents
	lf, rf := h[4:76], h[76:] // the two LogicalFingerprint fields
	z := strings.Repeat("00", 32)
	for _, tc := range []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"tag only", cat("08")},
		{"version only", cat("0802")},
		{"truncated by one", good[:len(good)-1]},
		{"truncated inside local", good[:20]},
		{"trailing byte", append(bytes.Clone(good), 0)},
		{"trailing field", cat("0802", lf, rf, "2000")},
		{"unknown field first", cat("2000", "0802", lf, rf)},
		{"unknown field in logical", cat("0802", "1224", "0a20", l, "1000", rf)},
		{"version repeated", cat("0802", "0802", lf, rf)},
		{"local repeated", cat("0802", lf, lf, rf)},
		{"remote missing", cat("0802", lf)},
		{"local missing", cat("0802", rf)},
		{"fields swapped", cat("0802", rf, lf)},
		{"version last", cat(lf, rf, "0802")},
		{"version non-minimal", cat("088200", lf, rf)},
		{"version over uint32", cat("08"+"8080808010", lf, rf)},
		{"version wire type bytes", cat("0a0102", lf, rf)},
		{"tag non-minimal", cat("8800", "02", lf, rf)},
		{"length non-minimal", cat("0802", "12a200", "0a20", l, rf)},
		{"inner length non-minimal", cat("0802", "1223", "0aa000", l, rf)},
		{"local wire type varint", cat("0802", "1000", rf)},
		{"content empty logical", cat("0802", "1200", rf)},
		{"content 31 bytes", cat("0802", "1221", "0a1f", l[2:], rf)},
		{"content 33 bytes", cat("0802", "1223", "0a21", l, "00", rf)},
		{"content 0 bytes", cat("0802", "1202", "0a00", rf)},
		{"content twice", cat("0802", "1244", "0a20", l, "0a20", l, rf)},
		{"remote content 31", cat("0802", lf, "1a21", "0a1f", r[2:])},
		{"inner wire type", cat("0802", "1222", "0b20", l, rf)},
		{"inner field 2", cat("0802", "1222", "1220", l, rf)},
		{"length beyond input", cat("0802", "12ff01", "0a20", z)},
		{"varint overflow", cat("08ffffffffffffffffffff01")},
		{"oversized", append(cat("0802", lf, rf), make([]byte, maxScannableSize)...)},
	} {
		ok, err := CompareScannable(alice, tc.in)
		if !errors.Is(err, ErrMalformed) || errors.Is(err, ErrVersionMismatch) || ok {
			t.Errorf("%s: got %v, %v; want false, ErrMalformed", tc.name, ok, err)
		}
	}
}

func TestCompareVersionMismatch(t *testing.T) {
	t.Parallel()
	alice, bob := aliceAndBob(t)
	h := hex.EncodeToString(bob.Scannable())
	for _, tc := range []struct {
		name string
		in   []byte
	}{
		{"version 1", cat("0801", h[4:])},
		{"version 3", cat("0803", h[4:])},
		{"version 0", cat("0800", h[4:])},
		{"large version", cat("08ffffffff0f", h[4:])},
		// The layout after a version belongs to that version.
		{"version 3, other layout", cat("0803", "0a00")},
		{"version 1 alone", cat("0801")},
	} {
		ok, err := CompareScannable(alice, tc.in)
		if !errors.Is(err, ErrVersionMismatch) || errors.Is(err, ErrMalformed) || ok {
			t.Errorf("%s: got %v, %v; want false, ErrVersionMismatch", tc.name, ok, err)
		}
	}
}

// TestCompareOneBit flips each bit of bob's code: alice must never accept
// it, and a flip inside a content must be a well-formed mismatch.
func TestCompareOneBit(t *testing.T) {
	t.Parallel()
	alice, bob := aliceAndBob(t)
	good := bob.Scannable()
	for i := range 8 * len(good) {
		in := bytes.Clone(good)
		in[i/8] ^= 1 << (i % 8)
		ok, err := CompareScannable(alice, in)
		if ok {
			t.Fatalf("bit %d: flipped code accepted", i)
		}
		inContent := (i/8 >= 6 && i/8 < 38) || i/8 >= 42
		if inContent && err != nil {
			t.Fatalf("bit %d: content flip gave error %v", i, err)
		}
		if !inContent && err == nil {
			t.Fatalf("bit %d: framing flip gave no error", i)
		}
	}
}

// TestCompareDoesNotModifyInput checks that parsing leaves the bytes alone.
func TestCompareDoesNotModifyInput(t *testing.T) {
	t.Parallel()
	alice, bob := aliceAndBob(t)
	in := bob.Scannable()
	saved := bytes.Clone(in)
	if _, err := CompareScannable(alice, in); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(in, saved) {
		t.Error("input modified")
	}
}

func TestScannableLayout(t *testing.T) {
	t.Parallel()
	alice, _ := aliceAndBob(t)
	s := alice.Scannable()
	if len(s) != 74 {
		t.Fatalf("length %d, want 74 (see the layout table)", len(s))
	}
	if !bytes.Equal(s[:6], cat("080212220a20")) || !bytes.Equal(s[38:42], cat("1a220a20")) {
		t.Errorf("framing differs from the layout table: %x", s)
	}
	if !bytes.Equal(s[6:38], alice.local[:32]) || !bytes.Equal(s[42:], alice.remote[:32]) {
		t.Error("contents are not the local and remote prefixes")
	}
}
