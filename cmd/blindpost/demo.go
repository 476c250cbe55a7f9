package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/blindpost/blindpost/demo"
)

// runDemo is `blindpost demo [--escrow|--ghost]`: a conversation through an
// embedded relay, then the provider's view of it.
func runDemo(ctx context.Context, env *environment, args []string) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	escrowMode := fs.Bool("escrow", false, "INSECURE variant: clients also encrypt each message key to a provider-held escrow key")
	ghostMode := fs.Bool("ghost", false, "variant: the relay silently hands out its own key for Bob (a \"ghost\"), before and after verification")
	dir := fs.String("dir", "", "keep the relay's data, log and profiles in this `directory` (default: a temporary folder, removed)")
	fs.Usage = func() {
		fmt.Fprintln(env.stderr, "usage: blindpost demo [--escrow | --ghost] [--dir DIR]\n\nAlice and Bob talk through an embedded relay; then the demo becomes the provider.\n\nflags:")
		fs.PrintDefaults()
	}
	if err := parseClientFlags(fs, env, args); err != nil {
		return err
	}
	if *escrowMode && *ghostMode {
		fmt.Fprintln(env.stderr, "blindpost demo: choose one of --escrow and --ghost")
		return errUsage
	}
	mode := demo.Normal
	switch {
	case *escrowMode:
		mode = demo.Escrow
	case *ghostMode:
		mode = demo.Ghost
	}
	_, err := demo.Run(ctx, demo.Options{Mode: mode, Out: env.stdout, Dir: *dir, Keep: *dir != ""})
	return err
}
