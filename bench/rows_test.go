package bench

import (
	"bytes"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"testing"
	"time"

	"go.mau.fi/libsignal/logger"
)

// TestMain silences go.mau.fi/libsignal's global logger before anything
// touches the library (it sets its default logger lazily, without
// synchronisation). The library still formats every debug message before
// handing it to the logger; that cost is the library's own and is measured.
func TestMain(m *testing.M) {
	logger.Logger = discardLogger{}
	os.Exit(m.Run())
}

type discardLogger struct{}

func (discardLogger) Debug(caller, message string)   {}
func (discardLogger) Info(caller, message string)    {}
func (discardLogger) Warning(caller, message string) {}
func (discardLogger) Error(caller, message string)   {}
func (discardLogger) Configure(settings string)      {}

// Party indices in a conversation.
const (
	alice = 0
	bob   = 1
)

// message is a ciphertext as it travels: its type (2 SignalMessage, 3
// PreKeySignalMessage; the floor ignores it) and its bytes.
type message struct {
	typ int
	b   []byte
}

// conversation is a session between Alice and Bob in which each side has
// received at least one message from the other.
type conversation interface {
	// encrypt encrypts pt at party from, for the other party.
	encrypt(from int, pt []byte) (message, error)
	// decrypt decrypts m at party to, sent by the other party.
	decrypt(to int, m message) ([]byte, error)
	// ratchetKey returns the sender's ratchet public key carried by m.
	ratchetKey(m message) ([]byte, error)
}

// setupFunc is the timed part of a session setup: Alice processes Bob's
// bundle and encrypts pt, Bob decrypts it; it returns what Bob decrypted.
type setupFunc func(pt []byte) ([]byte, error)

// family is one implementation of every row.
type family struct {
	name string
	// newConversation returns a conversation past a first exchange in
	// both directions (Alice -> Bob, Bob -> Alice); with pq, a version-4
	// session with SPQR (families that run a PQ row).
	newConversation func(tb testing.TB, pq bool) conversation
	// newSetup makes fresh identities and a bundle with a one-time prekey,
	// with pq also a one-time Kyber prekey (untimed), and returns the
	// session setup to time.
	newSetup func(tb testing.TB, pq bool) setupFunc
}

var families = []family{
	{"blindpost", newBlindpostConversation, newBlindpostSetup},
	{"gomau", newGomauConversation, newGomauSetup},
	{"floor", newFloorConversation, newFloorSetup},
}

// BenchmarkRows runs every row on every family that has it:
// BenchmarkRows/<family>/<row>. One op is one message (setup: one session).
func BenchmarkRows(b *testing.B) {
	for _, f := range families {
		b.Run(f.name, func(b *testing.B) {
			for _, r := range Rows {
				if !r.Runs(f.name) {
					continue
				}
				b.Run(r.Name, func(b *testing.B) {
					b.ReportAllocs()
					c := &cpuTimer{B: b}
					rowFunc(r)(c, f, r, c.loop)
					c.report()
				})
			}
		})
	}
}

// loopFunc is b.Loop in benchmarks and a fixed count in tests.
type loopFunc func() bool

// cpuTimer is a *testing.B that also measures the process's CPU time over
// the timed part of the benchmark, and reports it as cpu-ns/op. Wall time
// (ns/op) counts the time the benchmark waited for a CPU on a busy machine;
// CPU time does not, and it counts the garbage collector's background work,
// which wall time hides on the second core.
type cpuTimer struct {
	*testing.B
	cpu     time.Duration
	started time.Duration
	begun   bool
	running bool
	broken  bool
}

// loop is b.Loop, starting the CPU clock on the first call and stopping it
// on the last.
func (c *cpuTimer) loop() bool {
	if !c.begun {
		c.begun = true
		c.start()
	}
	if c.B.Loop() {
		return true
	}
	c.stop()
	return false
}

// StopTimer and StartTimer leave out of the CPU time what the testing
// package does when it stops and starts its own timer (runtime.ReadMemStats).
func (c *cpuTimer) StopTimer() {
	c.stop()
	c.B.StopTimer()
}

func (c *cpuTimer) StartTimer() {
	c.B.StartTimer()
	c.start()
}

func (c *cpuTimer) start() {
	now, ok := processCPU()
	c.broken = c.broken || !ok
	c.started, c.running = now, true
}

func (c *cpuTimer) stop() {
	if !c.running {
		return
	}
	now, ok := processCPU()
	c.broken = c.broken || !ok
	c.cpu += now - c.started
	c.running = false
}

func (c *cpuTimer) report() {
	if !c.broken && c.N > 0 {
		c.ReportMetric(float64(c.cpu.Nanoseconds())/float64(c.N), "cpu-ns/op")
	}
}

// rowRunner runs a row's ops while loop returns true. It checks every
// decrypted plaintext, so a broken implementation cannot look fast.
type rowRunner func(tb testing.TB, f family, r Row, loop loopFunc)

// timer is the part of *testing.B that setup needs; tests pass a no-op.
type timer interface {
	StopTimer()
	StartTimer()
}

