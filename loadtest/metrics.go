package loadtest

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	rtmetrics "runtime/metrics"
	"strconv"
	"strings"
	"time"
)

// Names of the relay's /metrics this package reads.
const (
	metricCommits    = "blindpost_relay_store_commits_total"
	metricOps        = "blindpost_relay_store_ops_total"
	metricStored     = "blindpost_relay_messages_stored_total"
	metricPushed     = "blindpost_relay_messages_pushed_total"
	metricAcked      = "blindpost_relay_messages_acked_total"
	metricOpen       = "blindpost_relay_connections_open"
	metricHeap       = "blindpost_relay_go_heap_bytes"
	metricGoroutines = "blindpost_relay_goroutines"
)

// scrapeMetrics reads the relay's Prometheus text metrics (samples
// without labels only).
func scrapeMetrics(ctx context.Context, relayURL string) (map[string]float64, error) {
	host, err := CheckLoopback(relayURL)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, metricsTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+host+"/metrics", nil)
	if err != nil {
		return nil, fmt.Errorf("loadtest: metrics: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("loadtest: metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("loadtest: metrics: %s", resp.Status)
	}
	out := make(map[string]float64)
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		name, value, ok := strings.Cut(line, " ")
		if !ok || strings.ContainsRune(name, '{') {
			continue
		}
		if v, err := strconv.ParseFloat(strings.TrimSpace(value), 64); err == nil {
			out[name] = v
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("loadtest: metrics: %w", err)
	}
	return out, nil
}

// snapshot is what is read at the start and at the end of the measured
// window.
type snapshot struct {
	metrics  map[string]float64 // nil if /metrics could not be read
	selfCPU  time.Duration      // CPU time of this process
	relayCPU time.Duration      // of the relay process, if its pid is known
	relayOK  bool
	machine  time.Duration // of every process on the machine
	machOK   bool
	sched    *rtmetrics.Float64Histogram
}

type snapshots struct{ from, to snapshot }

// snapshot takes the window's two snapshots, at its start and its end.
func (r *run) snapshot(ctx context.Context, w window) snapshots {
	var s snapshots
	if !sleepUntil(ctx, r.cfg.Now, w.measureFrom) {
		return s
	}
	s.from = r.takeSnapshot(ctx)
	if !sleepUntil(ctx, r.cfg.Now, w.end) {
		return s
	}
	s.to = r.takeSnapshot(ctx)
	return s
}

func (r *run) takeSnapshot(ctx context.Context) snapshot {
	var s snapshot
	s.selfCPU, _ = selfCPU()
	s.sched = schedHist()
	m, err := machineCPU()
	s.machine, s.machOK = m, err == nil
	if r.cfg.RelayPID > 0 {
		cpu, err := processCPU(r.cfg.RelayPID)
		s.relayCPU, s.relayOK = cpu, err == nil
	}
	met, err := scrapeMetrics(ctx, r.cfg.Relay)
	if err != nil {
		r.cfg.Logger.Warn("relay metrics unavailable", "err", err)
	}
	s.metrics = met
	return s
}

func sleepUntil(ctx context.Context, now func() time.Time, t time.Time) bool {
	d := t.Sub(now())
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// delta is a counter's growth between two snapshots, and whether both
// had it.
func delta(a, b map[string]float64, name string) (float64, bool) {
	x, ok1 := a[name]
	y, ok2 := b[name]
	return y - x, ok1 && ok2
}
