// Package referee pairs two interop peers and drives Signal-protocol
// conversations between them through the peer contract (PEER.md, version 1),
// handing each peer's ciphertext to the other exactly as it was produced.
//
// A peer is any process speaking the contract: blindpost's own
// (`blindpost interop peer`) or a wrapper around another implementation.
// Each scenario runs with fresh processes, once with each peer initiating.
// The referee also reads what each side sends (traffic.go): the SPQR data of
// version 4 messages, parsed strictly (spqr.go), to count the SPQR epochs a
// run crosses, and the addresses libsignal adds when parties have UUID names
// (names.go). A failure that matches the known-defect table (defects.go) is
// reported as a known defect, or a known incompatibility, rather than a
// failure.
package referee

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Mode chooses the session version the scenarios set up.
type Mode string

// Modes: v3 uses bundles without a Kyber prekey (X3DH); v4 asks for one
// (PQXDH). A peer answering `unsupported` makes a scenario unsupported.
const (
	ModeV3 Mode = "v3"
	ModeV4 Mode = "v4"
)

// ParseMode checks a mode name.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(s); m {
	case ModeV3, ModeV4:
		return m, nil
	}
	return "", fmt.Errorf("referee: unknown mode %q (want v3 or v4)", s)
}

func (m Mode) version() int {
	if m == ModeV4 {
		return 4
	}
	return 3
}

// DefaultSeed is the seed of the referee's random choices unless told otherwise.
const DefaultSeed = 20240229

// Options tune a run. The zero value is mode v3, plain names,
// DefaultTimeout per request, seed 0 and the known-defect table.
type Options struct {
	Mode    Mode
	Names   Naming // NamingByMode: plain in v3, UUIDs in v4
	Seed    uint64
	Timeout time.Duration
	Defects []Defect // nil means KnownDefects()
}

func (o Options) mode() Mode {
	if o.Mode == "" {
		return ModeV3
	}
	return o.Mode
}

func (o Options) naming() Naming {
	switch {
	case o.Names != NamingByMode:
		return o.Names
	case o.mode() == ModeV4:
		return NamingUUID
	}
	return NamingPlain
}

func (o Options) defects() []Defect {
	if o.Defects == nil {
		return KnownDefects()
	}
	return o.Defects
}

// Direction is one way round of a pairing: who initiates.
type Direction struct {
	Name      string // "node_initiates"; "a_initiates" or "b_initiates" when both are one implementation
	Initiator Impl
	Responder Impl
}

// Directions returns both directions of the pairing a×b: a initiating, then b.
func Directions(a, b Impl) []Direction {
	an, bn := a.Name+"_initiates", b.Name+"_initiates"
	if a.Name == b.Name {
		an, bn = "a_initiates", "b_initiates"
	}
	return []Direction{{an, a, b}, {bn, b, a}}
}

// RunScenario runs one scenario in one direction with fresh peer processes.
func RunScenario(ctx context.Context, sc Scenario, d Direction, opts Options) Result {
	start := time.Now()
	r := newRun(ctx, sc.Name, d, opts)
	err := sc.run(r, d)
	if ferr := r.finish(err); err == nil {
		err = ferr
	}
	err = errors.Join(append(r.soft, err)...)
	addRunRoles(err, d)
	res := Result{
		Scenario:      sc.Name,
		Mode:          opts.mode(),
		Names:         opts.naming(),
		Direction:     d.Name,
		Initiator:     d.Initiator.Name,
		Responder:     d.Responder.Name,
		Messages:      r.messages,
		Seconds:       time.Since(start).Seconds(),
		FromInitiator: r.fromInitiator,
		FromResponder: r.fromResponder,
		EpochsCrossed: EpochsCrossed(r.fromInitiator, r.fromResponder),
	}
	classify(&res, err, opts.defects())
	return res
}

// Run runs the scenarios (all of them if none are given) for the pairing
// a×b in both directions.
func Run(ctx context.Context, a, b Impl, scenarios []Scenario, opts Options) []Result {
	if len(scenarios) == 0 {
		scenarios = Scenarios()
	}
	var results []Result
	for _, sc := range scenarios {
		for _, d := range Directions(a, b) {
			results = append(results, RunScenario(ctx, sc, d, opts))
		}
	}
	return results
}
