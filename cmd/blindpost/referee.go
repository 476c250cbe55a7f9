package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/blindpost/blindpost/interop/referee"
)

// runReferee implements
//
//	blindpost interop referee --a "CMD ARGS" --b "CMD ARGS" [--mode v3|v4]
//	    [--names plain|uuid] [--scenario NAME] [--seed N] [--format text|json]
//
// It runs every scenario (or one) for the pairing A×B in both directions and
// prints the results to standard output; a summary line goes to standard
// error. It fails if any run failed unexpectedly.
func runReferee(ctx context.Context, env *environment, args []string) error {
	fs := flag.NewFlagSet("blindpost interop referee", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	a := fs.String("a", "", "command line of peer A (split on spaces)")
	b := fs.String("b", "", "command line of peer B (split on spaces)")
	aName := fs.String("a-name", "", "implementation name of A for the defect table (default: from the command)")
	bName := fs.String("b-name", "", "implementation name of B (default: from the command)")
	mode := fs.String("mode", string(referee.ModeV3), "session version to set up: v3 or v4")
	names := fs.String("names", "", "party names: plain or uuid (default: plain in v3, uuid in v4)")
	scenario := fs.String("scenario", "", "run only this scenario (default: all)")
	seed := fs.Uint64("seed", referee.DefaultSeed, "seed of the referee's random choices")
	format := fs.String("format", "text", "output format: text or json")
	timeout := fs.Duration("timeout", referee.DefaultTimeout, "limit on each request to a peer")
	fs.Usage = func() { refereeUsage(fs) }
	if err := fs.Parse(args); err != nil {
		return err
	}
	opts, scenarios, err := refereeOptions(*mode, *names, *scenario, *format, *seed)
	if err != nil {
		fmt.Fprintf(env.stderr, "blindpost interop referee: %v\n", err)
		return errUsage
	}
	opts.Timeout = *timeout
	implA, errA := refereeImpl(*a, *aName, "a")
	implB, errB := refereeImpl(*b, *bName, "b")
	if err := errors.Join(errA, errB); err != nil || fs.NArg() > 0 {
		fmt.Fprintf(env.stderr, "blindpost interop referee: %v\n", errors.Join(err, extraArgs(fs.Args())))
		return errUsage
	}
	results := referee.Run(ctx, implA, implB, scenarios, opts)
	if err := writeResults(env, *format, results); err != nil {
		return err
	}
	fmt.Fprintln(env.stderr, referee.Tally(results))
	if referee.Failed(results) {
		// A plain error: main prints it and exits 1.
		return errors.New("interop referee: unexpected failures")
	}
	return nil
}

func refereeUsage(fs *flag.FlagSet) {
	w := fs.Output()
	fmt.Fprintln(w, `usage: blindpost interop referee --a "CMD ARGS" --b "CMD ARGS" [--mode v3|v4] [--names plain|uuid] [--scenario NAME] [--seed N] [--format text|json]`)
	fmt.Fprintln(w)
	fs.PrintDefaults()
	fmt.Fprintln(w)
	fmt.Fprintln(w, "scenarios:")
	for _, s := range referee.Scenarios() {
		fmt.Fprintf(w, "  %-24s %s\n", s.Name, s.Summary)
	}
}

func refereeOptions(mode, names, scenario, format string, seed uint64) (referee.Options, []referee.Scenario, error) {
	m, err := referee.ParseMode(mode)
	if err != nil {
		return referee.Options{}, nil, err
	}
	n, err := referee.ParseNaming(names)
	if err != nil {
		return referee.Options{}, nil, err
	}
	if format != "text" && format != "json" {
		return referee.Options{}, nil, fmt.Errorf("unknown format %q (want text or json)", format)
	}
	var scenarios []referee.Scenario
	if scenario != "" {
		sc, ok := referee.LookupScenario(scenario)
		if !ok {
			return referee.Options{}, nil, fmt.Errorf("unknown scenario %q", scenario)
		}
		scenarios = append(scenarios, sc)
	}
	return referee.Options{Mode: m, Names: n, Seed: seed}, scenarios, nil
}

// refereeImpl turns a command line into a peer implementation. Its name is
// the command's base name without a "-peer" suffix ("gomau-peer" is gomau),
// unless given.
func refereeImpl(cmdline, name, flagName string) (referee.Impl, error) {
	argv := strings.Fields(cmdline)
	if len(argv) == 0 {
		return referee.Impl{}, fmt.Errorf("--%s is required", flagName)
	}
	if name == "" {
		name = strings.TrimSuffix(filepath.Base(argv[0]), "-peer")
	}
	return referee.Impl{Name: name, Argv: argv}, nil
}

func extraArgs(args []string) error {
	if len(args) == 0 {
		return nil
	}
	return fmt.Errorf("unexpected arguments %q", args)
}

func writeResults(env *environment, format string, results []referee.Result) error {
	if format == "json" {
		return referee.WriteJSON(env.stdout, results)
	}
	return referee.WriteText(env.stdout, results)
}