func rowFunc(r Row) rowRunner {
	switch r.Name {
	case "setup", "setup_pqxdh":
		return runSetup
	case "oneway_100B", "oneway_4KiB", "oneway_100B_spqr":
		return runOneway
	case "alternating_100B", "alternating_4KiB", "alternating_100B_spqr":
		return runAlternating
	case "out_of_order":
		return runOutOfOrder
	}
	panic("bench: internal error: no runner for row " + r.Name)
}

func runSetup(tb testing.TB, f family, r Row, loop loopFunc) {
	pt := plaintext(r.Size)
	t, timed := tb.(timer)
	for loop() {
		if timed {
			t.StopTimer()
		}
		setup := f.newSetup(tb, r.PQ)
		if timed {
			t.StartTimer()
		}
		got, err := setup(pt)
		check(tb, f, "setup", got, pt, err)
	}
}

func runOneway(tb testing.TB, f family, r Row, loop loopFunc) {
	pt := plaintext(r.Size)
	c := f.newConversation(tb, r.PQ)
	for loop() {
		send(tb, f, c, alice, pt)
	}
}

func runAlternating(tb testing.TB, f family, r Row, loop loopFunc) {
	pt := plaintext(r.Size)
	c := f.newConversation(tb, r.PQ)
	// Bob spoke last: Alice's next message carries the ratchet key she
	// made on receiving it, so every decrypt below is a DH ratchet step.
	from := alice
	for loop() {
		send(tb, f, c, from, pt)
		from = 1 - from
	}
}

func runOutOfOrder(tb testing.TB, f family, r Row, loop loopFunc) {
	pt := plaintext(r.Size)
	c := f.newConversation(tb, r.PQ)
	burst := make([]message, 0, BurstSize)
	for loop() {
		m, err := c.encrypt(alice, pt)
		if err != nil {
			tb.Fatalf("%s: encrypt: %v", f.name, err)
		}
		burst = append(burst, m)
		if len(burst) < BurstSize {
			continue
		}
		for i := len(burst) - 1; i >= 0; i-- {
			got, err := c.decrypt(bob, burst[i])
			check(tb, f, "out_of_order", got, pt, err)
		}
		burst = burst[:0]
	}
}

// send encrypts pt at from and decrypts it at the other party.
func send(tb testing.TB, f family, c conversation, from int, pt []byte) {
	m, err := c.encrypt(from, pt)
	if err != nil {
		tb.Fatalf("%s: encrypt: %v", f.name, err)
	}
	got, err := c.decrypt(1-from, m)
	check(tb, f, "decrypt", got, pt, err)
}

func check(tb testing.TB, f family, what string, got, want []byte, err error) {
	if err != nil {
		tb.Fatalf("%s: %s: %v", f.name, what, err)
	}
	if !bytes.Equal(got, want) {
		tb.Fatalf("%s: %s: decrypted %d bytes that differ from the %d sent", f.name, what, len(got), len(want))
	}
}

// plaintext returns size bytes that are the same in every run.
func plaintext(size int) []byte {
	b := make([]byte, size)
	if _, err := mrand.NewChaCha8([32]byte{byte(size), byte(size >> 8)}).Read(b); err != nil {
		panic("bench: internal error: " + err.Error()) // ChaCha8.Read never fails
	}
	return b
}

// countLoop returns a loop that runs n times.
func countLoop(n int) loopFunc {
	return func() bool {
		n--
		return n >= 0
	}
}

// TestRows runs each row a few times on each family that has it: every
// message decrypts to what was sent. The SPQR rows run long enough to
// cross an SPQR epoch.
func TestRows(t *testing.T) {
	ops := map[string]int{"setup": 2, "setup_pqxdh": 2, "out_of_order": 2 * BurstSize, "alternating_100B_spqr": 200}
	for _, f := range families {
		for _, r := range Rows {
			if !r.Runs(f.name) {
				continue
			}
			t.Run(f.name+"/"+r.Name, func(t *testing.T) {
				n := ops[r.Name]
				if n == 0 {
					n = 5
				}
				rowFunc(r)(t, f, r, countLoop(n))
			})
		}
	}
}

// TestRatchetSteps checks that the rows do the work they claim: in
// oneway every message carries the sender's same ratchet key, in
// alternating every message from a side carries a new one (the receiver of
// the previous message made it in a DH ratchet step).
func TestRatchetSteps(t *testing.T) {
	for _, f := range families {
		t.Run(f.name, func(t *testing.T) {
			pt := plaintext(100)
			c := f.newConversation(t, false)
			keys := map[string]bool{}
			for i := range 6 {
				from := i % 2
				k := sendKey(t, f, c, from, pt)
				if keys[string(k)] {
					t.Fatalf("alternating message %d reuses a ratchet key", i)
				}
				keys[string(k)] = true
			}
			first := sendKey(t, f, c, alice, pt)
			for i := range 4 {
				if k := sendKey(t, f, c, alice, pt); !bytes.Equal(k, first) {
					t.Fatalf("oneway message %d changed the ratchet key", i)
				}
			}
		})
	}
}

func sendKey(t *testing.T, f family, c conversation, from int, pt []byte) []byte {
	t.Helper()
	m, err := c.encrypt(from, pt)
	if err != nil {
		t.Fatal(err)
	}
	k, err := c.ratchetKey(m)
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.decrypt(1-from, m)
	check(t, f, fmt.Sprintf("message from %d", from), got, pt, err)
	return bytes.Clone(k)
}
