// Package interop_test pairs blindpost's interop peer with independent
// Signal-protocol implementations (libsignal through node, go.mau.fi/libsignal
// through the gomau peer) and with itself, and runs every referee scenario
// in both directions.
//
//	go test ./interop -run TestInterop -v [-seed N] [-mode v3|v4]
//
// Missing prerequisites (node, `npm ci` in interop/node) skip the pairings
// that need them, unless BLINDPOST_INTEROP_REQUIRED=1.
package interop_test

import (
	"cmp"
	"flag"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/blindpost/blindpost/interop/referee"
)

var (
	seedFlag = flag.Uint64("seed", 0, "seed of the referee's random choices (default: $BLINDPOST_INTEROP_SEED or referee.DefaultSeed)")
	modeFlag = flag.String("mode", "", "session version to set up, v3 or v4 (default: $BLINDPOST_INTEROP_MODE or v3)")
)

// options reads the seed and mode from the flags, then the environment.
func options(t *testing.T) referee.Options {
	t.Helper()
	seed := uint64(referee.DefaultSeed)
	if s := os.Getenv("BLINDPOST_INTEROP_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("BLINDPOST_INTEROP_SEED: %v", err)
		}
		seed = n
	}
	if *seedFlag != 0 {
		seed = *seedFlag
	}
	mode := cmp.Or(*modeFlag, os.Getenv("BLINDPOST_INTEROP_MODE"), string(referee.ModeV3))
	m, err := referee.ParseMode(mode)
	if err != nil {
		t.Fatal(err)
	}
	return referee.Options{Mode: m, Seed: seed}
}

// pairings are run in this order. blindpost against each implementation is
// the point; the pairings without blindpost check the referee itself and
// show which failures are the references' own.
var pairings = [...][2]string{
	{"blindpost", "blindpost"},
	{"blindpost", "gomau"},
	{"blindpost", "node"},
	{"node", "gomau"},
	{"node", "node"},
	{"gomau", "gomau"},
}

// collected gathers results from parallel subtests in a fixed order.
type collected struct {
	mu      sync.Mutex
	results []ordered
}

type ordered struct {
	key [3]int // pairing, scenario, direction
	res referee.Result
}

func (c *collected) add(key [3]int, r referee.Result) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.results = append(c.results, ordered{key, r})
}

func (c *collected) sorted() []referee.Result {
	c.mu.Lock()
	defer c.mu.Unlock()
	slices.SortFunc(c.results, func(a, b ordered) int { return slices.Compare(a.key[:], b.key[:]) })
	out := make([]referee.Result, len(c.results))
	for i, o := range c.results {
		out[i] = o.res
	}
	return out
}

func TestInterop(t *testing.T) {
	opts := options(t)
	peers := locatePeers(t, t.TempDir())
	var all collected
	t.Cleanup(func() { logSummary(t, opts, all.sorted()) })
	for pi, names := range pairings {
		a, b := peers[names[0]], peers[names[1]]
		t.Run(names[0]+"_x_"+names[1], func(t *testing.T) {
			need(t, a, b)
			for si, sc := range referee.Scenarios() {
				t.Run(sc.Name, func(t *testing.T) {
					for di, d := range referee.Directions(a.impl, b.impl) {
						t.Run(d.Name, func(t *testing.T) {
							t.Parallel()
							res := referee.RunScenario(t.Context(), sc, d, opts)
							all.add([3]int{pi, si, di}, res)
							report(t, res)
						})
					}
				})
			}
		})
	}
}

func report(t *testing.T, r referee.Result) {
	t.Helper()
	switch r.Outcome {
	case referee.OutcomeFail:
		t.Errorf("%d messages: %s", r.Messages, r.Detail)
	case referee.OutcomeUnsupported:
		t.Skipf("unsupported: %s", r.Detail)
	case referee.OutcomeKnownDefect:
		t.Log(r.Detail)
	default:
		if r.Detail != "" {
			t.Log(r.Detail)
		}
	}
}

func logSummary(t *testing.T, opts referee.Options, results []referee.Result) {
	var b strings.Builder
	b.WriteString("interop results (mode " + string(opts.Mode) + ", seed " + strconv.FormatUint(opts.Seed, 10) + "):\n")
	if err := referee.WriteText(&b, results); err != nil {
		t.Error(err)
	}
	b.WriteString(referee.Tally(results))
	t.Log(b.String())
}
