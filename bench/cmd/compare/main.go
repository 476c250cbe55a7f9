// Command compare runs BenchmarkRows of github.com/blindpost/blindpost/bench
// and prints, as Markdown, blindpost's time per row next to
// go.mau.fi/libsignal's and the primitive floor's, with the ratios the
// performance targets are stated in ("n/a" where a family has no
// equivalent of a row: go.mau.fi/libsignal has no PQXDH or SPQR, the floor
// no SPQR).
//
//	cd bench && go run ./cmd/compare [-count 15] [-benchtime 200ms] [-rows REGEXP] [-update ../docs/performance.md]
//
// It builds the benchmark binary once and runs -count rounds. A round runs
// every row once on each family, the three families of a row one after the
// other (in an order that rotates from round to round), each in its own
// process. Times are medians over the rounds; a ratio is the median of the
// per-round ratios, since the two sides of a per-round ratio were measured
// seconds apart and share the machine's drift; the range after it is the
// interquartile range of the per-round ratios.
//
// Output rules: the table goes to standard output (or into the file named
// by -update, between the markers `<!-- compare:begin -->` and
// `<!-- compare:end -->`); progress and errors go to standard error.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/blindpost/blindpost/bench"
)

// Performance targets (the performance issue).
const (
	// targetVsGomau: blindpost at least 2x faster than go.mau.fi/libsignal.
	targetVsGomau = 0.5
	// targetVsFloor: encrypt+decrypt within 1.3x of the primitive floor.
	targetVsFloor = 1.3
)

const (
	benchPackage = "github.com/blindpost/blindpost/bench"
	beginMarker  = "<!-- compare:begin -->"
	endMarker    = "<!-- compare:end -->"
)

func main() {
	count := flag.Int("count", 15, "rounds; every number is the median over them")
	benchtime := flag.String("benchtime", "200ms", "go test -benchtime of each benchmark in each round")
	update := flag.String("update", "", "write the table into this Markdown file, between the compare markers")
	rowsFlag := flag.String("rows", "", "run only the rows whose name matches this regular expression")
	flag.Parse()
	if *count < 1 {
		fatalf("-count must be at least 1")
	}
	rows, err := selectRows(*rowsFlag)
	if err != nil {
		fatalf("%v", err)
	}
	if *update != "" && len(rows) != len(bench.Rows) {
		fatalf("-update needs every row; drop -rows")
	}
	res, env, err := run(rows, *count, *benchtime, os.Stderr)
	if err != nil {
		fatalf("%v", err)
	}
	cmd := "cd bench && go run ./cmd/compare -count " + fmt.Sprint(*count) + " -benchtime " + *benchtime
	if *rowsFlag != "" {
		cmd += " -rows '" + *rowsFlag + "'"
	}
	if *update != "" {
		cmd += " -update " + *update
	}
	var out bytes.Buffer
	writeReport(&out, res, env, cmd)
	if *update == "" {
		os.Stdout.Write(out.Bytes())
		return
	}
	if err := updateFile(*update, out.Bytes()); err != nil {
		fatalf("%v", err)
	}
	fmt.Fprintf(os.Stderr, "compare: wrote the table into %s\n", *update)
}

// selectRows returns the rows whose name matches expr (all for "").
func selectRows(expr string) ([]bench.Row, error) {
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, fmt.Errorf("-rows: %w", err)
	}
	var rows []bench.Row
	for _, r := range bench.Rows {
		if re.MatchString(r.Name) {
			rows = append(rows, r)
		}
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("-rows %q matches no row", expr)
	}
	return rows, nil
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "compare: "+format+"\n", args...)
	os.Exit(1)
}

// environment describes where the numbers were measured.
type environment struct {
	date      time.Time
	goVersion string
	platform  string
	cpu       string
	count     int
	benchtime string
}

// run builds the benchmark binary and runs count rounds of rows.
func run(rows []bench.Row, count int, benchtime string, progress io.Writer) (*results, environment, error) {
	env := environment{date: time.Now().UTC(), count: count, benchtime: benchtime}
	dir, err := moduleDir()
	if err != nil {
		return nil, env, err
	}
	tmp, err := os.MkdirTemp("", "blindpost-compare-")
	if err != nil {
		return nil, env, err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "bench.test")
	fmt.Fprintf(progress, "compare: building %s\n", benchPackage)
	if out, err := command(dir, "go", "test", "-c", "-o", bin, benchPackage); err != nil {
		return nil, env, fmt.Errorf("build: %w\n%s", err, out)
	}
	if env.goVersion, err = command(dir, "go", "env", "GOVERSION"); err != nil {
		return nil, env, fmt.Errorf("go env: %w", err)
	}
	platform, err := command(dir, "go", "env", "GOOS", "GOARCH")
	if err != nil {
		return nil, env, fmt.Errorf("go env: %w", err)
	}
	env.platform = strings.Join(strings.Fields(platform), "/")

	res := newResults(rows)
	for round := range count {
		fmt.Fprintf(progress, "compare: round %d of %d\n", round+1, count)
		var out strings.Builder
		for _, row := range rows {
			for i := range bench.Families {
				// Rotate the families' order from round to round, so that
				// none is always measured first.
				fam := bench.Families[(i+round)%len(bench.Families)]
				if !row.Runs(fam) {
					continue
				}
				o, err := command(dir, bin, "-test.run", "^$",
					"-test.bench", "^BenchmarkRows$/^"+fam+"$/^"+row.Name+"$",
					"-test.benchmem", "-test.benchtime", benchtime, "-test.count", "1")
				if err != nil {
					return nil, env, fmt.Errorf("round %d: %s/%s: %w\n%s", round+1, fam, row.Name, err, o)
				}
				out.WriteString(o + "\n")
			}
		}
		cpu, err := res.addRound(out.String())
		if err != nil {
			return nil, env, fmt.Errorf("round %d: %w", round+1, err)
		}
		if cpu != "" {
			env.cpu = cpu
		}
	}
	return res, env, res.complete()
}

// moduleDir is the directory of the bench module's go.mod.
func moduleDir() (string, error) {
	gomod, err := command("", "go", "env", "GOMOD")
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	if !strings.HasSuffix(filepath.ToSlash(gomod), "/bench/go.mod") {
		return "", fmt.Errorf("run me inside the bench module (cd bench), not with go.mod %q", gomod)
	}
	return filepath.Dir(gomod), nil
}

// command runs name with args in dir and returns its trimmed standard
// output; on failure the output includes standard error.
func command(dir, name string, args ...string) (string, error) {
	c := exec.Command(name, args...)
	c.Dir = dir
	var stdout, stderr bytes.Buffer
	c.Stdout, c.Stderr = &stdout, &stderr
	err := c.Run()
	if err != nil {
		return strings.TrimSpace(stdout.String() + "\n" + stderr.String()), err
	}
	return strings.TrimSpace(stdout.String()), nil
}

// updateFile replaces what lies between the markers in path by report.
func updateFile(path string, report []byte) error {
	doc, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	begin := bytes.Index(doc, []byte(beginMarker))
	end := bytes.Index(doc, []byte(endMarker))
	if begin < 0 || end < begin {
		return fmt.Errorf("%s has no %s ... %s section", path, beginMarker, endMarker)
	}
	var b bytes.Buffer
	b.Write(doc[:begin+len(beginMarker)])
	b.WriteString("\n")
	b.Write(report)
	b.Write(doc[end:])
	return os.WriteFile(path, b.Bytes(), 0o644)
}
