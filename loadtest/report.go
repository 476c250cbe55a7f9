package loadtest

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Latency summarizes a set of durations.
type Latency struct {
	Count         int
	P50, P99, Max time.Duration
	Mean          time.Duration
}

// latencyOf sorts samples (nanoseconds) and summarizes them.
func latencyOf(samples []int64) Latency {
	if len(samples) == 0 {
		return Latency{}
	}
	slices.Sort(samples)
	var sum float64
	for _, s := range samples {
		sum += float64(s)
	}
	at := func(q float64) time.Duration {
		// Nearest rank: the smallest sample with at least q of the samples
		// at or below it.
		i := int(q*float64(len(samples))+0.999999) - 1
		return time.Duration(samples[max(0, min(i, len(samples)-1))])
	}
	return Latency{
		Count: len(samples),
		P50:   at(0.50),
		P99:   at(0.99),
		Max:   time.Duration(samples[len(samples)-1]),
		Mean:  time.Duration(sum / float64(len(samples))),
	}
}

// Report is the outcome of Run. See the package documentation for the
// definitions.
type Report struct {
	Relay     string
	Clients   int
	Inflight  int
	Size      int
	Rate      float64 // the target; 0: as fast as possible
	InProcess bool    // the relay ran in this process

	Warmup, Duration time.Duration
	Setup            time.Duration // registering, uploading, handshakes
	Drain            time.Duration // after sending stopped, until the last delivery

	Sent      int64 // in-window messages the relay acknowledged
	Delivered int64 // of those, decrypted by the receiver
	// Lost and Unconfirmed count the whole run, warm-up included: messages
	// acknowledged but not delivered by the end of the drain, and messages
	// delivered although their sender saw the send fail.
	Lost        int64
	Unconfirmed int64
	PerSecond   float64

	Latency Latency // send to decrypted
	Stored  Latency // send to the relay's acknowledgement

	SendErrors, EncryptErrors, DecryptErrors, AckErrors int64
	Unexpected, Duplicates                              int64
	FirstError                                          string

	// Relay counters over the window, from /metrics (MetricsOK false if
	// they could not be read).
	MetricsOK                            bool
	Commits, CommitOps                   int64
	RelayStored, RelayPushed, RelayAcked int64

	// CPU used over the window, in cores (CPU seconds per second): by this
	// process, and by the relay's process when its pid is known.
	ProcessCPU float64
	RelayCPU   float64
	RelayCPUOK bool
	// OtherCPU is what every other process on the machine used (Linux;
	// with an external relay, only when its pid is known): a run on a
	// shared machine is only as good as this is small.
	OtherCPU   float64
	OtherCPUOK bool
	// SchedP99 is the 99th percentile of how long this process's
	// goroutines waited, runnable, for a CPU over the window (the relay's
	// too when it runs in this process).
	SchedP99 time.Duration
}

// OpsPerCommit is the relay's group-commit batch size over the window.
func (r Report) OpsPerCommit() float64 {
	if r.Commits == 0 {
		return 0
	}
	return float64(r.CommitOps) / float64(r.Commits)
}

// Errors is the number of things that went wrong; 0 in a clean run.
func (r Report) Errors() int64 {
	return r.SendErrors + r.EncryptErrors + r.DecryptErrors + r.AckErrors + r.Unexpected + r.Duplicates + r.Lost
}

