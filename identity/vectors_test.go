package identity

import (
	"bufio"
	"encoding/hex"
	"os"
	"strings"
	"testing"
)

// vector is one testdata file: an expect: header and key: hex-value lines.
// A key may repeat (values keeps them in order).
type vector struct {
	expect string
	values map[string][]string
}

func readVector(t *testing.T, path string) vector {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	v := vector{values: map[string][]string{}}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, val, ok := strings.Cut(line, ":")
		if !ok {
			t.Fatalf("%s: bad line %q", path, line)
		}
		k, val = strings.TrimSpace(k), strings.TrimSpace(val)
		if k == "expect" {
			v.expect = val
			continue
		}
		v.values[k] = append(v.values[k], val)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if v.expect == "" {
		t.Fatalf("%s: no expect: header", path)
	}
	return v
}

// hex32 returns the single value of key as 32 bytes.
func (v vector) hex32(t *testing.T, key string) [32]byte {
	t.Helper()
	var out [32]byte
	b := v.hex(t, key)
	if len(b) != 32 {
		t.Fatalf("%s: %d bytes, want 32", key, len(b))
	}
	copy(out[:], b)
	return out
}

func (v vector) hex(t *testing.T, key string) []byte {
	t.Helper()
	vals := v.values[key]
	if len(vals) != 1 {
		t.Fatalf("want exactly one %s, have %d", key, len(vals))
	}
	b, err := hex.DecodeString(vals[0])
	if err != nil {
		t.Fatalf("%s: %v", key, err)
	}
	return b
}
