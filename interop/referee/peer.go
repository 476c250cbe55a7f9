package referee

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// Implementation constants of the process wrapper.
const (
	// maxReplyLine caps one reply line. A 64 KiB plaintext makes a line of
	// about 90 KB; the cap only stops a runaway peer from exhausting memory.
	maxReplyLine = 8 << 20
	// stderrTail is how much of a peer's standard error is kept for
	// diagnostics; older output is dropped.
	stderrTail = 2 << 10
	// quitGrace is how long a peer may take to reply to quit and exit.
	quitGrace = 5 * time.Second
	// DefaultTimeout bounds one request: writing it and reading its reply.
	DefaultTimeout = 30 * time.Second
)

// Impl says how to start one peer implementation.
type Impl struct {
	Name string   // short implementation name, as in the defect table: "blindpost", "node", "gomau"
	Argv []string // command and arguments
	Dir  string   // working directory; empty means the current one
	Env  []string // added to the referee's own environment
}

// Peer is one running peer process: one local identity with one device.
type Peer struct {
	impl    Impl
	label   string
	timeout time.Duration
	cmd     *exec.Cmd
	stdin   *os.File
	stdout  *os.File
	lines   *bufio.Scanner
	stderr  *tailBuffer
	exited  chan struct{}
	waitErr error
	broken  error // set once the transport failed; every later call returns it
	quit    bool  // set once Quit ran
	stop    func() bool
}

// StartPeer starts impl as a peer process. label names it in errors
// (for example "bob (node)"). The process is killed when ctx is done.
func StartPeer(ctx context.Context, impl Impl, label string, timeout time.Duration) (*Peer, error) {
	if len(impl.Argv) == 0 {
		return nil, fmt.Errorf("referee: start %s: empty command", label)
	}
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	p := &Peer{impl: impl, label: label, timeout: timeout, stderr: &tailBuffer{}, exited: make(chan struct{})}
	if err := p.start(); err != nil {
		return nil, fmt.Errorf("referee: start %s: %w", label, err)
	}
	p.stop = context.AfterFunc(ctx, p.kill)
	return p, nil
}

func (p *Peer) start() error {
	inR, inW, err := os.Pipe()
	if err != nil {
		return err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		return errors.Join(err, inR.Close(), inW.Close())
	}
	cmd := exec.Command(p.impl.Argv[0], p.impl.Argv[1:]...)
	cmd.Dir = p.impl.Dir
	cmd.Env = append(os.Environ(), p.impl.Env...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, outW, p.stderr
	cmd.WaitDelay = time.Second
	startErr := cmd.Start()
	// The child holds its own copies of these ends.
	closeErr := errors.Join(inR.Close(), outW.Close())
	if startErr != nil {
		return errors.Join(startErr, inW.Close(), outR.Close())
	}
	if closeErr != nil {
		return errors.Join(closeErr, cmd.Process.Kill())
	}
	p.cmd, p.stdin, p.stdout = cmd, inW, outR
	p.lines = bufio.NewScanner(outR)
	p.lines.Buffer(make([]byte, 64<<10), maxReplyLine)
	go p.wait()
	return nil
}

func (p *Peer) wait() {
	p.waitErr = p.cmd.Wait()
	close(p.exited)
}

// Label is the name the peer was started with.
func (p *Peer) Label() string { return p.label }

// call sends one request and decodes its reply into out (which may be nil).
// A `"ok": false` reply is returned as a *PeerError; anything else that goes
// wrong (timeout, crash, malformed reply) breaks the peer for good.
func (p *Peer) call(op string, req, out any) error {
	if p.broken != nil {
		return p.broken
	}
	line, err := p.roundTrip(req)
	if err != nil {
		p.broken = p.transportError(err)
		p.kill()
		return p.broken
	}
	if err := decodeReply(op, line, out); err != nil {
		var pe *PeerError
		if errors.As(err, &pe) {
			return pe
		}
		p.broken = p.transportError(err)
		p.kill()
		return p.broken
	}
	return nil
}

func (p *Peer) roundTrip(req any) ([]byte, error) {
	data, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("encode request: %w", err)
	}
	deadline := time.Now().Add(p.timeout)
	if err := p.stdin.SetWriteDeadline(deadline); err != nil {
		return nil, fmt.Errorf("set write deadline: %w", err)
	}
	if _, err := p.stdin.Write(append(data, '\n')); err != nil {
		return nil, fmt.Errorf("write request: %w (%s)", err, p.exitStatus(time.Second))
	}
	if err := p.stdout.SetReadDeadline(deadline); err != nil {
		return nil, fmt.Errorf("set read deadline: %w", err)
	}
	if !p.lines.Scan() {
		if err := p.lines.Err(); err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return nil, fmt.Errorf("no reply within %v", p.timeout)
			}
			return nil, fmt.Errorf("read reply: %w", err)
		}
		return nil, fmt.Errorf("peer closed its standard output (%s)", p.exitStatus(time.Second))
	}
	return p.lines.Bytes(), nil
}

