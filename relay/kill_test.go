package relay_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/blindpost/blindpost/relay/client"
)

// relayProcess is the real blindpost binary running `relay`.
type relayProcess struct {
	cmd    *exec.Cmd
	url    string
	stderr *syncBuffer
	exited chan error
}

func startRelayProcess(t *testing.T, bin, dataDir string) *relayProcess {
	t.Helper()
	p := &relayProcess{stderr: &syncBuffer{}, exited: make(chan error, 1)}
	// Listen address and log level come from the environment, the data
	// directory from a flag: both ways of configuring are exercised.
	p.cmd = exec.Command(bin, "relay", "--data", dataDir)
	p.cmd.Env = append(os.Environ(), "BLINDPOST_LISTEN=127.0.0.1:0", "BLINDPOST_LOG_LEVEL=warn")
	p.cmd.Stderr = p.stderr
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(stdout).ReadString('\n')
		line <- s
	}()
	select {
	case s := <-line:
		p.url = strings.TrimSpace(s)
	case <-time.After(20 * time.Second):
		p.cmd.Process.Kill()
		t.Fatalf("relay printed no URL; stderr:\n%s", p.stderr.String())
	}
	if !strings.HasPrefix(p.url, "ws://127.0.0.1:") {
		p.cmd.Process.Kill()
		t.Fatalf("first line %q is not a loopback URL; stderr:\n%s", p.url, p.stderr.String())
	}
	go func() { p.exited <- p.cmd.Wait() }()
	return p
}

func (p *relayProcess) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.exited
}

func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "blindpost")
	out, err := exec.Command("go", "build", "-o", bin, module+"/cmd/blindpost").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// killLedger records what the relay acknowledged and what was delivered.
type killLedger struct {
	mu        sync.Mutex
	attempted int
	acked     map[string]bool
	// deliveries: message -> envelope ids (recipient/id) it arrived as.
	deliveries map[string]map[string]int
}

func (l *killLedger) delivered(msg, envelope string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.deliveries[msg] == nil {
		l.deliveries[msg] = map[string]int{}
	}
	l.deliveries[msg][envelope]++
}

