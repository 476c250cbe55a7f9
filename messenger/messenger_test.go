package messenger

import (
	"context"
	"crypto/rand"
	"errors"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/blindpost/blindpost/identity"
	"github.com/blindpost/blindpost/profile"
	"github.com/blindpost/blindpost/relay"
	"github.com/blindpost/blindpost/relay/client"
)

// testRelay is a relay on loopback with its data in dir.
type testRelay struct {
	srv  *relay.Server
	url  string
	addr string
}

func startRelay(t *testing.T, dir, addr string) *testRelay {
	t.Helper()
	return startRelayConfig(t, addr, relay.Config{DataDir: dir})
}

func startRelayConfig(t *testing.T, addr string, cfg relay.Config) *testRelay {
	t.Helper()
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := relay.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	r := &testRelay{srv: srv, url: "ws://" + l.Addr().String(), addr: l.Addr().String()}
	t.Cleanup(func() { srv.Close() })
	return r
}

// user is a messenger with its profile and the events it saw.
type user struct {
	m      *Messenger
	p      *profile.Profile
	mu     sync.Mutex
	events []Event
}

func newUser(t *testing.T, name, relayURL string) *user {
	t.Helper()
	p, err := profile.Open(filepath.Join(t.TempDir(), "profile.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	if _, _, err := Setup(p, name, rand.Reader, time.Now()); err != nil {
		t.Fatal(err)
	}
	return newUserOf(t, p, relayURL, nil)
}

// newUserOf is a messenger for an existing profile; now nil is time.Now.
func newUserOf(t *testing.T, p *profile.Profile, relayURL string, now func() time.Time) *user {
	t.Helper()
	u := &user{p: p}
	var err error
	u.m, err = New(Config{Profile: p, Relay: relayURL, Now: now, OnEvent: func(e Event) {
		u.mu.Lock()
		u.events = append(u.events, e)
		u.mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { u.m.Close() })
	return u
}

func (u *user) count(kind EventKind) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	n := 0
	for _, e := range u.events {
		if e.Kind == kind {
			n++
		}
	}
	return n
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func (u *user) receiveAll(t *testing.T) {
	t.Helper()
	ctx := ctxT(t)
	c, err := u.m.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := u.m.Receive(ctx, c, 300*time.Millisecond); err != nil {
		t.Fatal(err)
	}
}

func TestOfflineDeliveryReceiptsAndHistory(t *testing.T) {
	r := startRelay(t, t.TempDir(), "")
	alice, bob := newUser(t, "alice", r.url), newUser(t, "bob", r.url)
	// Bob registers once so that his keys are on the relay, then goes away.
	if _, err := bob.m.Connect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	bob.m.Close()

	if _, err := alice.m.Connect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{"hello bob", "", "third"} {
		msg, err := alice.m.Send(ctxT(t), "bob", text)
		if err != nil {
			t.Fatal(err)
		}
		if msg.Status != profile.StatusSent {
			t.Fatalf("status %q", msg.Status)
		}
	}
	bob.receiveAll(t)
	h, _ := bob.p.History("alice")
	if len(h) != 3 || h[0].Text != "hello bob" || h[2].Text != "third" {
		t.Fatalf("bob's history: %+v", h)
	}
	// Bob's receipts reach Alice.
	alice.receiveAll(t)
	h, _ = alice.p.History("bob")
	for _, m := range h {
		if m.Status != profile.StatusDelivered {
			t.Fatalf("alice's message %q is %q, want delivered", m.Text, m.Status)
		}
	}
	// A reply, and nothing is shown twice after reconnecting.
	if _, err := bob.m.Send(ctxT(t), "alice", "hi alice"); err != nil {
		t.Fatal(err)
	}
	alice.receiveAll(t)
	alice.receiveAll(t)
	h, _ = alice.p.History("bob")
	if len(h) != 4 || h[3].Text != "hi alice" || h[3].Outgoing {
		t.Fatalf("alice's history: %+v", h)
	}
}

func TestRelayRestartMidConversation(t *testing.T) {
	dir := t.TempDir()
	r := startRelay(t, dir, "")
	alice, bob := newUser(t, "alice", r.url), newUser(t, "bob", r.url)
	bob.receiveAll(t)
	if _, err := alice.m.Connect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.m.Send(ctxT(t), "bob", "before restart"); err != nil {
		t.Fatal(err)
	}
	r.srv.Close()
	// The relay is down: the message is queued in Alice's outbox.
	if _, err := alice.m.Send(ctxT(t), "bob", "while down"); err == nil {
		t.Fatal("send succeeded with the relay down")
	}
	if box, _ := alice.p.Outbox(); len(box) != 1 {
		t.Fatalf("outbox holds %d, want 1", len(box))
	}
	r2 := startRelay(t, dir, r.addr)
	_ = r2
	if _, err := alice.m.Connect(ctxT(t)); err != nil { // flushes the outbox
		t.Fatal(err)
	}
	if box, _ := alice.p.Outbox(); len(box) != 0 {
		t.Fatalf("outbox holds %d after reconnect", len(box))
	}
	bob.receiveAll(t)
	h, _ := bob.p.History("alice")
	if len(h) != 2 || h[0].Text != "before restart" || h[1].Text != "while down" {
		t.Fatalf("bob's history: %+v", h)
	}
}

// reinstalledBob: alice and bob talked, then bob reinstalled (new identity
// key, change proved to the relay) and sent alice one message she has not
// received yet.
func reinstalledBob(t *testing.T) (alice, bob2 *user, newKey identity.PublicKey) {
	t.Helper()
	r := startRelay(t, t.TempDir(), "")
	alice = newUser(t, "alice", r.url)
	bob := newUser(t, "bob", r.url)
	bob.receiveAll(t)
	if _, err := alice.m.Connect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.m.Send(ctxT(t), "bob", "one"); err != nil {
		t.Fatal(err)
	}
	bob.receiveAll(t)
	alice.receiveAll(t)

	// Bob reinstalls with a new identity key and proves the change to the
	// relay with his old key.
	bob2 = newUser(t, "bob", r.url)
	old, _ := bob.p.Account()
	acct2, _ := bob2.p.Account()
	c, err := client.Dial(ctxT(t), r.url, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Register(ctxT(t), client.Registration{Name: "bob", DeviceID: DeviceID, RegistrationID: acct2.RegistrationID,
		IdentityKey: acct2.Identity, IdentityChange: true, OldIdentityKey: &old.Identity}); err != nil {
		t.Fatal(err)
	}
	c.Close()
	if _, err := bob2.m.Connect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := bob2.m.Send(ctxT(t), "alice", "new phone, same bob"); err != nil {
		t.Fatal(err)
	}
	return alice, bob2, acct2.Identity.Public
}

func TestIdentityChangeBlocksSendingUntilApproved(t *testing.T) {
	alice, bob2, newKey := reinstalledBob(t)
	alice.receiveAll(t)
	if alice.count(EventIdentityChanged) == 0 {
		t.Fatal("no identity change event")
	}
	ct, _, _ := alice.p.Contact("bob")
	if ct.PendingKey == nil || *ct.PendingKey != newKey {
		t.Fatalf("pending key %v", ct.PendingKey)
	}
	if _, err := alice.m.Send(ctxT(t), "bob", "to whom?"); !errors.Is(err, ErrIdentityChanged) {
		t.Fatalf("send after identity change: %v, want ErrIdentityChanged", err)
	}
	if h, _ := alice.p.History("bob"); len(h) != 1 {
		t.Fatalf("held message shown before approval: %+v", h)
	}
	if err := alice.m.Approve(ctxT(t), "bob"); err != nil {
		t.Fatal(err)
	}
	h, _ := alice.p.History("bob")
	if len(h) != 2 || h[1].Text != "new phone, same bob" {
		t.Fatalf("history after approval: %+v", h)
	}
	if _, err := alice.m.Send(ctxT(t), "bob", "welcome back"); err != nil {
		t.Fatal(err)
	}
	bob2.receiveAll(t)
	if h, _ := bob2.p.History("alice"); len(h) != 2 || h[1].Text != "welcome back" {
		t.Fatalf("bob2's history: %+v", h)
	}
}

// An approval that comes while bob's message is being decrypted under the
// old trust (the relay's notice has already marked bob) must neither lose
// the message nor leave bob marked again.
func TestApproveDuringDecryption(t *testing.T) {
	alice, _, _ := reinstalledBob(t)
	approved := make(chan error, 1)
	var once sync.Once
	testHookDecrypted = func() {
		once.Do(func() {
			go func() { approved <- alice.m.Approve(ctxT(t), "bob") }()
			// Room for an approval that does not wait for this message.
			time.Sleep(100 * time.Millisecond)
		})
	}
	t.Cleanup(func() { testHookDecrypted = nil })
	alice.receiveAll(t)
	if err := <-approved; err != nil {
		t.Fatal(err)
	}
	c, _, _ := alice.p.Contact("bob")
	h, _ := alice.p.History("bob")
	if c.PendingKey != nil || len(h) != 2 || h[1].Text != "new phone, same bob" {
		t.Fatalf("after the approval: pending %v, history %+v", c.PendingKey, h)
	}
	if held, _ := alice.p.HeldFrom("bob"); len(held) != 0 {
		t.Fatalf("%d messages still held", len(held))
	}
}
