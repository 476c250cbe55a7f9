package relay_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/blindpost/blindpost/relay"
	"github.com/blindpost/blindpost/relay/client"
)

func TestExchange(t *testing.T) {
	tr := startRelay(t)
	alice, bob := newAccount(t, "alice"), newAccount(t, "bob")
	a := register(t, tr.url, alice)
	b := register(t, tr.url, bob)
	expectNoEnvelope(t, a)
	expectNoEnvelope(t, b)

	for i := range 3 {
		msg := fmt.Appendf(nil, "ciphertext a->b %d", i)
		if _, err := a.Send(ctxT(t), bob.name, 1, 3, msg); err != nil {
			t.Fatal(err)
		}
		e := receive(t, b)
		if e.Kind != client.KindMessage || e.Sender != alice.name || e.SenderDevice != 1 ||
			e.Recipient != bob.name || e.RecipientDevice != 1 || e.Type != 3 || !bytes.Equal(e.Content, msg) {
			t.Fatalf("envelope = %+v", e)
		}
		if time.Since(e.ServerTime) > time.Minute {
			t.Errorf("server time %v", e.ServerTime)
		}
		if err := b.Ack(ctxT(t), e.ID); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.Send(ctxT(t), alice.name, 1, 2, []byte("reply")); err != nil {
		t.Fatal(err)
	}
	if e := receive(t, a); string(e.Content) != "reply" || e.Type != 2 || e.Sender != bob.name {
		t.Fatalf("reply = %+v", e)
	}
}

func TestOfflineDeliveryAcrossRestart(t *testing.T) {
	tr := startRelay(t)
	alice, bob := newAccount(t, "alice"), newAccount(t, "bob")
	a := register(t, tr.url, alice)
	register(t, tr.url, bob).Close()

	const n = 20
	for i := range n {
		if _, err := a.Send(ctxT(t), bob.name, 1, 2, fmt.Appendf(nil, "m%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	tr.restart()

	b := login(t, tr.url, bob)
	var ids []uint64
	for i := range n {
		e := receive(t, b)
		if want := fmt.Sprintf("m%d", i); string(e.Content) != want {
			t.Fatalf("envelope %d = %q, want %q (order kept)", i, e.Content, want)
		}
		ids = append(ids, e.ID)
	}
	select {
	case <-b.QueueEmpty():
	case <-time.After(5 * time.Second):
		t.Fatal("no QueueEmpty after the backlog")
	}
	if err := b.Ack(ctxT(t), ids...); err != nil {
		t.Fatal(err)
	}
	b.Close()
	tr.restart()
	expectNoEnvelope(t, login(t, tr.url, bob))
}

func TestRedeliveryUntilAcknowledged(t *testing.T) {
	tr := startRelay(t)
	alice, bob := newAccount(t, "alice"), newAccount(t, "bob")
	a := register(t, tr.url, alice)
	b := register(t, tr.url, bob)
	for _, m := range []string{"one", "two"} {
		if _, err := a.Send(ctxT(t), bob.name, 1, 2, []byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	first, second := receive(t, b), receive(t, b)
	if err := b.Ack(ctxT(t), first.ID); err != nil {
		t.Fatal(err)
	}
	b.Close()

	b = login(t, tr.url, bob)
	again := receive(t, b)
	if again.ID != second.ID || string(again.Content) != "two" {
		t.Fatalf("redelivered %d %q, want %d two", again.ID, again.Content, second.ID)
	}
	if err := b.Ack(ctxT(t), again.ID); err != nil {
		t.Fatal(err)
	}
	b.Close()
	expectNoEnvelope(t, login(t, tr.url, bob))
}

func TestSendRefusals(t *testing.T) {
	l := relay.DefaultLimits()
	l.QueueCap = 3
	l.MaxContentSize = 1000
	tr := startRelay(t, withLimits(l))
	alice, bob := newAccount(t, "alice"), newAccount(t, "bob")
	a := register(t, tr.url, alice)
	register(t, tr.url, bob).Close()

	cases := []struct {
		name      string
		recipient string
		device    uint32
		content   []byte
		want      error
	}{
		{"unknown account", "nobody", 1, []byte("x"), client.ErrNotFound},
		{"unknown device", bob.name, 2, []byte("x"), client.ErrNotFound},
		{"bad name", "Bob!", 1, []byte("x"), client.ErrBadRequest},
		{"device 0", bob.name, 0, []byte("x"), client.ErrBadRequest},
		{"empty", bob.name, 1, nil, client.ErrBadRequest},
		{"too large", bob.name, 1, make([]byte, 1001), client.ErrTooLarge},
	}
	for _, tc := range cases {
		if _, err := a.Send(ctxT(t), tc.recipient, tc.device, 2, tc.content); !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
	}
	if _, err := a.Send(ctxT(t), bob.name, 1, 2, make([]byte, 1000)); err != nil {
		t.Fatalf("content at the cap: %v", err)
	}
	for range 2 {
		if _, err := a.Send(ctxT(t), bob.name, 1, 2, []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a.Send(ctxT(t), bob.name, 1, 2, []byte("x")); !errors.Is(err, client.ErrQueueFull) {
		t.Fatalf("fourth message to a queue capped at 3: err = %v", err)
	}
}

func TestExpiry(t *testing.T) {
	tr := startRelay(t)
	alice, bob := newAccount(t, "alice"), newAccount(t, "bob")
	a := register(t, tr.url, alice)
	register(t, tr.url, bob).Close()
	if _, err := a.Send(ctxT(t), bob.name, 1, 2, []byte("old")); err != nil {
		t.Fatal(err)
	}
	tr.clock.Advance(30*24*time.Hour + time.Minute)
	if _, err := a.Send(ctxT(t), bob.name, 1, 2, []byte("new")); err != nil {
		t.Fatal(err)
	}
	b := login(t, tr.url, bob)
	if e := receive(t, b); string(e.Content) != "new" {
		t.Fatalf("got %q, want only the unexpired message", e.Content)
	}
	b.Close()
	// A restart runs the sweeper, which deletes the expired envelope.
	tr.restart()
	waitFor(t, func() bool { return metric(t, tr, "blindpost_relay_envelopes_expired_total") == "1" })
}

func TestDeviceSecretAuthentication(t *testing.T) {
	tr := startRelay(t)
	alice, bob := newAccount(t, "alice"), newAccount(t, "bob")
	register(t, tr.url, alice).Close()
	b := register(t, tr.url, bob)

	a := dial(t, tr.url)
	if err := a.AuthenticateWithSecret(ctxT(t), alice.name, 1, alice.secret); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Send(ctxT(t), bob.name, 1, 2, []byte("hi")); err != nil {
		t.Fatal(err)
	}
	if e := receive(t, b); e.Sender != alice.name {
		t.Fatalf("sender %q", e.Sender)
	}
}

func TestSecondDevice(t *testing.T) {
	tr := startRelay(t)
	alice, bob := newAccount(t, "alice"), newAccount(t, "bob")
	a1 := register(t, tr.url, alice)
	a2 := registerDevice(t, tr.url, alice, 2)
	b := register(t, tr.url, bob)
	uploadKeys(t, a1, alice, 2)
	uploadKeys(t, a2, alice, 2)

	bundle, err := b.FetchBundle(ctxT(t), alice.name, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(bundle.Devices) != 2 || !bundle.IdentityKey.Equal(alice.ik.Public) {
		t.Fatalf("bundle has %d devices", len(bundle.Devices))
	}
	for _, d := range bundle.Devices {
		if _, err := b.Send(ctxT(t), alice.name, d.DeviceID, 3, []byte("to each device")); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []*client.Client{a1, a2} {
		if e := receive(t, c); string(e.Content) != "to each device" {
			t.Fatalf("got %q", e.Content)
		}
	}
	// A device registered with another key is refused.
	c := dial(t, tr.url)
	other := newAccount(t, "x")
	_, err = c.Register(ctxT(t), client.Registration{Name: alice.name, DeviceID: 3, RegistrationID: 5, IdentityKey: other.ik})
	if !errors.Is(err, client.ErrConflict) {
		t.Fatalf("device with another key: err = %v", err)
	}
}

func TestIdentityChange(t *testing.T) {
	tr := startRelay(t)
	alice, bob := newAccount(t, "alice"), newAccount(t, "bob")
	recovery, err := client.GenerateSecret(strings.NewReader(strings.Repeat("r", 32)))
	if err != nil {
		t.Fatal(err)
	}
	a := dial(t, tr.url)
	if _, err := a.Register(ctxT(t), client.Registration{
		Name: alice.name, DeviceID: 1, RegistrationID: alice.regID, IdentityKey: alice.ik, RecoverySecret: &recovery,
	}); err != nil {
		t.Fatal(err)
	}
	b := register(t, tr.url, bob)
	// Bob and Alice become contacts by exchanging a message.
	if _, err := b.Send(ctxT(t), alice.name, 1, 3, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	e := receive(t, a)
	if err := a.Ack(ctxT(t), e.ID); err != nil {
		t.Fatal(err)
	}

	newKey := newAccount(t, "k").ik
	change := func(r client.Registration) (client.Registered, error) {
		c := dial(t, tr.url)
		r.Name, r.DeviceID, r.RegistrationID, r.IdentityKey = alice.name, 1, 99, newKey
		return c.Register(ctxT(t), r)
	}
	// Without identity_change, or without a valid proof, the name stays.
	if _, err := change(client.Registration{}); !errors.Is(err, client.ErrConflict) {
		t.Fatalf("plain re-registration with a new key: err = %v", err)
	}
	wrong := newAccount(t, "w").ik
	if _, err := change(client.Registration{IdentityChange: true, OldIdentityKey: &wrong}); !errors.Is(err, client.ErrUnauthenticated) {
		t.Fatalf("change signed by a stranger: err = %v", err)
	}
	bad := client.Secret{}
	if _, err := change(client.Registration{IdentityChange: true, CurrentRecoverySecret: &bad}); !errors.Is(err, client.ErrUnauthenticated) {
		t.Fatalf("change with a wrong recovery secret: err = %v", err)
	}
	// With the recovery secret, the change goes through and is announced.
	res, err := change(client.Registration{IdentityChange: true, CurrentRecoverySecret: &recovery})
	if err != nil || !res.IdentityChanged {
		t.Fatalf("change with the recovery secret: %+v, %v", res, err)
	}
	notice := receive(t, b)
	if notice.Kind != client.KindIdentityChange || notice.Sender != alice.name || !notice.IdentityKey.Equal(newKey.Public) {
		t.Fatalf("notice = %+v", notice)
	}
	// The old key's connection is closed and the old key no longer works.
	select {
	case <-a.Done():
		var ce *client.CloseError
		if !errors.As(a.Err(), &ce) || ce.Reason != "identity changed" {
			t.Errorf("old connection closed with %v", a.Err())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("old connection still open")
	}
	if err := dial(t, tr.url).Authenticate(ctxT(t), alice.name, 1, alice.ik); !errors.Is(err, client.ErrUnauthenticated) {
		t.Fatalf("old key after the change: err = %v", err)
	}
	// The new key can hand the name on by signing with itself.
	newer := newAccount(t, "n").ik
	c := dial(t, tr.url)
	res, err = c.Register(ctxT(t), client.Registration{
		Name: alice.name, DeviceID: 1, RegistrationID: 3, IdentityKey: newer,
		IdentityChange: true, OldIdentityKey: &newKey,
	})
	if err != nil || !res.IdentityChanged {
		t.Fatalf("change signed by the current key: %+v, %v", res, err)
	}
	if n := receive(t, b); !n.IdentityKey.Equal(newer.Public) {
		t.Fatal("second notice has the wrong key")
	}
}

func TestHealthAndMetrics(t *testing.T) {
	tr := startRelay(t)
	base := "http://" + strings.TrimPrefix(tr.url, "ws://")
	resp, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "ok\n" {
		t.Fatalf("healthz: %d %q", resp.StatusCode, body)
	}
	alice := newAccount(t, "alice")
	a := register(t, tr.url, alice)
	if _, err := a.Send(ctxT(t), alice.name, 1, 2, []byte("note to self")); err != nil {
		t.Fatal(err)
	}
	if got := metric(t, tr, "blindpost_relay_messages_stored_total"); got != "1" {
		t.Errorf("messages stored = %s", got)
	}
	if got := metric(t, tr, "blindpost_relay_connections_open"); got != "1" {
		t.Errorf("connections open = %s", got)
	}
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10 s")
		}
	}
}

// metricB reads one numeric value from /metrics.
func metricB(t testing.TB, tr *testRelay, name string) int64 {
	t.Helper()
	var n int64
	if _, err := fmt.Sscan(metric(t, tr, name), &n); err != nil {
		t.Fatal(err)
	}
	return n
}

// metric reads one value from /metrics.
func metric(t testing.TB, tr *testRelay, name string) string {
	t.Helper()
	resp, err := http.Get("http://" + strings.TrimPrefix(tr.url, "ws://") + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return v
		}
	}
	t.Fatalf("metric %s missing", name)
	return ""
}

func TestShutdownClosesWithReason(t *testing.T) {
	tr := startRelay(t)
	alice := newAccount(t, "alice")
	a := register(t, tr.url, alice)
	tr.stop()
	select {
	case <-a.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("connection survived shutdown")
	}
	var ce *client.CloseError
	if !errors.As(a.Err(), &ce) || ce.Code != 1001 || ce.Reason != "relay shutting down" {
		t.Fatalf("closed with %v", a.Err())
	}
}
