package loadtest

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/blindpost/blindpost/identity"
	"github.com/blindpost/blindpost/relay/client"
)

// idleSettle is the default IdleConfig.Settle: long enough for the
// relay's last responses and delivery loops to finish.
const idleSettle = 2 * time.Second

// IdleConfig configures Idle.
type IdleConfig struct {
	// Relay is the relay's URL, on a loopback address.
	Relay string
	// Conns is the number of idle connections.
	Conns int
	// RelayPID is the relay's process id, to read its resident memory
	// from /proc (0: unknown). InProcess says the relay runs in this
	// process: this process is then measured, clients included.
	RelayPID  int
	InProcess bool
	// Settle is how long the relay is left alone after the last
	// connection authenticated, before its memory is read (0: 2 s).
	Settle time.Duration
	// Hold keeps the connections open this long after measuring.
	Hold   time.Duration
	Logger *slog.Logger
	Rand   io.Reader
}

// IdleReport is the relay's memory before and after opening the idle
// connections. A figure is 0 when it could not be read.
type IdleReport struct {
	Relay     string
	Conns     int
	InProcess bool
	Open      int64 // connections the relay counted open after setup (-1: unknown)
	Setup     time.Duration

	// Measured says what the memory figures are of.
	Measured                          string
	RSSBefore, RSSAfter               int64
	HeapBefore, HeapAfter             int64
	GoroutinesBefore, GoroutinesAfter int64
}

func perConn(before, after int64, n int) float64 {
	if before == 0 || after == 0 || n == 0 {
		return 0
	}
	return float64(after-before) / float64(n)
}

// RSSPerConn, HeapPerConn and GoroutinesPerConn are the growth per
// connection.
func (r IdleReport) RSSPerConn() float64  { return perConn(r.RSSBefore, r.RSSAfter, r.Conns) }
func (r IdleReport) HeapPerConn() float64 { return perConn(r.HeapBefore, r.HeapAfter, r.Conns) }
func (r IdleReport) GoroutinesPerConn() float64 {
	return perConn(r.GoroutinesBefore, r.GoroutinesAfter, r.Conns)
}

// memory is one reading of the measured process.
type memory struct{ rss, heap, goroutines int64 }

// Idle opens cfg.Conns connections to the relay, each registered as a new
// account (so authenticated, its delivery loop started) and then silent,
// and reports the relay's memory per connection.
//
// For a relay in another process it reads the resident set of
// cfg.RelayPID and the heap and goroutines from /metrics. For an
// in-process relay it reads this process after a GC, so the figures also
// hold the clients' side of every connection.
func Idle(ctx context.Context, cfg IdleConfig) (IdleReport, error) {
	if _, err := CheckLoopback(cfg.Relay); err != nil {
		return IdleReport{}, err
	}
	if cfg.Conns < 1 {
		return IdleReport{}, errors.New("loadtest: need at least one idle connection")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.Settle == 0 {
		cfg.Settle = idleSettle
	}
	rep := IdleReport{Relay: cfg.Relay, Conns: cfg.Conns, InProcess: cfg.InProcess, Open: -1}
	switch {
	case cfg.InProcess:
		rep.Measured = "this process: relay and clients"
	case cfg.RelayPID > 0:
		rep.Measured = fmt.Sprintf("relay process %d", cfg.RelayPID)
	default:
		rep.Measured = "relay /metrics (no --relay-pid: no RSS)"
	}
	before := measure(ctx, cfg)
	rep.RSSBefore, rep.HeapBefore, rep.GoroutinesBefore = before.rss, before.heap, before.goroutines

	prefix, err := namePrefix(cfg.Rand)
	if err != nil {
		return rep, err
	}
	clients := make([]*client.Client, cfg.Conns)
	var mu sync.Mutex
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		// Errors here are connections already gone.
		_ = forEach(context.Background(), len(clients), 256, func(_ context.Context, i int) error {
			if clients[i] != nil {
				return clients[i].Close()
			}
			return nil
		})
	}()
	began := time.Now()
	err = forEach(ctx, cfg.Conns, setupParallel, func(ctx context.Context, i int) error {
		ctx, cancel := context.WithTimeout(ctx, setupTimeout)
		defer cancel()
		c, err := idleConn(ctx, cfg, i, fmt.Sprintf("%s-%d", prefix, i))
		mu.Lock()
		clients[i] = c
		mu.Unlock()
		return err
	})
	if err != nil {
		return rep, err
	}
	rep.Setup = time.Since(began)
	cfg.Logger.Info("idle connections open", "conns", cfg.Conns, "took", rep.Setup.Round(time.Millisecond))
	if !sleepUntil(ctx, time.Now, time.Now().Add(cfg.Settle)) {
		return rep, fmt.Errorf("loadtest: %w", ctx.Err())
	}
	after := measure(ctx, cfg)
	rep.RSSAfter, rep.HeapAfter, rep.GoroutinesAfter = after.rss, after.heap, after.goroutines
	if m, err := scrapeMetrics(ctx, cfg.Relay); err == nil {
		if v, ok := m[metricOpen]; ok {
			rep.Open = int64(v)
		}
	}
	for i, c := range clients {
		select {
		case <-c.Done():
			return rep, fmt.Errorf("loadtest: idle connection %d closed: %w", i, c.Err())
		default:
		}
	}
	if cfg.Hold > 0 && !sleepUntil(ctx, time.Now, time.Now().Add(cfg.Hold)) {
		return rep, fmt.Errorf("loadtest: %w", ctx.Err())
	}
	return rep, nil
}

