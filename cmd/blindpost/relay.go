package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/blindpost/blindpost/relay"
)

// relayEnvPrefix prefixes the environment variable of each relay flag:
// --queue-cap is BLINDPOST_QUEUE_CAP. A flag on the command line wins.
const relayEnvPrefix = "BLINDPOST_"

// runRelay runs `blindpost relay`: the blind relay, until SIGINT or
// SIGTERM. Its first line of standard output is the URL it serves; logs
// go to standard error.
func runRelay(ctx context.Context, env *environment, args []string) error {
	fs := flag.NewFlagSet("blindpost relay", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	d := relay.DefaultLimits()
	var (
		listen   = fs.String("listen", "127.0.0.1:7420", "`address` to listen on (loopback by default; use port 0 for any free port)")
		data     = fs.String("data", "", "`directory` of the relay's database (default $XDG_DATA_HOME/blindpost/relay, else the user config dir)")
		logLevel = fs.String("log-level", "info", "log `level`: debug, info, warn or error")
		drain    = fs.Duration("shutdown-timeout", 10*time.Second, "how long to drain connections on SIGINT/SIGTERM")
		l        relay.Limits
	)
	fs.IntVar(&l.MaxContentSize, "max-content", d.MaxContentSize, "largest message content in `bytes`")
	fs.Int64Var(&l.MaxFrameSize, "max-frame", d.MaxFrameSize, "largest websocket frame in `bytes`")
	fs.IntVar(&l.QueueCap, "queue-cap", d.QueueCap, "most envelopes queued for one device")
	fs.DurationVar(&l.QueueTTL, "queue-ttl", d.QueueTTL, "how long an undelivered envelope is kept")
	fs.IntVar(&l.MaxPreKeysPerUpload, "max-prekeys", d.MaxPreKeysPerUpload, "most one-time prekeys of each kind in one upload")
	fs.IntVar(&l.BundleFetches, "bundle-fetches", d.BundleFetches, "bundle fetches allowed per window for each requester and target")
	fs.DurationVar(&l.BundleWindow, "bundle-window", d.BundleWindow, "window of the bundle fetch limit")
	fs.Float64Var(&l.FrameRate, "frame-rate", d.FrameRate, "frames per second one connection may send")
	fs.IntVar(&l.FrameBurst, "frame-burst", d.FrameBurst, "burst of frames one connection may send")
	fs.IntVar(&l.MaxDevices, "max-devices", d.MaxDevices, "most devices of one account")
	fs.Usage = func() {
		fmt.Fprintln(env.stderr, "usage: blindpost relay [flags]")
		fmt.Fprintln(env.stderr, "\nEvery flag can also be set with BLINDPOST_<FLAG>, e.g. BLINDPOST_LISTEN, BLINDPOST_DATA.")
		fs.PrintDefaults()
	}
	if err := relaySetFromEnv(fs, env.getenv); err != nil {
		fmt.Fprintf(env.stderr, "blindpost relay: %v\n", err)
		return errUsage
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		fs.Usage()
		return errUsage
	}
	log, err := relayLogger(env, *logLevel)
	if err != nil {
		fmt.Fprintf(env.stderr, "blindpost relay: %v\n", err)
		return errUsage
	}
	dir := *data
	if dir == "" {
		if dir, err = relayDataDir(env.getenv); err != nil {
			return err
		}
	}
	return serveRelay(ctx, env, log, *listen, dir, l, *drain)
}

func serveRelay(ctx context.Context, env *environment, log *slog.Logger, listen, dir string, l relay.Limits, drain time.Duration) error {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("relay: %w", err)
	}
	srv, err := relay.New(relay.Config{DataDir: dir, Logger: log, Limits: l})
	if err != nil {
		return errors.Join(err, ln.Close())
	}
	if ip := ln.Addr().(*net.TCPAddr).IP; !ip.IsLoopback() {
		log.Warn("listening beyond loopback: put a TLS terminator in front of the relay", "addr", ln.Addr().String())
	}
	fmt.Fprintf(env.stdout, "ws://%s\n", ln.Addr())
	log.Info("relay serving", "addr", ln.Addr().String(), "data", dir)

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return errors.Join(err, srv.Close())
	case <-ctx.Done():
	}
	log.Info("relay shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	err = srv.Shutdown(sctx)
	return errors.Join(err, <-served)
}

// relaySetFromEnv gives each flag the value of its environment variable,
// if set, before the command line is parsed.
func relaySetFromEnv(fs *flag.FlagSet, getenv func(string) string) error {
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		name := relayEnvPrefix + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v := getenv(name); v != "" {
			if err := fs.Set(f.Name, v); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", name, err))
			}
		}
	})
	return errors.Join(errs...)
}

// relayDataDir is the default --data: $XDG_DATA_HOME/blindpost/relay if
// XDG_DATA_HOME is set, else blindpost/relay under os.UserConfigDir.
func relayDataDir(getenv func(string) string) (string, error) {
	if x := getenv("XDG_DATA_HOME"); x != "" {
		return filepath.Join(x, "blindpost", "relay"), nil
	}
	base, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("relay: no default data directory (set --data): %w", err)
	}
	return filepath.Join(base, "blindpost", "relay"), nil
}

func relayLogger(env *environment, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("bad --log-level %q", level)
	}
	return slog.New(slog.NewTextHandler(env.stderr, &slog.HandlerOptions{Level: l})), nil
}
