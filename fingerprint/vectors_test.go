package fingerprint

import (
	"bytes"
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/blindpost/blindpost/identity"
	"github.com/blindpost/blindpost/internal/testvec"
)

// vector is one testdata file (see internal/testvec): an expect: header
// naming what the file checks (a value to compute, or the outcome of a
// comparison), then key: value lines, hex unless the key says otherwise.
type vector struct{ testvec.File }

func readVector(t *testing.T, path string) vector { return vector{testvec.Read(t, path)} }

func (v vector) str(t *testing.T, key string) string { return v.Str(t, key) }

func (v vector) hex(t *testing.T, key string) []byte { return v.Hex(t, key) }

func (v vector) int(t *testing.T, key string) int {
	t.Helper()
	n, err := strconv.Atoi(v.str(t, key))
	if err != nil {
		t.Fatalf("%s: %s: %v", v.Path, key, err)
	}
	return n
}

func (v vector) key(t *testing.T, key string) identity.PublicKey {
	t.Helper()
	k, err := identity.ParsePublicKey(v.hex(t, key))
	if err != nil {
		t.Fatalf("%s: %s: %v", v.Path, key, err)
	}
	return k
}

// party is one side's view: its own key and id and the peer's.
type party struct {
	localKey, remoteKey identity.PublicKey
	localID, remoteID   []byte
}

// parties returns the local party the file describes (prefix "local_" or
// the given names) and the same pair seen from the other side.
func (v vector) parties(t *testing.T, local, remote string) (us, them party) {
	t.Helper()
	us = party{
		localKey: v.key(t, local+"_key"), localID: v.hex(t, local+"_id"),
		remoteKey: v.key(t, remote+"_key"), remoteID: v.hex(t, remote+"_id"),
	}
	them = party{
		localKey: us.remoteKey, localID: us.remoteID,
		remoteKey: us.localKey, remoteID: us.localID,
	}
	return us, them
}

func (p party) fingerprint(t *testing.T, version, iterations int) Fingerprint {
	t.Helper()
	f, err := New(version, iterations, p.localID, p.localKey, p.remoteID, p.remoteKey)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestVectors(t *testing.T) {
	paths, err := filepath.Glob("testdata/*.txt")
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatal("no test vectors")
	}
	for _, path := range paths {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".txt"), func(t *testing.T) {
			t.Parallel()
			v := readVector(t, path)
			switch v.Expect {
			case "displayable":
				testDisplayable(t, v)
			case "scannable":
				if v.Has("local_content") {
					testEncoding(t, v)
				} else {
					testScannable(t, v)
				}
			case "match", "mismatch", "version_mismatch":
				testCompare(t, v)
			default:
				t.Fatalf("unknown expect: %q", v.Expect)
			}
		})
	}
}

// testDisplayable checks the number from both sides: alice local, then bob.
func testDisplayable(t *testing.T, v vector) {
	alice, bob := v.parties(t, "alice", "bob")
	version, iterations := v.int(t, "version"), v.int(t, "iterations")
	want := v.str(t, "displayable")
	for name, p := range map[string]party{"alice": alice, "bob": bob} {
		if got := p.fingerprint(t, version, iterations).Displayable(); got != want {
			t.Errorf("%s local: displayable %s, want %s", name, got, want)
		}
	}
}

// testScannable checks the local party's scannable bytes, and that the
// remote party, computing from its side, accepts them.
func testScannable(t *testing.T, v vector) {
	us, them := v.parties(t, "local", "remote")
	version, iterations := v.int(t, "version"), v.int(t, "iterations")
	want := v.hex(t, "scannable")
	ours := us.fingerprint(t, version, iterations)
	if got := ours.Scannable(); !bytes.Equal(got, want) {
		t.Errorf("scannable\n got %x\nwant %x", got, want)
	}
	ok, err := CompareScannable(them.fingerprint(t, version, iterations), want)
	if err != nil || !ok {
		t.Errorf("remote party's CompareScannable = %v, %v; want true, nil", ok, err)
	}
}

// testEncoding checks the protobuf encoder alone on fixed contents.
func testEncoding(t *testing.T, v vector) {
	got := encodeScannable(uint32(v.int(t, "version")), v.hex(t, "local_content"), v.hex(t, "remote_content"))
	if want := v.hex(t, "scannable"); !bytes.Equal(got, want) {
		t.Errorf("encoding\n got %x\nwant %x", got, want)
	}
}

// testCompare scans their_scannable from the local party's side.
func testCompare(t *testing.T, v vector) {
	us, _ := v.parties(t, "local", "remote")
	ours := us.fingerprint(t, v.int(t, "version"), v.int(t, "iterations"))
	ok, err := CompareScannable(ours, v.hex(t, "their_scannable"))
	switch v.Expect {
	case "match":
		if err != nil || !ok {
			t.Errorf("CompareScannable = %v, %v; want true, nil", ok, err)
		}
	case "mismatch":
		if err != nil || ok {
			t.Errorf("CompareScannable = %v, %v; want false, nil", ok, err)
		}
	case "version_mismatch":
		if !errors.Is(err, ErrVersionMismatch) || ok {
			t.Errorf("CompareScannable = %v, %v; want false, ErrVersionMismatch", ok, err)
		}
	}
}
