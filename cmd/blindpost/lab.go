package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/blindpost/blindpost/lab"
	"github.com/blindpost/blindpost/lab/visual"
)

// runLab dispatches `blindpost lab`: a walk-through (x3dh, ratchet,
// pqxdh), an attack (`lab attack NAME`) or the visual ratchet (`lab
// serve`). The labs' output rules are at the top of lab/ui.go.
func runLab(ctx context.Context, env *environment, args []string) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		labUsage(env.stderr)
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	switch args[0] {
	case "serve":
		return runLabServe(ctx, env, args[1:])
	case "attack":
		if len(args) < 2 {
			labUsage(env.stderr)
			return errUsage
		}
		for _, l := range lab.Attacks() {
			if l.Name == args[1] {
				return runOneLab(env, "attack "+l.Name, l, args[2:])
			}
		}
		fmt.Fprintf(env.stderr, "blindpost lab attack: unknown attack %q\n\n", args[1])
		labUsage(env.stderr)
		return errUsage
	}
	for _, l := range lab.Walkthroughs() {
		if l.Name == args[0] {
			return runOneLab(env, l.Name, l, args[1:])
		}
	}
	fmt.Fprintf(env.stderr, "blindpost lab: unknown lab %q\n\n", args[0])
	labUsage(env.stderr)
	return errUsage
}

func labUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: blindpost lab NAME [--seed N]")
	fmt.Fprintln(w, "       blindpost lab attack NAME [--seed N] [--steal-after K]")
	fmt.Fprintln(w, "       blindpost lab serve [--listen 127.0.0.1:0] [--seed N]")
	fmt.Fprintln(w, "\nwalk-throughs:")
	for _, l := range lab.Walkthroughs() {
		fmt.Fprintf(w, "  %-18s %s\n", l.Name, l.Summary)
	}
	fmt.Fprintln(w, "\nattacks (blindpost lab attack NAME):")
	for _, l := range lab.Attacks() {
		fmt.Fprintf(w, "  %-18s %s\n", l.Name, l.Summary)
	}
	fmt.Fprintln(w, "\n  serve              the visual ratchet: a local web page, its URL on the first line")
	fmt.Fprintln(w, "\nThe same seed prints the same bytes on any machine. Exercises: docs/labs/README.md.")
}

// runOneLab parses a lab's flags and runs it.
func runOneLab(env *environment, name string, l lab.Lab, args []string) error {
	fs := flag.NewFlagSet("blindpost lab "+name, flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	seed := fs.Uint64("seed", lab.DefaultSeed, "the `seed` of all the lab's randomness")
	var steal *int
	if l.Steal {
		steal = fs.Int("steal-after", lab.DefaultStealAfter,
			fmt.Sprintf("the thief copies Bob's state after message `K` (1 to %d)", lab.TheftMessages-1))
	}
	fs.Usage = func() {
		fmt.Fprintf(env.stderr, "usage: blindpost lab %s [flags]\n\n%s.\n\n", name, l.Summary)
		fs.PrintDefaults()
	}
	if err := parseLabFlags(fs, args); err != nil {
		return err
	}
	o := lab.Options{Seed: *seed}
	if steal != nil {
		if *steal < 1 || *steal >= lab.TheftMessages {
			fmt.Fprintf(env.stderr, "blindpost lab %s: --steal-after must be between 1 and %d\n", name, lab.TheftMessages-1)
			return errUsage
		}
		o.StealAfter = *steal
	}
	return l.Run(env.stdout, o)
}

// parseLabFlags parses a lab's flags. A bad flag or a stray argument is a
// usage error (exit status 2): the flag package has already said why.
func parseLabFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() != 0 {
		fs.Usage()
		return errUsage
	}
	return nil
}

// runLabServe serves the visual ratchet until the context ends. The first
// line of standard output is the page's URL.
func runLabServe(ctx context.Context, env *environment, args []string) error {
	fs := flag.NewFlagSet("blindpost lab serve", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	listen := fs.String("listen", "127.0.0.1:0", "`address` to listen on (loopback by default; port 0 picks a free port)")
	seed := fs.Uint64("seed", lab.DefaultSeed, "the `seed` of the conversation drawn")
	fs.Usage = func() {
		fmt.Fprintln(env.stderr, "usage: blindpost lab serve [flags]\n\nServes the visual ratchet; prints its URL as the first line.")
		fs.PrintDefaults()
	}
	if err := parseLabFlags(fs, args); err != nil {
		return err
	}
	h, err := visual.NewHandler(*seed)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("lab serve: %w", err)
	}
	if tcp, ok := ln.Addr().(*net.TCPAddr); ok && !tcp.IP.IsLoopback() {
		fmt.Fprintf(env.stderr, "blindpost lab serve: warning: listening on %s, beyond this machine\n", ln.Addr())
	}
	fmt.Fprintf(env.stdout, "http://%s/\n", ln.Addr())
	fmt.Fprintln(env.stderr, "blindpost lab serve: open the URL above in a browser; Ctrl-C stops.")
	return serveLab(ctx, ln, h)
}

// serveLab serves h on ln until ctx ends, then shuts down.
func serveLab(ctx context.Context, ln net.Listener, h http.Handler) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("lab serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := srv.Shutdown(sctx)
	if serr := <-done; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	if err != nil {
		return fmt.Errorf("lab serve: %w", err)
	}
	return nil
}
