package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/blindpost/blindpost/relay/store"
	"github.com/blindpost/blindpost/relay/warrant"
)

// runWarrant is `blindpost warrant --data DIR --account NAME`: everything a
// relay's data folder holds about one account, as its operator could hand
// it over. The relay must be stopped (its database is opened read-only).
func runWarrant(ctx context.Context, env *environment, args []string) error {
	fs := flag.NewFlagSet("warrant", flag.ContinueOnError)
	data := fs.String("data", env.getenv("BLINDPOST_DATA"), "the relay's data `directory` (default: the relay's default)")
	account := fs.String("account", "", "account `name`")
	format := fs.String("format", "text", "output `format`: text or json")
	fs.Usage = func() {
		fmt.Fprintln(env.stderr, "usage: blindpost warrant --account NAME [--data DIR] [--format text|json]\n\nPrints everything the relay's database holds about one account.\n\nflags:")
		fs.PrintDefaults()
	}
	if err := parseClientFlags(fs, env, args); err != nil {
		return err
	}
	if *account == "" || (*format != "text" && *format != "json") {
		fs.Usage()
		return errUsage
	}
	dir := *data
	if dir == "" {
		var err error
		if dir, err = relayDataDir(env.getenv); err != nil {
			return err
		}
	}
	r, err := store.OpenReadOnly(dir, store.Options{LockTimeout: 2 * time.Second})
	if err != nil {
		return fmt.Errorf("warrant: %w (is the relay still running? stop it first)", err)
	}
	defer r.Close()
	rep, err := warrant.Export(ctx, r, *account, time.Now())
	if err != nil {
		return err
	}
	if *format == "json" {
		return rep.WriteJSON(env.stdout)
	}
	return rep.WriteText(env.stdout)
}