// report reads every user's log once sending has stopped.
func (r *run) report(w window, s snapshots) Report {
	rep := Report{
		Relay:     r.cfg.Relay,
		Clients:   r.cfg.Clients,
		Inflight:  r.cfg.Inflight,
		Size:      r.cfg.Size,
		Rate:      r.cfg.Rate,
		InProcess: r.cfg.InProcess,
		Warmup:    r.cfg.Warmup,
		Duration:  r.cfg.Duration,
	}
	var lat, stored []int64
	for _, u := range r.users {
		u.log.each(func(e *entry) {
			switch {
			case e.storedAt != 0 && e.deliveredAt == 0:
				rep.Lost++
			case e.storedAt == 0 && e.deliveredAt != 0:
				rep.Unconfirmed++
			}
			if !w.contains(e.sentAt) || e.storedAt == 0 {
				return
			}
			rep.Sent++
			stored = append(stored, e.storedAt-e.sentAt)
			if e.deliveredAt != 0 {
				rep.Delivered++
				lat = append(lat, e.deliveredAt-e.sentAt)
			}
		})
	}
	rep.PerSecond = float64(rep.Delivered) / r.cfg.Duration.Seconds()
	rep.Latency, rep.Stored = latencyOf(lat), latencyOf(stored)

	f := &r.failures
	rep.SendErrors, rep.EncryptErrors = f.send.Load(), f.encrypt.Load()
	rep.DecryptErrors, rep.AckErrors = f.decrypt.Load(), f.ack.Load()
	rep.Unexpected, rep.Duplicates = f.unexpected.Load(), f.duplicates.Load()
	rep.FirstError = f.firstError()

	if s.from.metrics != nil && s.to.metrics != nil {
		commits, ok1 := delta(s.from.metrics, s.to.metrics, metricCommits)
		ops, ok2 := delta(s.from.metrics, s.to.metrics, metricOps)
		st, _ := delta(s.from.metrics, s.to.metrics, metricStored)
		pu, _ := delta(s.from.metrics, s.to.metrics, metricPushed)
		ac, _ := delta(s.from.metrics, s.to.metrics, metricAcked)
		rep.MetricsOK = ok1 && ok2
		rep.Commits, rep.CommitOps = int64(commits), int64(ops)
		rep.RelayStored, rep.RelayPushed, rep.RelayAcked = int64(st), int64(pu), int64(ac)
	}
	secs := r.cfg.Duration.Seconds()
	rep.ProcessCPU = (s.to.selfCPU - s.from.selfCPU).Seconds() / secs
	if s.from.relayOK && s.to.relayOK {
		rep.RelayCPU, rep.RelayCPUOK = (s.to.relayCPU-s.from.relayCPU).Seconds()/secs, true
	}
	if s.from.machOK && s.to.machOK && (rep.RelayCPUOK || r.cfg.InProcess) {
		machine := (s.to.machine - s.from.machine).Seconds() / secs
		rep.OtherCPU, rep.OtherCPUOK = max(0, machine-rep.ProcessCPU-rep.RelayCPU), true
	}
	rep.SchedP99 = schedQuantile(s.from.sched, s.to.sched, 0.99)
	return rep
}

// WriteText writes the report as the table `blindpost loadtest` prints.
func (r Report) WriteText(w io.Writer) error {
	var b strings.Builder
	rate := "as fast as possible"
	if r.Rate > 0 {
		rate = fmt.Sprintf("open loop at %.0f msgs/s", r.Rate)
	}
	fmt.Fprintf(&b, "relay %s%s: %d clients, %d sends in flight each, %s, %d-byte plaintexts\n",
		r.Relay, map[bool]string{true: " (embedded)", false: ""}[r.InProcess], r.Clients, r.Inflight, rate, r.Size)
	fmt.Fprintf(&b, "setup %v, warm-up %v, drain %v\n\n", round(r.Setup), r.Warmup, round(r.Drain))

	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "clients\tduration\tsent\tdelivered\tlost\tmsgs/s\tp50\tp99\tmax\tops/commit\t")
	fmt.Fprintf(tw, "%d\t%v\t%d\t%d\t%d\t%.0f\t%s\t%s\t%s\t%s\t\n",
		r.Clients, r.Duration, r.Sent, r.Delivered, r.Lost, r.PerSecond,
		ms(r.Latency.P50), ms(r.Latency.P99), ms(r.Latency.Max), r.opsPerCommitText())
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(&b, "\nlatency, send to decrypted:    p50 %s  p99 %s  max %s  mean %s\n",
		ms(r.Latency.P50), ms(r.Latency.P99), ms(r.Latency.Max), ms(r.Latency.Mean))
	fmt.Fprintf(&b, "latency, send to stored (ack): p50 %s  p99 %s  max %s  mean %s\n",
		ms(r.Stored.P50), ms(r.Stored.P99), ms(r.Stored.Max), ms(r.Stored.Mean))
	if r.MetricsOK {
		fmt.Fprintf(&b, "relay over the window: %d commits (%.0f/s), %d writes, %s writes per commit; %d stored, %d pushed, %d acked\n",
			r.Commits, float64(r.Commits)/r.Duration.Seconds(), r.CommitOps, r.opsPerCommitText(),
			r.RelayStored, r.RelayPushed, r.RelayAcked)
	} else {
		fmt.Fprintln(&b, "relay metrics: unavailable")
	}
	switch {
	case r.InProcess:
		fmt.Fprintf(&b, "cpu: %.2f cores (relay and clients in this process)", r.ProcessCPU)
	case r.RelayCPUOK:
		fmt.Fprintf(&b, "cpu: relay %.2f cores, load generator %.2f cores", r.RelayCPU, r.ProcessCPU)
	default:
		fmt.Fprintf(&b, "cpu: load generator %.2f cores (relay: give --relay-pid)", r.ProcessCPU)
	}
	if r.OtherCPUOK {
		fmt.Fprintf(&b, ", other processes %.2f cores", r.OtherCPU)
	}
	fmt.Fprintf(&b, "\nscheduling latency p99 (runnable goroutines waiting for a CPU, this process): %s\n", ms(r.SchedP99))
	if n := r.Errors() + r.Unconfirmed; n == 0 {
		fmt.Fprintln(&b, "errors: none")
	} else {
		fmt.Fprintf(&b, "errors: %d lost, %d send, %d encrypt, %d decrypt, %d ack, %d unexpected, %d duplicates, %d unconfirmed; first: %s\n",
			r.Lost, r.SendErrors, r.EncryptErrors, r.DecryptErrors, r.AckErrors, r.Unexpected, r.Duplicates, r.Unconfirmed, r.FirstError)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func (r Report) opsPerCommitText() string {
	if !r.MetricsOK || r.Commits == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f", r.OpsPerCommit())
}

// ms formats a duration in milliseconds with two decimals.
func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond)) }

