package lab

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden from the current output")

// goldenRuns are the lab runs pinned byte for byte: every lab with seed
// 1, the walk-throughs with a second seed too.
func goldenRuns() []struct {
	file string
	lab  Lab
	o    Options
} {
	type run = struct {
		file string
		lab  Lab
		o    Options
	}
	var runs []run
	for _, l := range Walkthroughs() {
		for _, seed := range []uint64{1, 2} {
			runs = append(runs, run{fmt.Sprintf("%s-seed%d.txt", l.Name, seed), l, Options{Seed: seed}})
		}
	}
	for _, l := range Attacks() {
		runs = append(runs, run{fmt.Sprintf("attack-%s-seed1.txt", l.Name), l, Options{Seed: 1}})
	}
	return runs
}

// TestGolden checks that each lab prints exactly its golden file: the same
// seed gives the same bytes on any machine. Run with -update after a
// deliberate change, and review the diff.
func TestGolden(t *testing.T) {
	for _, r := range goldenRuns() {
		t.Run(r.file, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			if err := r.lab.Run(&out, r.o); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", "golden", r.file)
			if *update {
				if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./lab -run TestGolden -update to create it)", err)
			}
			if !bytes.Equal(out.Bytes(), want) {
				t.Errorf("output differs from %s at line %d (go test ./lab -run TestGolden -update regenerates it)",
					path, firstDiffLine(out.Bytes(), want))
			}
		})
	}
}

// TestSameSeedSameBytes runs every lab twice in one process: no hidden
// state (map order, a shared stream) may leak between runs.
func TestSameSeedSameBytes(t *testing.T) {
	for _, r := range goldenRuns() {
		var a, b bytes.Buffer
		if err := r.lab.Run(&a, r.o); err != nil {
			t.Fatal(err)
		}
		if err := r.lab.Run(&b, r.o); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a.Bytes(), b.Bytes()) {
			t.Errorf("%s: two runs differ at line %d", r.file, firstDiffLine(a.Bytes(), b.Bytes()))
		}
	}
}

// TestSeedsDiffer checks that the seed is what the output depends on.
func TestSeedsDiffer(t *testing.T) {
	var a, b bytes.Buffer
	if err := X3DH(&a, 1); err != nil {
		t.Fatal(err)
	}
	if err := X3DH(&b, 2); err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("seeds 1 and 2 print the same walk-through")
	}
}

// TestOutputRules checks the rules of ui.go that a golden file cannot:
// ASCII only, no trailing spaces, a final newline, the title line first.
func TestOutputRules(t *testing.T) {
	for _, r := range goldenRuns() {
		var out bytes.Buffer
		if err := r.lab.Run(&out, r.o); err != nil {
			t.Fatal(err)
		}
		b := out.Bytes()
		want := fmt.Sprintf("blindpost lab %s (seed %d)\n", r.lab.Name, r.o.Seed)
		if strings.HasPrefix(r.file, "attack-") {
			want = fmt.Sprintf("blindpost lab attack %s (seed %d)\n", r.lab.Name, r.o.Seed)
		}
		if !bytes.HasPrefix(b, []byte(want)) {
			t.Errorf("%s: first line is not %q", r.file, want)
		}
		for i, line := range bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n")) {
			if bytes.HasSuffix(line, []byte(" ")) {
				t.Errorf("%s:%d: trailing space", r.file, i+1)
			}
			for _, c := range line {
				if c >= 0x80 || (c < 0x20 && c != '\t') {
					t.Errorf("%s:%d: byte 0x%02x is not printable ASCII", r.file, i+1, c)
					break
				}
			}
		}
		if !bytes.HasSuffix(b, []byte("\n")) {
			t.Errorf("%s: no final newline", r.file)
		}
	}
}

func firstDiffLine(a, b []byte) int {
	la, lb := bytes.Split(a, []byte("\n")), bytes.Split(b, []byte("\n"))
	for i := range min(len(la), len(lb)) {
		if !bytes.Equal(la[i], lb[i]) {
			return i + 1
		}
	}
	return min(len(la), len(lb)) + 1
}
