// Package testvec reads known-answer vectors kept as text in testdata/:
// an "expect:" header naming what the file checks, then "key: value" lines
// (hex unless the test says otherwise). Lines starting with # are comments.
// A key may repeat; its values keep their order.
package testvec

import (
	"bufio"
	"compress/gzip"
	"encoding/hex"
	"io"
	"os"
	"strings"
	"testing"
)

// File is one vector file.
type File struct {
	Path   string
	Expect string
	values map[string][]string
}

// Read parses the file at path, failing the test on any malformed line or
// a missing expect: header.
func Read(t testing.TB, path string) File {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f := File{Path: path, values: map[string][]string{}}
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			t.Fatalf("%s: bad line %q", path, line)
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if k == "expect" {
			f.Expect = v
			continue
		}
		f.values[k] = append(f.values[k], v)
	}
	if f.Expect == "" {
		t.Fatalf("%s: no expect: header", path)
	}
	return f
}

// Has reports whether key is present.
func (f File) Has(key string) bool { return len(f.values[key]) > 0 }

// All returns every value of key, in order.
func (f File) All(key string) []string { return f.values[key] }

// Str returns the single value of key.
func (f File) Str(t testing.TB, key string) string {
	t.Helper()
	vals := f.values[key]
	if len(vals) != 1 {
		t.Fatalf("%s: want exactly one %s, have %d", f.Path, key, len(vals))
	}
	return vals[0]
}

// Hex returns the single value of key, hex-decoded.
func (f File) Hex(t testing.TB, key string) []byte {
	t.Helper()
	return Decode(t, f.Str(t, key))
}

// Hex32 returns the single value of key as exactly 32 bytes.
func (f File) Hex32(t testing.TB, key string) [32]byte {
	t.Helper()
	b := f.Hex(t, key)
	if len(b) != 32 {
		t.Fatalf("%s: %s has %d bytes, want 32", f.Path, key, len(b))
	}
	return [32]byte(b)
}

// Decode hex-decodes s, failing the test on bad hex.
func Decode(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// Gunzip returns the decompressed contents of the gzipped file at path
// (a fixture kept compressed in testdata/), failing the test on any error.
func Gunzip(t testing.TB, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
