// Package interop_test pairs blindpost's interop peer with independent
// Signal-protocol implementations (libsignal 0.72.1, 0.90.0 and 0.103.0
// through node, go.mau.fi/libsignal through the gomau peer) and with itself, and
// runs every referee scenario in both directions, in each mode for the
// pairings listed in matrix.
//
//	go test ./interop -run TestInterop -v [-seed N] [-mode v3|v4] [-names plain|uuid]
//
// Missing prerequisites (node, `npm ci` in interop/node, interop/node-0.90
// or interop/node-current) skip the pairings that need them, unless
// BLINDPOST_INTEROP_REQUIRED=1.
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
	seedFlag  = flag.Uint64("seed", 0, "seed of the referee's random choices (default: $BLINDPOST_INTEROP_SEED or referee.DefaultSeed)")
	modeFlag  = flag.String("mode", "", "run only this mode's pairings, v3 or v4 (default: $BLINDPOST_INTEROP_MODE, or both)")
	namesFlag = flag.String("names", "", "party names, plain or uuid (default: $BLINDPOST_INTEROP_NAMES, or plain in v3 and uuid in v4)")
)

// options reads the seed, the naming and the modes to run from the flags,
// then the environment.
func options(t *testing.T) (referee.Options, []referee.Mode) {
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
	names, err := referee.ParseNaming(cmp.Or(*namesFlag, os.Getenv("BLINDPOST_INTEROP_NAMES")))
	if err != nil {
		t.Fatal(err)
	}
	modes := []referee.Mode{referee.ModeV3, referee.ModeV4}
	if mode := cmp.Or(*modeFlag, os.Getenv("BLINDPOST_INTEROP_MODE")); mode != "" {
		m, err := referee.ParseMode(mode)
		if err != nil {
			t.Fatal(err)
		}
		modes = []referee.Mode{m}
	}
	return referee.Options{Names: names, Seed: seed}, modes
}

// matrix lists the pairings run in each mode, in order. blindpost against
// each implementation is the point; the pairings without blindpost check
// the referee itself and show which failures are the references' own.
var matrix = [...]struct {
	mode     referee.Mode
	pairings [][2]string
}{
	// X3DH. node-0.90 and node-current (libsignal 0.90.0 and 0.103.0) are
	// not paired: they only do PQXDH and answer every v3 bundle request
	// `unsupported` (TestPQXDHOnlyRefuseX3DH).
	{referee.ModeV3, [][2]string{
		{"blindpost", "blindpost"},
		{"blindpost", "gomau"},
		{"blindpost", "node"},
		{"node", "gomau"},
		{"node", "node"},
		{"gomau", "gomau"},
	}},
	// PQXDH with SPQR, UUID names; the alternating scenario runs long
	// enough to cross 20 SPQR epochs. "blindpost" offers SPQR (minimum
	// V0): it runs SPQR with node-current (0.103.0) and itself, and falls
	// back to none with node (0.72.1, PQXDH without SPQR). "blindpost-pq"
	// requires SPQR (minimum V1) as blindpost's clients do, and uses SPQR
	// keys from the first message, as 0.103.0 does. node-current×node
	// cannot work: 0.72.1 has no SPQR, which 0.103.0 requires (a known
	// incompatibility, defects.go). node-0.90 (0.90.0) offers SPQR as
	// "blindpost" does: it runs SPQR with both blindposts and node-current,
	// and negotiates down to none with node, libsignal's own fallback;
	// checkSPQR holds every pairing to what its two sides speak. gomau
	// has no PQXDH; node×node in v4 adds nothing the pairs with blindpost
	// and node-current do not cover.
	{referee.ModeV4, [][2]string{
		{"blindpost", "blindpost"},
		{"blindpost", "node"},
		{"blindpost", "node-current"},
		{"blindpost-pq", "node-current"},
		{"blindpost-pq", "blindpost"},
		{"node-current", "node-current"},
		{"node-current", "node"},
		{"node-0.90", "blindpost"},
		{"node-0.90", "blindpost-pq"},
		{"node-0.90", "node"},
		{"node-0.90", "node-current"},
	}},
}

// sendsAddresses lists the implementations that put the addresses field
// (SignalMessage field 6) in every type-3 message of a version-4 session
// they send when both parties have UUID names: libsignal >= 0.91 (0.103.0
// sends it there only; 0.90.0 never does), and blindpost, which does the
// same.
var sendsAddresses = map[string]bool{"node-current": true, "blindpost": true, "blindpost-pq": true}

// spqrSupport is how an implementation runs SPQR in a version-4 session.
type spqrSupport int

const (
	// spqrNone: no SPQR; sends no SPQR data, ignores what it receives.
	spqrNone spqrSupport = iota
	// spqrOffered: SPQR minimum version V0. Sends SPQR data until the
	// peer's first message arrives, and goes on with SPQR only if that
	// message carried some.
	spqrOffered
	// spqrRequired: minimum version V1; SPQR data in every message, and
	// a peer that sends none cannot get a message through.
	spqrRequired
)

// spqrOf is each version-4 implementation's SPQR: libsignal 0.72.1 has
// none, 0.90.0 offers it (as libsignal does up to 0.91), 0.103.0 requires it
// (since 0.92); blindpost's peer does either, by its --spqr flag.
var spqrOf = map[string]spqrSupport{
	"blindpost":    spqrOffered,
	"blindpost-pq": spqrRequired,
	"node":         spqrNone,
	"node-0.90":    spqrOffered,
	"node-current": spqrRequired,
}

