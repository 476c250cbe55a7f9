package main

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/blindpost/blindpost/bench"
)

// writeReport writes the Markdown tables: times and ratios, then memory.
func writeReport(w io.Writer, r *results, env environment, cmd string) {
	fmt.Fprintf(w, "Measured %s with `%s` (%s, %s, %s): medians of %d rounds, each running every benchmark once with -benchtime %s; a row's three families run back to back.\n\n",
		env.date.Format("2006-01-02"), cmd, env.goVersion, env.platform, cpuName(env.cpu), env.count, env.benchtime)

	fmt.Fprintf(w, "| row | blindpost ns/op | gomau ns/op | floor ns/op | blindpost allocs/op | blindpost / gomau (target ≤ %.2f) | blindpost / floor (target ≤ %.2f) |\n",
		targetVsGomau, targetVsFloor)
	fmt.Fprintln(w, "|---|--:|--:|--:|--:|--:|--:|")
	for _, row := range r.rows {
		bp, gm, fl := cell{"blindpost", row.Name}, cell{"gomau", row.Name}, cell{"floor", row.Name}
		floorTarget := targetVsFloor
		if !row.FloorTarget {
			floorTarget = math.NaN()
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s |\n", row.Name,
			medianCell(r, bp, nsOf), medianCell(r, gm, nsOf), medianCell(r, fl, nsOf),
			medianCell(r, bp, allocsOf),
			ratioCell(r, bp, gm, nsOf, targetVsGomau), ratioCell(r, bp, fl, nsOf, floorTarget))
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Ratios are medians of the per-round ratios, with their interquartile range in parentheses; ✓ target met, ✗ missed. The floor target applies to the encrypt+decrypt rows only. n/a: the family has no equivalent of the row (go.mau.fi/libsignal has no PQXDH or SPQR; the floor has no SPQR).")
	fmt.Fprintln(w)
	if r.hasCPU() {
		writeCPUTable(w, r)
	}

	fmt.Fprintln(w, "| row | blindpost B/op | blindpost allocs/op | gomau B/op | gomau allocs/op | floor B/op | floor allocs/op |")
	fmt.Fprintln(w, "|---|--:|--:|--:|--:|--:|--:|")
	for _, row := range r.rows {
		fmt.Fprintf(w, "| %s", row.Name)
		for _, fam := range bench.Families {
			c := cell{fam, row.Name}
			fmt.Fprintf(w, " | %s | %s", medianCell(r, c, bytesOf), medianCell(r, c, allocsOf))
		}
		fmt.Fprintln(w, " |")
	}
	fmt.Fprintln(w)
	s, at := r.spread()
	fmt.Fprintf(w, "Largest round-to-round spread of ns/op ((max − min) / median): %.0f%% (%s/%s).\n", 100*s, at.family, at.row)
}

// writeCPUTable writes the process CPU time per op and the ratios on it.
func writeCPUTable(w io.Writer, r *results) {
	fmt.Fprintln(w, "The same on process CPU time (cpu-ns/op: user and system time of all threads over the timed part, so the garbage collector's background work counts and waiting for a CPU does not):")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| row | blindpost cpu-ns/op | gomau cpu-ns/op | floor cpu-ns/op | blindpost / gomau | blindpost / floor |")
	fmt.Fprintln(w, "|---|--:|--:|--:|--:|--:|")
	for _, row := range r.rows {
		bp, gm, fl := cell{"blindpost", row.Name}, cell{"gomau", row.Name}, cell{"floor", row.Name}
		floorTarget := targetVsFloor
		if !row.FloorTarget {
			floorTarget = math.NaN()
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", row.Name,
			medianCell(r, bp, cpuOf), medianCell(r, gm, cpuOf), medianCell(r, fl, cpuOf),
			ratioCell(r, bp, gm, cpuOf, targetVsGomau), ratioCell(r, bp, fl, cpuOf, floorTarget))
	}
	fmt.Fprintln(w)
}

// notApplicable stands in a cell whose family does not run the row.
const notApplicable = "n/a"

// medianCell formats the median of a quantity of c, or n/a.
func medianCell(r *results, c cell, q func(measure) float64) string {
	if !r.has(c) {
		return notApplicable
	}
	return grouped(r.median(c, q))
}

// ratioCell formats the ratio num/den of a quantity with its interquartile
// range and whether it meets target (none when target is NaN); n/a when
// either side was not measured: a ratio to another row would be invented.
func ratioCell(r *results, num, den cell, q func(measure) float64, target float64) string {
	if !r.has(num) || !r.has(den) {
		return notApplicable
	}
	med, lo, hi := r.ratio(num, den, q)
	s := fmt.Sprintf("%.2f (%.2f–%.2f)", med, lo, hi)
	switch {
	case math.IsNaN(target):
		return s
	case med <= target:
		return s + " ✓"
	default:
		return s + " ✗"
	}
}

// grouped formats a non-negative number rounded to an integer, with
// thousands separated by commas.
func grouped(v float64) string {
	s := strconv.FormatInt(int64(math.Round(v)), 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func cpuName(cpu string) string {
	if cpu == "" {
		return "cpu unknown"
	}
	return cpu
}
