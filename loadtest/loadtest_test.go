package loadtest

import (
	"bytes"
	"context"
	cryptorand "crypto/rand"
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func startEmbedded(t *testing.T) *Embedded {
	t.Helper()
	e, err := StartEmbedded(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Error(err)
		}
	})
	return e
}

// checkConsistent checks what must hold of every clean report, whatever
// the machine's speed.
func checkConsistent(t *testing.T, rep Report) {
	t.Helper()
	if rep.Errors() != 0 || rep.Unconfirmed != 0 {
		var b bytes.Buffer
		rep.WriteText(&b)
		t.Fatalf("errors in a clean run:\n%s", b.String())
	}
	if rep.Sent == 0 || rep.Delivered != rep.Sent {
		t.Fatalf("sent %d, delivered %d: want every sent message delivered", rep.Sent, rep.Delivered)
	}
	if rep.Lost != 0 || rep.Latency.Count != int(rep.Delivered) || rep.Stored.Count != int(rep.Sent) {
		t.Fatalf("latency samples %d and %d for %d delivered", rep.Latency.Count, rep.Stored.Count, rep.Delivered)
	}
	l := rep.Latency
	if l.P50 <= 0 || l.P50 > l.P99 || l.P99 > l.Max || l.Mean > l.Max {
		t.Fatalf("inconsistent latency %+v", l)
	}
	if want := float64(rep.Delivered) / rep.Duration.Seconds(); rep.PerSecond != want {
		t.Fatalf("msgs/s %v, want delivered/duration = %v", rep.PerSecond, want)
	}
	// The relay stored at least the window's messages (the warm-up's and
	// the handshakes' too, when the window's edges catch them).
	if !rep.MetricsOK || rep.Commits <= 0 || rep.CommitOps < rep.Commits || rep.RelayStored <= 0 {
		t.Fatalf("relay metrics: ok %v, commits %d, ops %d, stored %d", rep.MetricsOK, rep.Commits, rep.CommitOps, rep.RelayStored)
	}
	var text, js bytes.Buffer
	if err := rep.WriteText(&text); err != nil || !strings.Contains(text.String(), "errors: none") {
		t.Fatalf("text report (%v):\n%s", err, text.String())
	}
	if err := json.NewEncoder(&js).Encode(rep); err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || back["delivered"] != float64(rep.Delivered) {
		t.Fatalf("JSON report %s (%v)", js.String(), err)
	}
}