func decodeReply(op string, line []byte, out any) error {
	var env envelope
	if err := json.Unmarshal(line, &env); err != nil {
		return fmt.Errorf("malformed reply %q: %w", clip(string(line), 200), err)
	}
	if !env.OK {
		if env.Error == nil {
			return fmt.Errorf("reply has neither \"ok\": true nor an error: %q", clip(string(line), 200))
		}
		return &PeerError{Op: op, Kind: env.Error.Kind, Message: env.Error.Message}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(line, out); err != nil {
		return fmt.Errorf("malformed %s reply %q: %w", op, clip(string(line), 200), err)
	}
	return nil
}

// transportError describes a broken exchange with the peer. Callers name
// the peer and the request, so the message does not.
func (p *Peer) transportError(err error) error {
	msg := fmt.Sprintf("referee: peer transport: %v", err)
	if tail := p.stderr.String(); tail != "" {
		msg += "; stderr ends: " + clipTail(tail, 600)
	}
	return errors.New(msg)
}

// exitStatus waits up to d for the process to exit and describes how it did.
func (p *Peer) exitStatus(d time.Duration) string {
	select {
	case <-p.exited:
		if p.waitErr != nil {
			return p.waitErr.Error()
		}
		return "exit status 0"
	case <-time.After(d):
		return "still running"
	}
}

func (p *Peer) kill() {
	select {
	case <-p.exited:
	default:
		// An error here means the process already exited; wait reports it.
		_ = p.cmd.Process.Kill()
	}
}

// Quit asks the peer to exit and waits for it. It returns an error if the
// peer does not reply, does not exit within a few seconds, or exits
// with a non-zero status. The process is gone when Quit returns.
func (p *Peer) Quit() error {
	if p.quit {
		return nil
	}
	p.quit = true
	defer p.stop()
	var err error
	if p.broken == nil {
		p.timeout = min(p.timeout, quitGrace)
		err = p.call("quit", opRequest{Op: "quit"}, nil)
	}
	err = errors.Join(err, p.stdin.Close())
	select {
	case <-p.exited:
	case <-time.After(quitGrace):
		p.kill()
		<-p.exited
		return fmt.Errorf("referee: %s: did not exit within %v of quit", p.label, quitGrace)
	}
	// Reading stdout ended with the process; its error is of no interest.
	_ = p.stdout.Close()
	if err != nil {
		return err
	}
	if p.broken == nil && p.waitErr != nil {
		return fmt.Errorf("referee: %s: after quit: %w", p.label, p.waitErr)
	}
	return nil
}

// Kill ends the process at once, for cleanup after a failure.
func (p *Peer) Kill() {
	p.stop()
	p.kill()
	<-p.exited
	_ = p.stdin.Close()  // already closed after Quit; only cleanup
	_ = p.stdout.Close() // as above
}

// Init sets the peer's name, device and registration id and returns its
// identity key.
func (p *Peer) Init(name string, deviceID, registrationID int) ([]byte, error) {
	var r initReply
	err := p.call("init", initRequest{Op: "init", Name: name, DeviceID: deviceID, RegistrationID: registrationID}, &r)
	return r.IdentityKey, err
}

// Bundle asks for a fresh prekey bundle.
func (p *Peer) Bundle(oneTimePreKey, kyber bool) (*Bundle, error) {
	var r bundleReply
	if err := p.call("bundle", bundleRequest{Op: "bundle", OneTimePreKey: oneTimePreKey, Kyber: kyber}, &r); err != nil {
		return nil, err
	}
	b := &Bundle{Raw: r.Bundle}
	if err := json.Unmarshal(r.Bundle, b); err != nil {
		return nil, fmt.Errorf("referee: %s: malformed bundle: %w", p.label, err)
	}
	return b, nil
}

// ProcessBundle starts an outgoing session to remote from its bundle.
func (p *Peer) ProcessBundle(remote Address, b *Bundle) error {
	return p.call("process_bundle", processBundleRequest{Op: "process_bundle", Remote: remote, Bundle: b.Raw}, nil)
}

// Encrypt encrypts plaintext for remote.
func (p *Peer) Encrypt(remote Address, plaintext []byte) (Ciphertext, error) {
	if plaintext == nil {
		plaintext = []byte{} // "" on the wire, not null
	}
	var c Ciphertext
	err := p.call("encrypt", encryptRequest{Op: "encrypt", Remote: remote, Plaintext: plaintext}, &c)
	return c, err
}

// Decrypt decrypts a message from remote.
func (p *Peer) Decrypt(remote Address, c Ciphertext) ([]byte, error) {
	var r decryptReply
	err := p.call("decrypt", decryptRequest{Op: "decrypt", Remote: remote, Type: c.Type, Ciphertext: c.Bytes}, &r)
	return r.Plaintext, err
}

// Session reports whether a session with remote exists, and its version.
func (p *Peer) Session(remote Address) (Session, error) {
	var s Session
	err := p.call("session", remoteRequest{Op: "session", Remote: remote}, &s)
	return s, err
}

// Fingerprint returns the safety number for the peer and remote.
func (p *Peer) Fingerprint(localID, remoteID string, remote Address) (Fingerprint, error) {
	var f Fingerprint
	err := p.call("fingerprint", fingerprintRequest{Op: "fingerprint", LocalID: localID, RemoteID: remoteID, Remote: remote}, &f)
	return f, err
}

// ApproveIdentity makes the peer trust identityKey for remote.
func (p *Peer) ApproveIdentity(remote Address, identityKey []byte) error {
	return p.call("approve_identity", approveRequest{Op: "approve_identity", Remote: remote, IdentityKey: identityKey}, nil)
}

// tailBuffer keeps the last stderrTail bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (t *tailBuffer) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, b...)
	if over := len(t.buf) - stderrTail; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(b), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.TrimSpace(string(t.buf))
}

// clip shortens s to at most n bytes, keeping its start, for error messages.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// clipTail shortens s to at most n bytes, keeping its end.
func clipTail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
