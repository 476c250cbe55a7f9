// Package demo is `blindpost demo`: two users hold a conversation through a
// relay in one process, then the demo becomes the provider, opens the
// relay's database, prints what an operator could hand over, and tries to
// read the messages with every key it has. Two variants show what a
// "TCN-compliant" design would change: key escrow (--escrow) and a ghost
// participant (--ghost).
//
// Output rules: plain text for a reader who is not a cryptographer; one
// line per protocol step, indented details below it; keys shown as short
// hex prefixes; the final lines state the result in one sentence.
package demo

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"

	"github.com/blindpost/blindpost/messenger"
	"github.com/blindpost/blindpost/relay"
	"github.com/blindpost/blindpost/relay/store"
)

// Mode selects the variant.
type Mode string

const (
	Normal Mode = "normal"
	Escrow Mode = "escrow"
	Ghost  Mode = "ghost"
)

// Options configure a demo run.
type Options struct {
	Mode Mode
	Out  io.Writer
	// Dir holds the relay's data, its log and the clients' profiles; empty
	// means a temporary folder removed at the end (unless Keep).
	Dir  string
	Keep bool
	// Script replaces the conversation (for tests); nil uses the default.
	Script []Line
	// Rand is the randomness of keys (nil: crypto/rand).
	Rand io.Reader
}

// Line is one message of the conversation. Offline marks the point from
// which the recipient is offline, so that the message waits in the relay.
type Line struct {
	From, To, Text string
	Offline        bool
}

// Result is what the demo measured.
type Result struct {
	Dir      string
	Messages int // text messages sent
	Readable int // text messages the provider could read
	// Ghost mode: messages read by the ghost before and after the users
	// verified their safety numbers, and messages the client refused to send.
	GhostReadUnverified int
	GhostReadVerified   int
	RefusedAfterChange  int
}

// defaultScript is the conversation: twelve messages, the last two sent
// while Bob is offline so that the relay holds them when the provider looks.
var defaultScript = []Line{
	{From: "alice", To: "bob", Text: "Hi Bob, are we still on for Thursday?"},
	{From: "bob", To: "alice", Text: "Yes. 7pm at the usual place?"},
	{From: "alice", To: "bob", Text: "Perfect. I'll bring the documents."},
	{From: "alice", To: "bob", Text: "The new draft is ready too."},
	{From: "bob", To: "alice", Text: "Great, send it over when you can."},
	{From: "bob", To: "alice", Text: "And don't forget the cake for Sam."},
	{From: "alice", To: "bob", Text: "Ha, of course."},
	{From: "bob", To: "alice", Text: "See you then!"},
	{From: "alice", To: "bob", Text: "Can you call me tomorrow?"},
	{From: "bob", To: "alice", Text: "Sure, after lunch."},
	{From: "alice", To: "bob", Text: "Thanks. (Bob reads this one later.)", Offline: true},
	{From: "alice", To: "bob", Text: "Safe travels!"},
}

// run is one demo run's state.
type run struct {
	opts   Options
	out    *printer
	dir    string
	rand   io.Reader
	url    string
	srv    *relay.Server
	st     *providerStore
	logf   *os.File
	users  map[string]*user
	result Result
	// phase is the folder of the current relay and its clients.
	phase string
	// lastKey is the ratchet key each user last sent with.
	lastKey map[string][32]byte
}

// Run runs the demo and prints it to opts.Out.
func Run(ctx context.Context, opts Options) (*Result, error) {
	if opts.Mode == "" {
		opts.Mode = Normal
	}
	if opts.Out == nil {
		opts.Out = io.Discard
	}
	if opts.Script == nil {
		opts.Script = defaultScript
	}
	d := &run{opts: opts, out: &printer{w: opts.Out}, rand: opts.Rand, users: map[string]*user{}, lastKey: map[string][32]byte{}}
	if d.rand == nil {
		d.rand = rand.Reader
	}
	var err error
	if d.dir, err = workDir(opts); err != nil {
		return nil, err
	}
	d.result.Dir = d.dir
	if !opts.Keep && opts.Dir == "" {
		defer os.RemoveAll(d.dir)
	}
	defer d.closeAll()
	switch opts.Mode {
	case Normal, Escrow:
		err = d.conversation(ctx)
	case Ghost:
		err = d.ghost(ctx)
	default:
		err = fmt.Errorf("demo: unknown mode %q", opts.Mode)
	}
	if err != nil {
		return nil, err
	}
	return &d.result, d.out.err
}

func workDir(opts Options) (string, error) {
	if opts.Dir != "" {
		return opts.Dir, os.MkdirAll(opts.Dir, 0o700)
	}
	return os.MkdirTemp("", "blindpost-demo-")
}

// startRelay starts an embedded relay on loopback with its data in dir.
func (d *run) startRelay(dir string) error {
	d.phase = dir
	bolt, err := store.Open(filepath.Join(dir, "relay"), store.Options{})
	if err != nil {
		return err
	}
	d.st = newProviderStore(bolt)
	d.logf, err = os.OpenFile(filepath.Join(dir, "relay.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	d.srv, err = relay.New(relay.Config{Store: d.st, Logger: slog.New(slog.NewTextHandler(d.logf, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go d.srv.Serve(l)
	d.url = "ws://" + l.Addr().String()
	return nil
}

// stopRelay shuts the relay down and closes its database, so that the
// provider can open it.
func (d *run) stopRelay() error {
	var errs []error
	if d.srv != nil {
		errs = append(errs, d.srv.Close())
		d.srv = nil
	}
	if d.st != nil {
		errs = append(errs, d.st.Close())
	}
	if d.logf != nil {
		errs = append(errs, d.logf.Close())
		d.logf = nil
	}
	return errors.Join(errs...)
}

func (d *run) closeAll() {
	for _, u := range d.users {
		u.close()
	}
	d.users = map[string]*user{}
	d.lastKey = map[string][32]byte{}
	d.stopRelay()
}

// user returns the participant called name, creating it on first use.
func (d *run) user(ctx context.Context, name string) (*user, error) {
	if u, ok := d.users[name]; ok {
		return u, nil
	}
	u, err := newUser(d, name)
	if err != nil {
		return nil, err
	}
	d.users[name] = u
	acct, _ := u.p.Account()
	d.out.step("%s sets up a client: a new identity key %s, a signed prekey, %d one-time prekeys, a last-resort Kyber prekey",
		title(name), short(acct.Identity.Public[:]), messenger.PreKeyBatch)
	d.out.detail("and %d one-time Kyber prekeys (post-quantum, for PQXDH); the public halves go to the relay", messenger.KyberPreKeyBatch)
	return u, u.start(ctx)
}

func title(name string) string {
	if name == "" {
		return name
	}
	return string(name[0]-32) + name[1:]
}