// collected gathers results from parallel subtests in a fixed order.
type collected struct {
	mu      sync.Mutex
	results []ordered
}

type ordered struct {
	key [4]int // mode, pairing, scenario, direction
	res referee.Result
}

func (c *collected) add(key [4]int, r referee.Result) {
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
	base, modes := options(t)
	peers := locatePeers(t, t.TempDir())
	var all collected
	t.Cleanup(func() { logSummary(t, base, all.sorted()) })
	for mi, m := range matrix {
		if !slices.Contains(modes, m.mode) {
			continue
		}
		opts := base
		opts.Mode = m.mode
		t.Run(string(m.mode), func(t *testing.T) {
			for pi, names := range m.pairings {
				a, b := peers[names[0]], peers[names[1]]
				t.Run(names[0]+"_x_"+names[1], func(t *testing.T) {
					need(t, a, b)
					for si, sc := range referee.Scenarios() {
						t.Run(sc.Name, func(t *testing.T) {
							for di, d := range referee.Directions(a.impl, b.impl) {
								t.Run(d.Name, func(t *testing.T) {
									t.Parallel()
									res := referee.RunScenario(t.Context(), sc, d, opts)
									all.add([4]int{mi, pi, si, di}, res)
									checkAddressed(t, res)
									checkSPQR(t, res)
									report(t, res)
								})
							}
						})
					}
				})
			}
		})
	}
}

// checkAddressed requires the implementations in sendsAddresses to have put
// the addresses field in each type-3 message of a passing run with UUID
// names. (The referee checks the field's content whenever it is present.)
func checkAddressed(t *testing.T, r referee.Result) {
	t.Helper()
	if r.Outcome != referee.OutcomePass || r.Names != referee.NamingUUID || r.Mode != referee.ModeV4 {
		return
	}
	for _, side := range []struct {
		impl string
		sent referee.Traffic
	}{{r.Initiator, r.FromInitiator}, {r.Responder, r.FromResponder}} {
		if sendsAddresses[side.impl] && side.sent.Addressed < side.sent.PreKey {
			t.Errorf("%s sent %d type-3 messages, %d of them with the addresses field, want all", side.impl, side.sent.PreKey, side.sent.Addressed)
		}
	}
}

// checkSPQR requires a passing version-4 run to show the SPQR its two
// sides negotiate, by what each sent (the referee counts the messages with
// SPQR data): when both speak SPQR, every message carries SPQR data (the
// alternating scenario also requires 20 epochs crossed); when one offers
// it and the other has none, the one offering sent SPQR data only in
// type-3 messages (before hearing from its peer), and in its first message
// when it initiated, and the other sent none. (One requiring SPQR and one
// without it cannot pass: defects.go.)
func checkSPQR(t *testing.T, r referee.Result) {
	t.Helper()
	if r.Outcome != referee.OutcomePass || r.Mode != referee.ModeV4 {
		return
	}
	type side struct {
		impl      string
		initiated bool
		sent      referee.Traffic
	}
	a := side{r.Initiator, true, r.FromInitiator}
	b := side{r.Responder, false, r.FromResponder}
	sa, oka := spqrOf[a.impl]
	sb, okb := spqrOf[b.impl]
	if !oka || !okb {
		t.Errorf("no SPQR expectation for %s or %s in spqrOf", a.impl, b.impl)
		return
	}
	switch {
	case sa != spqrNone && sb != spqrNone:
		for _, s := range []side{a, b} {
			if s.sent.SPQR != s.sent.Messages {
				t.Errorf("%s sent %d messages, %d with SPQR data, want all: both sides speak SPQR", s.impl, s.sent.Messages, s.sent.SPQR)
			}
		}
	case sa == spqrOffered || sb == spqrOffered:
		offer, none := a, b
		if sb == spqrOffered {
			offer, none = b, a
		}
		if none.sent.SPQR > 0 {
			t.Errorf("%s, which has no SPQR, sent %d messages with SPQR data", none.impl, none.sent.SPQR)
		}
		if offer.sent.SPQR > offer.sent.PreKey {
			t.Errorf("%s sent %d messages with SPQR data but only %d type-3 messages: it kept sending SPQR data after %s answered without", offer.impl, offer.sent.SPQR, offer.sent.PreKey, none.impl)
		}
		if offer.initiated && offer.sent.Messages > 0 && offer.sent.SPQR == 0 {
			t.Errorf("%s initiated and sent no SPQR data: it did not offer SPQR", offer.impl)
		}
	}
}

func report(t *testing.T, r referee.Result) {
	t.Helper()
	t.Logf("%s, %d messages in %.2fs, SPQR epochs crossed: %s (initiator %s sent %s; responder %s sent %s)",
		r.Outcome, r.Messages, r.Seconds, r.SPQRSummary(), r.Initiator, r.FromInitiator, r.Responder, r.FromResponder)
	switch r.Outcome {
	case referee.OutcomeFail:
		t.Errorf("%d messages: %s", r.Messages, r.Detail)
	case referee.OutcomeUnsupported:
		t.Skipf("unsupported: %s", r.Detail)
	default:
		if r.Detail != "" {
			t.Log(r.Detail)
		}
	}
}

func logSummary(t *testing.T, opts referee.Options, results []referee.Result) {
	var b strings.Builder
	b.WriteString("interop results (seed " + strconv.FormatUint(opts.Seed, 10) + "):\n")
	if err := referee.WriteText(&b, results); err != nil {
		t.Error(err)
	}
	b.WriteString(referee.Tally(results))
	t.Log(b.String())
}
