package main

// Output of `blindpost loadtest`:
//   - standard output carries the report only: a table and a few summary
//     lines, or with --json one JSON object;
//   - progress (-v) and errors go to standard error;
//   - the exit status is 0 for a clean run, 1 when a message was lost or
//     anything failed (the report says what), 2 for a usage error.

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"runtime/pprof"
	"time"

	"github.com/blindpost/blindpost/loadtest"
)

// loadGenGOGC is the load generator's GOGC when the relay runs in another
// process: its heap is small (sessions and the message log), so a rarer
// collection costs little memory and leaves more CPU to the relay.
const loadGenGOGC = 400

// spareFiles is the room left beside the connections in the open-file
// limit: standard streams, the relay's listener and database, /proc and
// /metrics reads.
const spareFiles = 64

// runLoadtest is `blindpost loadtest`: simulated users with real sessions
// load a relay over real websockets; or, with --idle N, N idle
// connections measure the relay's memory per connection.
func runLoadtest(ctx context.Context, env *environment, args []string) error {
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	var (
		relayURL = fs.String("relay", "", "relay `URL` (ws://127.0.0.1:PORT; loopback only); required unless --embedded")
		embedded = fs.Bool("embedded", false, "start a relay in this process, with its durable store in a temporary folder")
		clients  = fs.Int("clients", loadtest.DefaultClients, "simulated users, each with its own connection and sessions")
		duration = fs.Duration("duration", loadtest.DefaultDuration, "measured `window`")
		warmup   = fs.Duration("warmup", loadtest.DefaultWarmup, "traffic before the window, not measured (0: none)")
		rate     = fs.Float64("rate", 0, "target `messages/s` over all users, open loop (0: as fast as possible)")
		inflight = fs.Int("inflight", loadtest.DefaultInflight, "sends awaiting the relay's answer, per user")
		size     = fs.Int("size", loadtest.DefaultSize, "plaintext `bytes` per message")
		idle     = fs.Int("idle", 0, "idle mode: open `N` authenticated idle connections and report the relay's memory per connection")
		hold     = fs.Duration("hold", 0, "idle mode: keep the connections open this long after measuring")
		pid      = fs.Int("relay-pid", 0, "the external relay's process `id`, to read its CPU time and memory from /proc")
		asJSON   = fs.Bool("json", false, "print the report as JSON")
		verbose  = fs.Bool("v", false, "log progress to standard error")
		cpuProf  = fs.String("cpuprofile", "", "write a CPU profile of this process to `file` (with --embedded it holds the relay too)")
	)
	fs.Usage = func() {
		fmt.Fprintln(env.stderr, `usage: blindpost loadtest (--relay URL | --embedded) [flags]
       blindpost loadtest (--relay URL --relay-pid PID | --embedded) --idle N

Simulated users register, establish PQXDH sessions (with SPQR, as
blindpost's clients) from fetched bundles and send Double Ratchet messages
through the relay; each receiver decrypts and acknowledges. Reports messages/s end to end and latency from send to
decryption. With --idle, reports the relay's memory per idle connection.

flags:`)
		fs.PrintDefaults()
	}
	if err := parseClientFlags(fs, env, args); err != nil {
		return err
	}
	if fs.NArg() != 0 || (*relayURL == "") == !*embedded {
		fmt.Fprintln(env.stderr, "blindpost loadtest: give exactly one of --relay URL and --embedded")
		return errUsage
	}
	if *relayURL != "" {
		if _, err := loadtest.CheckLoopback(*relayURL); err != nil {
			fmt.Fprintf(env.stderr, "blindpost loadtest: %v\n", err)
			return errUsage
		}
	}
	log := slog.New(slog.DiscardHandler)
	if *verbose {
		log = slog.New(slog.NewTextHandler(env.stderr, nil))
	}
	conns := *clients
	if *idle > 0 {
		conns = *idle
	}
	files := uint64(conns) + spareFiles
	if *embedded {
		files += uint64(conns) // the relay's side of each connection
	}
	if err := loadtest.RaiseFileLimit(files); err != nil {
		return err
	}
	if *cpuProf != "" {
		f, err := os.Create(*cpuProf)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return errors.Join(err, f.Close())
		}
		defer func() {
			pprof.StopCPUProfile()
			if err := f.Close(); err != nil {
				fmt.Fprintf(env.stderr, "blindpost loadtest: %v\n", err)
			}
		}()
	}
	if !*embedded && env.getenv("GOGC") == "" {
		// The load generator shares the machine with the relay: it trades
		// memory for the CPU its garbage collector would take. An embedded
		// relay keeps the default, as `blindpost relay` runs.
		debug.SetGCPercent(loadGenGOGC)
	}
	url := *relayURL
	if *embedded {
		e, err := loadtest.StartEmbedded(log.With("side", "relay"))
		if err != nil {
			return err
		}
		defer e.Close()
		url = e.URL
	}
	if *idle > 0 {
		rep, err := loadtest.Idle(ctx, loadtest.IdleConfig{
			Relay: url, Conns: *idle, RelayPID: *pid, InProcess: *embedded, Hold: *hold, Logger: log,
		})
		if err != nil {
			return err
		}
		return printReport(env, rep, *asJSON, nil)
	}
	rep, err := loadtest.Run(ctx, loadtest.Config{
		Relay: url, Clients: *clients, Duration: *duration, Warmup: warmupFlag(*warmup),
		Rate: *rate, Inflight: *inflight, Size: *size, RelayPID: *pid, InProcess: *embedded, Logger: log,
	})
	if err != nil {
		return err
	}
	var failed error
	if n := rep.Errors(); n > 0 {
		failed = fmt.Errorf("loadtest: %d messages lost or failed (see the report)", n)
	}
	return printReport(env, rep, *asJSON, failed)
}

// warmupFlag maps --warmup 0 (no warm-up) to the Config's negative value;
// a zero Config field takes the default.
func warmupFlag(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}

// report is what printReport prints: a loadtest.Report or IdleReport.
type report interface {
	WriteText(w io.Writer) error
	json.Marshaler
}

// printReport writes the report to standard output and returns failed.
func printReport(env *environment, r report, asJSON bool, failed error) error {
	var err error
	if asJSON {
		enc := json.NewEncoder(env.stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(r)
	} else {
		err = r.WriteText(env.stdout)
	}
	return errors.Join(err, failed)
}