func round(d time.Duration) time.Duration { return d.Round(time.Millisecond) }

// jsonLatency is a Latency in milliseconds.
type jsonLatency struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50_ms"`
	P99   float64 `json:"p99_ms"`
	Max   float64 `json:"max_ms"`
	Mean  float64 `json:"mean_ms"`
}

func (l Latency) json() jsonLatency {
	f := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	return jsonLatency{l.Count, f(l.P50), f(l.P99), f(l.Max), f(l.Mean)}
}

// MarshalJSON writes the report with snake_case names and durations in
// milliseconds (or seconds where named so).
func (r Report) MarshalJSON() ([]byte, error) {
	type out struct {
		Relay         string      `json:"relay"`
		Embedded      bool        `json:"embedded"`
		Clients       int         `json:"clients"`
		Inflight      int         `json:"inflight"`
		Size          int         `json:"size"`
		Rate          float64     `json:"target_rate"`
		Warmup        float64     `json:"warmup_s"`
		Duration      float64     `json:"duration_s"`
		Setup         float64     `json:"setup_s"`
		Drain         float64     `json:"drain_s"`
		Sent          int64       `json:"sent"`
		Delivered     int64       `json:"delivered"`
		Lost          int64       `json:"lost"`
		Unconfirmed   int64       `json:"unconfirmed"`
		PerSecond     float64     `json:"msgs_per_s"`
		Latency       jsonLatency `json:"latency"`
		Stored        jsonLatency `json:"stored_latency"`
		SendErrors    int64       `json:"send_errors"`
		EncryptErrors int64       `json:"encrypt_errors"`
		DecryptErrors int64       `json:"decrypt_errors"`
		AckErrors     int64       `json:"ack_errors"`
		Unexpected    int64       `json:"unexpected"`
		Duplicates    int64       `json:"duplicates"`
		FirstError    string      `json:"first_error,omitempty"`
		MetricsOK     bool        `json:"relay_metrics"`
		Commits       int64       `json:"relay_commits"`
		CommitOps     int64       `json:"relay_commit_ops"`
		OpsPerCommit  float64     `json:"relay_ops_per_commit"`
		RelayStored   int64       `json:"relay_stored"`
		RelayPushed   int64       `json:"relay_pushed"`
		RelayAcked    int64       `json:"relay_acked"`
		ProcessCPU    float64     `json:"process_cpu_cores"`
		RelayCPU      *float64    `json:"relay_cpu_cores,omitempty"`
		OtherCPU      *float64    `json:"other_cpu_cores,omitempty"`
		SchedP99      float64     `json:"sched_latency_p99_ms"`
	}
	o := out{
		r.Relay, r.InProcess, r.Clients, r.Inflight, r.Size, r.Rate,
		r.Warmup.Seconds(), r.Duration.Seconds(), r.Setup.Seconds(), r.Drain.Seconds(),
		r.Sent, r.Delivered, r.Lost, r.Unconfirmed, r.PerSecond, r.Latency.json(), r.Stored.json(),
		r.SendErrors, r.EncryptErrors, r.DecryptErrors, r.AckErrors, r.Unexpected, r.Duplicates, r.FirstError,
		r.MetricsOK, r.Commits, r.CommitOps, r.OpsPerCommit(), r.RelayStored, r.RelayPushed, r.RelayAcked,
		r.ProcessCPU, nil, nil, float64(r.SchedP99) / float64(time.Millisecond),
	}
	if r.RelayCPUOK {
		o.RelayCPU = &r.RelayCPU
	}
	if r.OtherCPUOK {
		o.OtherCPU = &r.OtherCPU
	}
	return json.Marshal(o)
}
