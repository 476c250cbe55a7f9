package fingerprint

import (
	"bytes"
	"crypto/sha512"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/blindpost/blindpost/identity"
)

// testRand is a seeded source, so failures reproduce.
func testRand(t *testing.T) *rand.ChaCha8 {
	t.Helper()
	var seed [32]byte
	copy(seed[:], t.Name())
	return rand.NewChaCha8(seed)
}

func randomKey(r *rand.ChaCha8) identity.PublicKey {
	var k identity.PublicKey
	r.Read(k[:])
	return k
}

func randomID(r *rand.ChaCha8) []byte {
	id := make([]byte, 1+rand.New(r).IntN(40))
	r.Read(id)
	return id
}

func mustNew(t *testing.T, version, iterations int, localID []byte, localKey identity.PublicKey, remoteID []byte, remoteKey identity.PublicKey) Fingerprint {
	t.Helper()
	f, err := New(version, iterations, localID, localKey, remoteID, remoteKey)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func mustCompare(t *testing.T, ours Fingerprint, theirs []byte) bool {
	t.Helper()
	ok, err := CompareScannable(ours, theirs)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// TestLogicalFingerprintFormula re-derives the hash chain from its doc
// comment with whole-buffer SHA-512 calls.
func TestLogicalFingerprintFormula(t *testing.T) {
	t.Parallel()
	r := testRand(t)
	for _, iterations := range []int{MinIterations, 3, 17, StandardIterations} {
		key, id := randomKey(r), randomID(r)
		k := key.Bytes()
		h := sha512.Sum512(bytes.Join([][]byte{{0x00, 0x00}, k, id, k}, nil))
		for range iterations - 1 {
			h = sha512.Sum512(append(h[:], k...))
		}
		if got := logicalFingerprint(iterations, id, key); got != h {
			t.Errorf("iterations %d: chain differs from the formula", iterations)
		}
	}
}

// TestSymmetry checks, for random parties, that both sides see the same
// number, that each accepts the other's code, and that neither accepts its
// own code or a third party's.
func TestSymmetry(t *testing.T) {
	t.Parallel()
	r := testRand(t)
	for range 10 {
		aKey, aID := randomKey(r), randomID(r)
		bKey, bID := randomKey(r), randomID(r)
		mKey, mID := randomKey(r), randomID(r)
		a, err := NewStandard(aID, aKey, bID, bKey)
		if err != nil {
			t.Fatal(err)
		}
		b, err := NewStandard(bID, bKey, aID, aKey)
		if err != nil {
			t.Fatal(err)
		}
		// The third party holds a true safety number with alice.
		m, err := NewStandard(mID, mKey, aID, aKey)
		if err != nil {
			t.Fatal(err)
		}
		if a.Displayable() != b.Displayable() {
			t.Fatalf("displayable differs: %s vs %s", a.Displayable(), b.Displayable())
		}
		if len(a.Displayable()) != DisplayableLength || strings.Trim(a.Displayable(), "0123456789") != "" {
			t.Fatalf("displayable %q is not %d digits", a.Displayable(), DisplayableLength)
		}
		if !mustCompare(t, a, b.Scannable()) || !mustCompare(t, b, a.Scannable()) {
			t.Fatal("a and b do not accept each other's code")
		}
		if mustCompare(t, a, a.Scannable()) || mustCompare(t, b, b.Scannable()) {
			t.Fatal("a party accepts its own code")
		}
		if mustCompare(t, a, m.Scannable()) || mustCompare(t, b, m.Scannable()) || mustCompare(t, m, a.Scannable()) {
			t.Fatal("a third party's code is accepted")
		}
		if a.Displayable() == m.Displayable() {
			t.Fatal("third party has the same number")
		}
	}
}

// TestMITM is libsignal's fingerprint_mismatching_fingerprints: alice was
// given mallory's key as bob's.
func TestMITM(t *testing.T) {
	t.Parallel()
	r := testRand(t)
	aKey, bKey, mKey := randomKey(r), randomKey(r), randomKey(r)
	aID, bID := []byte("+14152222222"), []byte("+14153333333")
	a := mustNew(t, Version2, StandardIterations, aID, aKey, bID, mKey)
	b := mustNew(t, Version2, StandardIterations, bID, bKey, aID, aKey)
	if a.Displayable() == b.Displayable() {
		t.Error("displayable numbers match")
	}
	if mustCompare(t, a, b.Scannable()) || mustCompare(t, b, a.Scannable()) {
		t.Error("scannable codes match")
	}
}

// TestOneBitChange flips one bit of each input in turn: the number and the
// code must change, and the other party must no longer accept the code.
func TestOneBitChange(t *testing.T) {
	t.Parallel()
	r := testRand(t)
	aKey, aID := randomKey(r), randomID(r)
	bKey, bID := randomKey(r), randomID(r)
	base := mustNew(t, Version2, StandardIterations, aID, aKey, bID, bKey)
	peer := mustNew(t, Version2, StandardIterations, bID, bKey, aID, aKey)
	flipKey := func(k identity.PublicKey, bit int) identity.PublicKey {
		k[bit/8] ^= 1 << (bit % 8)
		return k
	}
	flipID := func(id []byte, bit int) []byte {
		id = bytes.Clone(id)
		id[bit/8] ^= 1 << (bit % 8)
		return id
	}
	for trial := range 8 {
		kb := rand.New(r).IntN(8 * identity.PublicKeySize)
		ib := rand.New(r).IntN(8 * len(aID))
		jb := rand.New(r).IntN(8 * len(bID))
		cases := map[string]Fingerprint{
			"local key":  mustNew(t, Version2, StandardIterations, aID, flipKey(aKey, kb), bID, bKey),
			"remote key": mustNew(t, Version2, StandardIterations, aID, aKey, bID, flipKey(bKey, kb)),
			"local id":   mustNew(t, Version2, StandardIterations, flipID(aID, ib), aKey, bID, bKey),
			"remote id":  mustNew(t, Version2, StandardIterations, aID, aKey, flipID(bID, jb), bKey),
		}
		for name, f := range cases {
			if f.Displayable() == base.Displayable() {
				t.Errorf("trial %d: %s: displayable unchanged", trial, name)
			}
			if bytes.Equal(f.Scannable(), base.Scannable()) {
				t.Errorf("trial %d: %s: scannable unchanged", trial, name)
			}
			if mustCompare(t, peer, f.Scannable()) || mustCompare(t, f, peer.Scannable()) {
				t.Errorf("trial %d: %s: codes still match", trial, name)
			}
		}
	}
}

// TestEmptyID checks that empty ids are allowed, as libsignal allows them,
// and that both parties still agree.
func TestEmptyID(t *testing.T) {
	t.Parallel()
	r := testRand(t)
	aKey, bKey := randomKey(r), randomKey(r)
	a := mustNew(t, Version2, StandardIterations, nil, aKey, nil, bKey)
	b := mustNew(t, Version2, StandardIterations, nil, bKey, nil, aKey)
	if a.Displayable() != b.Displayable() || !mustCompare(t, a, b.Scannable()) {
		t.Error("empty ids: parties disagree")
	}
}

// TestVersionOnlyInScannable is libsignal's
// fingerprint_mismatching_versions: the version changes the code, not the
// number.
func TestVersionOnlyInScannable(t *testing.T) {
	t.Parallel()
	r := testRand(t)
	aKey, bKey := randomKey(r), randomKey(r)
	aID, bID := randomID(r), randomID(r)
	v1 := mustNew(t, Version1, StandardIterations, aID, aKey, bID, bKey)
	v2 := mustNew(t, Version2, StandardIterations, aID, aKey, bID, bKey)
	if v1.Displayable() != v2.Displayable() {
		t.Error("displayable depends on the version")
	}
	if bytes.Equal(v1.Scannable(), v2.Scannable()) {
		t.Error("scannable does not depend on the version")
	}
}

func TestIterationsChangeResult(t *testing.T) {
	t.Parallel()
	r := testRand(t)
	aKey, bKey := randomKey(r), randomKey(r)
	a := mustNew(t, Version2, 1024, nil, aKey, nil, bKey)
	b := mustNew(t, Version2, 1025, nil, aKey, nil, bKey)
	if a.Displayable() == b.Displayable() {
		t.Error("iteration count does not change the number")
	}
}

func TestNewRejectsParameters(t *testing.T) {
	t.Parallel()
	var k identity.PublicKey
	for _, tc := range []struct {
		name                string
		version, iterations int
	}{
		{"iterations 1", Version2, 1},
		{"iterations 0", Version2, 0},
		{"iterations negative", Version2, -5200},
		{"iterations above max", Version2, MaxIterations + 1},
		{"version negative", -1, StandardIterations},
		{"version above uint32", math.MaxUint32 + 1, StandardIterations},
	} {
		if _, err := New(tc.version, tc.iterations, nil, k, nil, k); err == nil {
			t.Errorf("%s: no error", tc.name)
		} else if !strings.HasPrefix(err.Error(), "fingerprint: ") {
			t.Errorf("%s: error %q lacks the package prefix", tc.name, err)
		}
	}
	for _, version := range []int{0, Version1, Version2, math.MaxUint32} {
		if _, err := New(version, MinIterations, nil, k, nil, k); err != nil {
			t.Errorf("version %d: %v", version, err)
		}
	}
}

// TestLargeVersionRoundTrip checks a version that needs a 5-byte varint.
func TestLargeVersionRoundTrip(t *testing.T) {
	t.Parallel()
	r := testRand(t)
	aKey, bKey := randomKey(r), randomKey(r)
	a := mustNew(t, math.MaxUint32, MinIterations, nil, aKey, nil, bKey)
	b := mustNew(t, math.MaxUint32, MinIterations, nil, bKey, nil, aKey)
	if !mustCompare(t, a, b.Scannable()) {
		t.Error("version 2^32-1 codes do not match")
	}
}

func TestScannableIsACopy(t *testing.T) {
	t.Parallel()
	r := testRand(t)
	aKey, bKey := randomKey(r), randomKey(r)
	a := mustNew(t, Version2, MinIterations, nil, aKey, nil, bKey)
	b := mustNew(t, Version2, MinIterations, nil, bKey, nil, aKey)
	s := a.Scannable()
	clear(s)
	if !mustCompare(t, b, a.Scannable()) {
		t.Error("clearing a returned scannable changed the fingerprint")
	}
}