func TestRunDeliversAndDecrypts(t *testing.T) {
	t.Parallel()
	e := startEmbedded(t)
	rep, err := Run(context.Background(), Config{
		Relay: e.URL, Clients: 4, Duration: time.Second, Warmup: -1, Inflight: 4, InProcess: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	checkConsistent(t, rep)
}

// TestRunOpenLoop checks the pacing: at 200 msgs/s over 4 users for 1 s,
// exactly 200 messages fall due in the window, each user's 50 spread 20 ms
// apart.
func TestRunOpenLoop(t *testing.T) {
	t.Parallel()
	e := startEmbedded(t)
	rep, err := Run(context.Background(), Config{
		Relay: e.URL, Clients: 4, Duration: time.Second, Warmup: -1, Rate: 200, InProcess: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	checkConsistent(t, rep)
	if rep.Sent != 200 {
		t.Fatalf("sent %d at 200 msgs/s for 1 s, want 200", rep.Sent)
	}
}

// TestRunTwoUsers: with two users the ring is one session used in both
// directions, so the ratchet turns at every change of direction.
func TestRunTwoUsers(t *testing.T) {
	t.Parallel()
	e := startEmbedded(t)
	rep, err := Run(context.Background(), Config{
		Relay: e.URL, Clients: 2, Duration: 500 * time.Millisecond, Warmup: -1, Inflight: 2, InProcess: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	checkConsistent(t, rep)
}

// TestIdle measures this process, so it runs alone (not in parallel).
func TestIdle(t *testing.T) {
	e := startEmbedded(t)
	rep, err := Idle(context.Background(), IdleConfig{Relay: e.URL, Conns: 20, InProcess: true, Settle: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Open != 20 {
		t.Fatalf("relay counts %d connections open, want 20", rep.Open)
	}
	if rep.HeapAfter <= rep.HeapBefore || rep.GoroutinesPerConn() < 3 {
		t.Fatalf("heap %d -> %d, %.1f goroutines per connection", rep.HeapBefore, rep.HeapAfter, rep.GoroutinesPerConn())
	}
	var b bytes.Buffer
	if err := rep.WriteText(&b); err != nil || !strings.Contains(b.String(), "20 idle authenticated connections") {
		t.Fatalf("idle report (%v):\n%s", err, b.String())
	}
}

func TestCheckLoopback(t *testing.T) {
	t.Parallel()
	for _, u := range []string{"ws://127.0.0.1:7420", "ws://127.0.0.2:1", "ws://[::1]:7420", "ws://localhost:7420"} {
		if _, err := CheckLoopback(u); err != nil {
			t.Errorf("%s refused: %v", u, err)
		}
	}
	for _, u := range []string{"ws://10.0.0.1:7420", "ws://example.com:7420", "ws://0.0.0.0:7420",
		"wss://127.0.0.1:7420", "http://127.0.0.1:7420", "ws://127.0.0.1", "127.0.0.1:7420", ""} {
		if _, err := CheckLoopback(u); err == nil {
			t.Errorf("%q accepted", u)
		}
	}
	if _, err := Run(context.Background(), Config{Relay: "ws://192.0.2.1:7420"}); err == nil {
		t.Error("Run accepted a relay beyond loopback")
	}
}

func TestPlaintextRoundTrip(t *testing.T) {
	t.Parallel()
	at := time.Unix(1_700_000_000, 123456789)
	buf := make([]byte, DefaultSize)
	kind, seq, sent, err := parsePlaintext(plaintext(buf, kindData, 1<<40+7, at))
	if err != nil || kind != kindData || seq != 1<<40+7 || sent != at.UnixNano() {
		t.Fatalf("got %d %d %d %v", kind, seq, sent, err)
	}
	if _, _, _, err := parsePlaintext(buf[:headerSize-1]); err == nil {
		t.Fatal("short plaintext accepted")
	}
}

func TestLatencyNearestRank(t *testing.T) {
	t.Parallel()
	samples := make([]int64, 200)
	for i := range samples {
		samples[i] = int64(200 - i) // 1..200, reversed
	}
	l := latencyOf(samples)
	if l.Count != 200 || l.P50 != 100 || l.P99 != 198 || l.Max != 200 || l.Mean != 100 {
		t.Fatalf("%+v", l)
	}
	if (latencyOf(nil) != Latency{}) {
		t.Fatal("empty samples")
	}
}

func TestMsgLogCountsUndelivered(t *testing.T) {
	t.Parallel()
	var n atomic.Int64
	l := msgLog{undelivered: &n}
	l.update(5000, func(e *entry) { e.sentAt = 1 })
	l.update(5000, func(e *entry) { e.storedAt = 2 })
	l.update(7, func(e *entry) { e.sentAt, e.deliveredAt = 1, 3 }) // delivered before its ack
	if n.Load() != 1 {
		t.Fatalf("undelivered %d, want 1", n.Load())
	}
	l.update(7, func(e *entry) { e.storedAt = 2 })
	l.update(5000, func(e *entry) { e.deliveredAt = 4 })
	if n.Load() != 0 {
		t.Fatalf("undelivered %d, want 0", n.Load())
	}
	count := 0
	l.each(func(*entry) { count++ })
	if count != 2 {
		t.Fatalf("%d entries, want 2", count)
	}
}

// TestSessionsArePQXDHWithSPQR: the load test measures what blindpost's
// clients run: every session of the ring is version 4 (PQXDH) with SPQR,
// started on the receiver's one-time Kyber prekey.
func TestSessionsArePQXDHWithSPQR(t *testing.T) {
	t.Parallel()
	e := startEmbedded(t)
	for _, clients := range []int{2, 3} {
		cfg := Config{Relay: e.URL, Clients: clients, InProcess: true}.withDefaults()
		r := &run{ctx: context.Background(), cfg: cfg, rand: cryptorand.Reader}
		if err := r.setup(context.Background()); err != nil {
			r.close()
			t.Fatal(err)
		}
		for _, u := range r.users {
			rec, ok, err := u.store.Record(u.to.addr)
			if err != nil || !ok || rec.Current == nil {
				t.Fatalf("%s has no session with %s: %v", u.name, u.to.name, err)
			}
			if st := rec.Current.Ratchet; st.Version != 4 || !st.PQ.Enabled() {
				t.Fatalf("%s -> %s: session version %d, SPQR %v", u.name, u.to.name, st.Version, st.PQ.Enabled())
			}
			if u.initiator {
				// The receiver's one-time Kyber prekey (id 1) is used up.
				if _, ok, _ := u.to.store.KyberPreKey(1); ok {
					t.Fatalf("%s's one-time kyber prekey survived the session", u.to.name)
				}
			}
		}
		r.close()
	}
}
