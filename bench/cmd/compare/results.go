package main

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/blindpost/blindpost/bench"
)

// measure is one benchmark result; cpu is the benchmark's cpu-ns/op
// metric, or 0 where it was not measured.
type measure struct {
	ns, cpu, bytes, allocs float64
}

// cell names one benchmark: a family's run of a row.
type cell struct {
	family, row string
}

// results holds every round's measures of rows.
type results struct {
	rows   []bench.Row
	rounds []map[cell]measure
}

func newResults(rows []bench.Row) *results { return &results{rows: rows} }

// addRound parses one run of the benchmark binary. It returns the "cpu:"
// line's value, if any.
func (r *results) addRound(out string) (cpu string, err error) {
	round := map[cell]measure{}
	for line := range strings.Lines(out) {
		line = strings.TrimSpace(line)
		if v, ok := strings.CutPrefix(line, "cpu: "); ok {
			cpu = v
			continue
		}
		if !strings.HasPrefix(line, "BenchmarkRows/") {
			continue
		}
		c, m, err := parseLine(line)
		if err != nil {
			return "", err
		}
		if _, dup := round[c]; dup {
			return "", fmt.Errorf("%s/%s reported twice", c.family, c.row)
		}
		round[c] = m
	}
	r.rounds = append(r.rounds, round)
	return cpu, nil
}

// parseLine parses a benchmark result line:
//
//	BenchmarkRows/<family>/<row>[-procs] <N> <ns> ns/op <b> B/op <a> allocs/op
func parseLine(line string) (cell, measure, error) {
	f := strings.Fields(line)
	if len(f) < 4 || len(f)%2 != 0 {
		return cell{}, measure{}, fmt.Errorf("unexpected benchmark line %q", line)
	}
	name := strings.TrimPrefix(f[0], "BenchmarkRows/")
	if i := strings.LastIndexByte(name, '-'); i >= 0 {
		if _, err := strconv.Atoi(name[i+1:]); err == nil {
			name = name[:i]
		}
	}
	family, row, ok := strings.Cut(name, "/")
	if !ok {
		return cell{}, measure{}, fmt.Errorf("benchmark %q is not BenchmarkRows/<family>/<row>", f[0])
	}
	var m measure
	seen := map[string]bool{}
	for i := 2; i+1 < len(f); i += 2 {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			return cell{}, measure{}, fmt.Errorf("benchmark line %q: %w", line, err)
		}
		switch f[i+1] {
		case "ns/op":
			m.ns = v
		case "B/op":
			m.bytes = v
		case "allocs/op":
			m.allocs = v
		case "cpu-ns/op":
			m.cpu = v
		default:
			continue
		}
		seen[f[i+1]] = true
	}
	if !seen["ns/op"] || !seen["B/op"] || !seen["allocs/op"] {
		return cell{}, measure{}, fmt.Errorf("benchmark line %q lacks ns/op, B/op or allocs/op (-benchmem)", line)
	}
	return cell{family, row}, m, nil
}

// complete checks that every round has every row of every family that
// runs it.
func (r *results) complete() error {
	var errs []error
	for i, round := range r.rounds {
		for _, fam := range bench.Families {
			for _, row := range r.rows {
				if _, ok := round[cell{fam, row.Name}]; !ok && row.Runs(fam) {
					errs = append(errs, fmt.Errorf("round %d: no result for %s/%s", i+1, fam, row.Name))
				}
			}
		}
	}
	return errors.Join(errs...)
}

// has reports whether c was measured: its family runs its row.
func (r *results) has(c cell) bool {
	for _, row := range r.rows {
		if row.Name == c.row {
			return row.Runs(c.family)
		}
	}
	return false
}

// values returns one quantity of a cell over the rounds.
func (r *results) values(c cell, q func(measure) float64) []float64 {
	vs := make([]float64, 0, len(r.rounds))
	for _, round := range r.rounds {
		vs = append(vs, q(round[c]))
	}
	return vs
}

func (r *results) median(c cell, q func(measure) float64) float64 {
	return median(r.values(c, q))
}

// ratio is the median of the per-round ratios num/den of a quantity, with
// their first and third quartiles.
func (r *results) ratio(num, den cell, q func(measure) float64) (med, q1, q3 float64) {
	rs := make([]float64, 0, len(r.rounds))
	for _, round := range r.rounds {
		rs = append(rs, q(round[num])/q(round[den]))
	}
	return median(rs), quantile(rs, 0.25), quantile(rs, 0.75)
}

// hasCPU reports whether every result has a cpu-ns/op metric.
func (r *results) hasCPU() bool {
	for _, round := range r.rounds {
		for _, m := range round {
			if m.cpu <= 0 {
				return false
			}
		}
	}
	return len(r.rounds) > 0
}

// spread is the largest (max - min) / median of ns/op over all cells.
func (r *results) spread() (float64, cell) {
	var worst float64
	var at cell
	for _, fam := range bench.Families {
		for _, row := range r.rows {
			c := cell{fam, row.Name}
			if !row.Runs(fam) {
				continue
			}
			vs := r.values(c, nsOf)
			if s := (slices.Max(vs) - slices.Min(vs)) / median(vs); s > worst {
				worst, at = s, c
			}
		}
	}
	return worst, at
}

func nsOf(m measure) float64     { return m.ns }
func cpuOf(m measure) float64    { return m.cpu }
func bytesOf(m measure) float64  { return m.bytes }
func allocsOf(m measure) float64 { return m.allocs }

func median(vs []float64) float64 { return quantile(vs, 0.5) }

// quantile is the q-quantile of vs, interpolating linearly between the
// closest ranks.
func quantile(vs []float64, q float64) float64 {
	s := slices.Clone(vs)
	slices.Sort(s)
	pos := q * float64(len(s)-1)
	i := int(pos)
	if i+1 >= len(s) {
		return s[len(s)-1]
	}
	return s[i] + (pos-float64(i))*(s[i+1]-s[i])
}
