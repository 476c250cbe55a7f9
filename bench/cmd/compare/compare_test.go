package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/blindpost/blindpost/bench"
)

// fakeRound is the output of one run in which blindpost takes ns, gomau
// 3*ns and the floor ns/2 on every row it runs.
func fakeRound(ns float64) string {
	var b strings.Builder
	b.WriteString("goos: linux\ngoarch: amd64\npkg: github.com/blindpost/blindpost/bench\ncpu: Test CPU\n")
	for _, fam := range bench.Families {
		v := map[string]float64{"blindpost": ns, "gomau": 3 * ns, "floor": ns / 2}[fam]
		for _, row := range bench.Rows {
			if !row.Runs(fam) {
				continue
			}
			fmt.Fprintf(&b, "BenchmarkRows/%s/%s-2   \t  1000\t  %.1f ns/op\t  %.1f cpu-ns/op\t  2048 B/op\t  17 allocs/op\n", fam, row.Name, v, 2*v)
		}
	}
	b.WriteString("PASS\n")
	return b.String()
}

func TestReport(t *testing.T) {
	r := newResults(bench.Rows)
	for _, ns := range []float64{1000, 1200, 1100} {
		cpu, err := r.addRound(fakeRound(ns))
		if err != nil {
			t.Fatal(err)
		}
		if cpu != "Test CPU" {
			t.Fatalf("cpu %q", cpu)
		}
	}
	if err := r.complete(); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	env := environment{date: time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC), goVersion: "go1.26.8", platform: "linux/amd64", cpu: "Test CPU", count: 3, benchtime: "1s"}
	writeReport(&out, r, env, "cmd")
	s := out.String()
	for _, want := range []string{
		"| oneway_100B | 1,100 | 3,300 | 550 | 17 | 0.33 (0.33–0.33) ✓ | 2.00 (2.00–2.00) ✗ |",
		"| setup | 1,100 | 3,300 | 550 | 17 | 0.33 (0.33–0.33) ✓ | 2.00 (2.00–2.00) |",
		"| out_of_order | 2,048 | 17 | 2,048 | 17 | 2,048 | 17 |",
		"| alternating_4KiB | 2,200 | 6,600 | 1,100 | 0.33 (0.33–0.33) ✓ | 2.00 (2.00–2.00) ✗ |",
		"| setup_pqxdh | 1,100 | n/a | 550 | 17 | n/a | 2.00 (2.00–2.00) |",
		"| alternating_100B_spqr | 1,100 | n/a | n/a | 17 | n/a | n/a |",
		"| oneway_100B_spqr | 2,048 | 17 | n/a | n/a | n/a | n/a |",
		"| setup_pqxdh | 2,200 | n/a | 1,100 | n/a | 2.00 (2.00–2.00) |",
		"Measured 2026-01-02 with `cmd` (go1.26.8, linux/amd64, Test CPU): medians of 3 rounds",
		"spread of ns/op ((max − min) / median): 18%",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("report lacks %q:\n%s", want, s)
		}
	}
}

func TestParseLine(t *testing.T) {
	c, m, err := parseLine("BenchmarkRows/gomau/oneway_4KiB-16 \t 1765\t 395553 ns/op\t 113673 B/op\t 234 allocs/op")
	if err != nil {
		t.Fatal(err)
	}
	if c != (cell{"gomau", "oneway_4KiB"}) || m != (measure{ns: 395553, bytes: 113673, allocs: 234}) {
		t.Fatalf("got %v %v", c, m)
	}
	_, m, err = parseLine("BenchmarkRows/floor/setup 500 900000 ns/op 950000 cpu-ns/op 100 B/op 2 allocs/op")
	if err != nil || m.cpu != 950000 {
		t.Fatalf("cpu-ns/op: %v %v", m, err)
	}
	if _, _, err := parseLine("BenchmarkRows/gomau/oneway_4KiB 1765 395553 ns/op"); err == nil {
		t.Fatal("a line without -benchmem columns parsed")
	}
}

func TestIncompleteRound(t *testing.T) {
	r := newResults(bench.Rows)
	if _, err := r.addRound(strings.Join(strings.Split(fakeRound(1000), "\n")[:6], "\n")); err != nil {
		t.Fatal(err)
	}
	if r.complete() == nil {
		t.Fatal("a round with missing rows counted as complete")
	}
}

func TestUpdateFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "perf.md")
	doc := "# Perf\n\n" + beginMarker + "\nold table\n" + endMarker + "\n\nnotes\n"
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := updateFile(path, []byte("new table\n")); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := "# Perf\n\n" + beginMarker + "\nnew table\n" + endMarker + "\n\nnotes\n"
	if string(got) != want {
		t.Fatalf("got:\n%s\nwant:\n%s", got, want)
	}
}