// TestKillRelay runs the real binary, kills it with SIGKILL several times
// while senders send, and checks after recovery that every message the
// relay acknowledged is delivered, as exactly one stored envelope.
func TestKillRelay(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the real binary")
	}
	const (
		kills     = 5
		nSenders  = 4
		inFlight  = 16 // concurrent sends per sender connection
		recvCount = 2
	)
	bin := buildBinary(t)
	dataDir := t.TempDir()
	proc := startRelayProcess(t, bin, dataDir)
	t.Cleanup(func() {
		if proc.cmd.ProcessState == nil {
			proc.cmd.Process.Kill()
			<-proc.exited
		}
	})
	var url atomic.Pointer[string]
	url.Store(&proc.url)

	senders := make([]account, nSenders)
	receivers := make([]account, recvCount)
	for i := range senders {
		senders[i] = newAccount(t, "sender")
		register(t, proc.url, senders[i]).Close()
	}
	for i := range receivers {
		receivers[i] = newAccount(t, "receiver")
		register(t, proc.url, receivers[i]).Close()
	}

	ledger := &killLedger{acked: map[string]bool{}, deliveries: map[string]map[string]int{}}
	var ackedCount atomic.Int64
	stopSending := make(chan struct{})
	stopReceiving := make(chan struct{})
	var sendWG, recvWG sync.WaitGroup

	// connect dials the current relay and authenticates, retrying while
	// the relay is down.
	connect := func(a account, stop <-chan struct{}) *client.Client {
		for {
			select {
			case <-stop:
				return nil
			default:
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			c, err := client.Dial(ctx, *url.Load(), client.Options{})
			if err == nil {
				if err = c.Authenticate(ctx, a.name, 1, a.ik); err == nil {
					cancel()
					return c
				}
				c.Close()
			}
			cancel()
			time.Sleep(20 * time.Millisecond)
		}
	}

	var attempt atomic.Int64
	for si, s := range senders {
		sendWG.Add(1)
		go func() {
			defer sendWG.Done()
			pad := bytes.Repeat([]byte{'.'}, 200)
			for {
				c := connect(s, stopSending)
				if c == nil {
					return
				}
				var wg sync.WaitGroup
				for w := range inFlight {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for {
							select {
							case <-stopSending:
								return
							default:
							}
							n := attempt.Add(1)
							msg := fmt.Sprintf("s%d#%d|", si, n)
							to := receivers[(int(n)+w)%recvCount].name
							ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
							_, err := c.Send(ctx, to, 1, 2, append([]byte(msg), pad...))
							cancel()
							ledger.mu.Lock()
							ledger.attempted++
							if err == nil {
								ledger.acked[msg] = true
							}
							ledger.mu.Unlock()
							if err != nil {
								return // the relay died: reconnect
							}
							ackedCount.Add(1)
						}
					}()
				}
				wg.Wait()
				c.Close()
				select {
				case <-stopSending:
					return
				default:
				}
			}
		}()
	}

	for _, r := range receivers {
		recvWG.Add(1)
		go func() {
			defer recvWG.Done()
			for {
				c := connect(r, stopReceiving)
				if c == nil {
					return
				}
				receiveUntilDrop(c, r.name, ledger, stopReceiving)
				c.Close()
			}
		}()
	}

	for k := range kills {
		// Let the senders get going on this incarnation, then kill it at
		// a random moment.
		base := ackedCount.Load()
		deadline := time.Now().Add(20 * time.Second)
		for ackedCount.Load() < base+300 {
			if time.Now().After(deadline) {
				t.Fatalf("kill %d: senders made no progress; relay stderr:\n%s", k+1, proc.stderr.String())
			}
			time.Sleep(5 * time.Millisecond)
		}
		time.Sleep(time.Duration(50+rand.IntN(250)) * time.Millisecond)
		proc.kill(t)
		proc = startRelayProcess(t, bin, dataDir)
		url.Store(&proc.url)
	}
	time.Sleep(300 * time.Millisecond)
	close(stopSending)
	sendWG.Wait()

	// Wait until every acknowledged message has arrived, then a little
	// longer to catch late duplicates.
	allIn := func() bool {
		ledger.mu.Lock()
		defer ledger.mu.Unlock()
		for msg := range ledger.acked {
			if len(ledger.deliveries[msg]) == 0 {
				return false
			}
		}
		return true
	}
	for deadline := time.Now().Add(30 * time.Second); !allIn() && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	close(stopReceiving)
	recvWG.Wait()

	// Every receiver's queue is now empty.
	for _, r := range receivers {
		c := login(t, proc.url, r)
		expectNoEnvelope(t, c)
		c.Close()
	}

	ledger.mu.Lock()
	defer ledger.mu.Unlock()
	var delivered, lost, duplicated, redelivered, unackedDelivered int
	for msg := range ledger.acked {
		envs := ledger.deliveries[msg]
		switch {
		case len(envs) == 0:
			lost++
		case len(envs) > 1:
			duplicated++
			delivered++
		default:
			delivered++
		}
	}
	for msg, envs := range ledger.deliveries {
		if !ledger.acked[msg] {
			unackedDelivered++
		}
		for _, n := range envs {
			redelivered += n - 1
		}
	}
	t.Logf("kills=%d attempted=%d acknowledged=%d delivered=%d lost=%d duplicated=%d "+
		"(redelivered same envelope after a kill: %d; stored but unacknowledged at a kill, delivered: %d)",
		kills, ledger.attempted, len(ledger.acked), delivered, lost, duplicated, redelivered, unackedDelivered)
	if lost != 0 || duplicated != 0 {
		t.Errorf("lost %d, duplicated %d acknowledged messages", lost, duplicated)
	}
	if len(ledger.acked) < kills*300 {
		t.Errorf("only %d messages acknowledged", len(ledger.acked))
	}

	// A graceful stop exits cleanly.
	if err := proc.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-proc.exited:
		if err != nil {
			t.Errorf("relay exit after SIGTERM: %v; stderr:\n%s", err, proc.stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Error("relay did not exit after SIGTERM")
	}
}

// receiveUntilDrop records and acknowledges envelopes in batches until the
// connection drops or stop is closed.
func receiveUntilDrop(c *client.Client, name string, ledger *killLedger, stop <-chan struct{}) {
	for {
		var batch []client.Envelope
		select {
		case e, ok := <-c.Envelopes():
			if !ok {
				return
			}
			batch = append(batch, e)
		case <-stop:
			return
		}
	more:
		for len(batch) < 128 {
			select {
			case e, ok := <-c.Envelopes():
				if !ok {
					break more
				}
				batch = append(batch, e)
			default:
				break more
			}
		}
		ids := make([]uint64, len(batch))
		for i, e := range batch {
			msg, _, _ := strings.Cut(string(e.Content), "|")
			ledger.delivered(msg+"|", fmt.Sprintf("%s/%d", name, e.ID))
			ids[i] = e.ID
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := c.Ack(ctx, ids...)
		cancel()
		if err != nil {
			return
		}
	}
}