// idleConn dials and registers one new account.
func idleConn(ctx context.Context, cfg IdleConfig, i int, name string) (*client.Client, error) {
	ik, err := identity.GenerateIdentityKeyPair(cfg.Rand)
	if err != nil {
		return nil, fmt.Errorf("loadtest: %w", err)
	}
	reg, err := identity.GenerateRegistrationID(cfg.Rand)
	if err != nil {
		return nil, fmt.Errorf("loadtest: %w", err)
	}
	c, err := client.Dial(ctx, cfg.Relay, client.Options{Dialer: dialer(cfg.Relay, i), Rand: cfg.Rand})
	if err != nil {
		return nil, fmt.Errorf("loadtest: idle connection %d: %w", i, err)
	}
	if _, err := c.Register(ctx, client.Registration{Name: name, DeviceID: deviceID, RegistrationID: reg, IdentityKey: ik}); err != nil {
		return c, fmt.Errorf("loadtest: idle connection %d: %w", i, err)
	}
	return c, nil
}

// measure reads the measured process's memory.
func measure(ctx context.Context, cfg IdleConfig) memory {
	var m memory
	if cfg.InProcess {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		m.heap, m.goroutines = int64(ms.HeapAlloc), int64(runtime.NumGoroutine())
		m.rss, _ = processRSS(os.Getpid())
		return m
	}
	if cfg.RelayPID > 0 {
		rss, err := processRSS(cfg.RelayPID)
		if err != nil {
			cfg.Logger.Warn("relay memory unavailable", "err", err)
		}
		m.rss = rss
	}
	if met, err := scrapeMetrics(ctx, cfg.Relay); err == nil {
		m.heap, m.goroutines = int64(met[metricHeap]), int64(met[metricGoroutines])
	}
	return m
}

// WriteText writes the report as `blindpost loadtest --idle` prints it.
func (r IdleReport) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "relay %s%s: %d idle authenticated connections, opened in %v; measured: %s\n\n",
		r.Relay, map[bool]string{true: " (embedded)", false: ""}[r.InProcess], r.Conns, round(r.Setup), r.Measured)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "connections\trelay open\t\tbefore\tafter\tper connection\t")
	open := "-"
	if r.Open >= 0 {
		open = fmt.Sprint(r.Open)
	}
	row := func(what string, before, after int64, per float64, unit func(float64) string) {
		if before == 0 || after == 0 {
			fmt.Fprintf(tw, "%d\t%s\t%s\t-\t-\t-\t\n", r.Conns, open, what)
			return
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t\n", r.Conns, open, what, unit(float64(before)), unit(float64(after)), unit(per))
	}
	row("RSS", r.RSSBefore, r.RSSAfter, r.RSSPerConn(), size)
	row("heap", r.HeapBefore, r.HeapAfter, r.HeapPerConn(), size)
	row("goroutines", r.GoroutinesBefore, r.GoroutinesAfter, r.GoroutinesPerConn(), func(v float64) string { return fmt.Sprintf("%.1f", v) })
	if err := tw.Flush(); err != nil {
		return err
	}
	if r.RSSAfter > 0 && r.Conns > 0 {
		fmt.Fprintf(&b, "\nat this rate 10,000 connections hold %s of RSS above the idle relay\n", size(r.RSSPerConn()*10_000))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// MarshalJSON writes the report with snake_case names, sizes in bytes.
func (r IdleReport) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]any{
		"relay": r.Relay, "embedded": r.InProcess, "conns": r.Conns, "relay_open": r.Open,
		"setup_s": r.Setup.Seconds(), "measured": r.Measured,
		"rss_before": r.RSSBefore, "rss_after": r.RSSAfter, "rss_per_conn": r.RSSPerConn(),
		"heap_before": r.HeapBefore, "heap_after": r.HeapAfter, "heap_per_conn": r.HeapPerConn(),
		"goroutines_before": r.GoroutinesBefore, "goroutines_after": r.GoroutinesAfter,
		"goroutines_per_conn": r.GoroutinesPerConn(),
	})
}

// size formats bytes in KiB or MiB.
func size(v float64) string {
	switch {
	case v >= 1<<20 || v <= -(1<<20):
		return fmt.Sprintf("%.1f MiB", v/(1<<20))
	default:
		return fmt.Sprintf("%.1f KiB", v/(1<<10))
	}
}
