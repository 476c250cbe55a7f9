package relay_test

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/blindpost/blindpost/proto/relaypb"
	"github.com/blindpost/blindpost/relay"
	"github.com/blindpost/blindpost/relay/client"
	"github.com/blindpost/blindpost/relay/store"
)

func TestMalformedFrames(t *testing.T) {
	tr := startRelay(t)
	rc := dialRaw(t, tr.url)

	rc.request(7, &relaypb.Request{}) // a request with no known body
	if r := rc.response(7); r.Status != relaypb.Status_STATUS_BAD_REQUEST || r.Reason != "unknown request" {
		t.Fatalf("unknown request: %v %q", r.Status, r.Reason)
	}
	rc.writeBytes([]byte{0xff, 0xff, 0xff}) // not protobuf
	if e := rc.read().GetPush().GetError(); e == nil || e.Reason != "malformed frame" {
		t.Fatal("no error frame for a malformed frame")
	}
	rc.writeBytes([]byte{0x1a, 0x00}) // a Push, which clients may not send
	if e := rc.read().GetPush().GetError(); e == nil || e.Reason != "clients send only requests" {
		t.Fatal("no error frame for a client push")
	}
	rc.writeBytes([]byte{0x0a}) // truncated
	if code, _ := rc.expectClose(); code != 4000 {
		t.Fatalf("close code %d after three bad frames, want 4000", code)
	}
}

func TestTextFrameClosed(t *testing.T) {
	tr := startRelay(t)
	rc := dialRaw(t, tr.url)
	if err := rc.ws.WriteMessage(websocket.TextMessage, []byte("{}")); err != nil {
		t.Fatal(err)
	}
	if code, reason := rc.expectClose(); code != 1003 || reason != "binary frames only" {
		t.Fatalf("close %d %q", code, reason)
	}
}

func TestOversizedFrameClosed(t *testing.T) {
	tr := startRelay(t)
	rc := dialRaw(t, tr.url)
	rc.writeBytes(make([]byte, relay.DefaultLimits().MaxFrameSize+1))
	if code, _ := rc.expectClose(); code != websocket.CloseMessageTooBig {
		t.Fatalf("close code %d, want 1009", code)
	}
	waitFor(t, func() bool { return metric(t, tr, "blindpost_relay_closes_oversize_total") == "1" })
}

func TestFloodClosed(t *testing.T) {
	l := relay.DefaultLimits()
	l.FrameRate, l.FrameBurst = 5, 5
	tr := startRelay(t, withLimits(l))
	rc := dialRaw(t, tr.url)
	go func() {
		for i := range 300 {
			if rc.ws.WriteMessage(websocket.BinaryMessage, frameBytes(t, uint64(i+1), &relaypb.Request{})) != nil {
				return
			}
		}
	}()
	limited := 0
	for {
		f, err := rc.tryRead()
		if err != nil {
			var ce *websocket.CloseError
			if !errors.As(err, &ce) || ce.Code != 4002 || ce.Text != "flood" {
				t.Fatalf("ended with %v, want close 4002 flood", err)
			}
			break
		}
		if f.GetResponse().GetStatus() == relaypb.Status_STATUS_RATE_LIMITED {
			limited++
		}
	}
	if limited == 0 {
		t.Fatal("no RATE_LIMITED response before the close")
	}
}

func frameBytes(t *testing.T, id uint64, req *relaypb.Request) []byte {
	req.Id = id
	b, err := protoMarshal(&relaypb.Frame{Kind: &relaypb.Frame_Request{Request: req}})
	if err != nil {
		t.Error(err)
	}
	return b
}

func TestAuthTimeout(t *testing.T) {
	l := relay.DefaultLimits()
	l.AuthTimeout = 200 * time.Millisecond
	tr := startRelay(t, withLimits(l))
	rc := dialRaw(t, tr.url)
	if code, reason := rc.expectClose(); code != 4005 || reason != "authentication timeout" {
		t.Fatalf("close %d %q", code, reason)
	}
}

// TestSlowReader has a recipient that stops reading: the relay drops it
// once a write has blocked for WriteTimeout, and loses nothing: every
// message is delivered on the next connection.
func TestSlowReader(t *testing.T) {
	l := relay.DefaultLimits()
	l.WriteTimeout = 300 * time.Millisecond
	tr := startRelay(t, withLimits(l))
	alice, bob := newAccount(t, "alice"), newAccount(t, "bob")
	a := register(t, tr.url, alice)
	register(t, tr.url, bob).Close()

	// Bob connects with a tiny receive buffer, authenticates, and never
	// reads again.
	d := websocket.Dialer{NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err == nil {
			err = c.(*net.TCPConn).SetReadBuffer(4096)
		}
		return c, err
	}}
	dialRawWith(t, tr.url, &d).authenticate(bob)
	const n = 160
	content := make([]byte, 90<<10)
	for i := range n {
		content[0], content[1] = byte(i), byte(i>>8)
		if _, err := a.Send(ctxT(t), bob.name, 1, 2, content); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, func() bool { return metric(t, tr, "blindpost_relay_closes_slow_reader_total") == "1" })

	b := login(t, tr.url, bob)
	for i := range n {
		e := receive(t, b)
		if int(e.Content[0])|int(e.Content[1])<<8 != i {
			t.Fatalf("message %d out of place", i)
		}
		if err := b.Ack(ctxT(t), e.ID); err != nil {
			t.Fatal(err)
		}
	}
}

// panicStore panics when a message is sent to a name starting "boom".
type panicStore struct{ store.Store }

func (p panicStore) Enqueue(ctx context.Context, e store.Envelope) (uint64, error) {
	if strings.HasPrefix(e.Recipient.Name, "boom") {
		panic("test panic in the store")
	}
	return p.Store.Enqueue(ctx, e)
}

func TestPanicIsolated(t *testing.T) {
	st, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	tr := startRelay(t, withStore(panicStore{st}))
	alice, bob, boom := newAccount(t, "alice"), newAccount(t, "bob"), newAccount(t, "boom")
	a := register(t, tr.url, alice)
	b := register(t, tr.url, bob)
	register(t, tr.url, boom).Close()

	if _, err := a.Send(ctxT(t), boom.name, 1, 2, []byte("x")); err == nil {
		t.Fatal("send that panicked succeeded")
	}
	<-a.Done()
	var ce *client.CloseError
	if !errors.As(a.Err(), &ce) || ce.Code != 1011 || ce.Reason != "internal error" {
		t.Fatalf("panicking connection closed with %v", a.Err())
	}
	// Bob's connection and the relay carry on.
	if _, err := b.Send(ctxT(t), bob.name, 1, 2, []byte("still here")); err != nil {
		t.Fatal(err)
	}
	if e := receive(t, b); string(e.Content) != "still here" {
		t.Fatalf("got %q", e.Content)
	}
	if got := metric(t, tr, "blindpost_relay_panics_total"); got != "1" {
		t.Errorf("panics = %s", got)
	}
	if !strings.Contains(tr.logs.String(), "handler panic recovered") {
		t.Error("panic not logged")
	}
}

// TestLogsCarryNoSecrets runs registration, uploads, an exchange and some
// failures with debug logging, then looks for content, keys and secrets in
// the logs in every usual encoding.
func TestLogsCarryNoSecrets(t *testing.T) {
	tr := startRelay(t)
	alice, bob := newAccount(t, "alice"), newAccount(t, "bob")
	a := register(t, tr.url, alice)
	b := register(t, tr.url, bob)
	up := makeUpload(t, alice, 3, 1)
	if err := a.UploadPreKeys(ctxT(t), up); err != nil {
		t.Fatal(err)
	}
	bad := makeUpload(t, alice, 1, 1)
	bad.SignedPreKey.Signature[5] ^= 1
	if err := a.UploadPreKeys(ctxT(t), bad); err == nil {
		t.Fatal("forged upload accepted")
	}
	content := []byte("SECRET-CONTENT-MARKER-7f3a")
	if _, err := b.Send(ctxT(t), alice.name, 1, 3, content); err != nil {
		t.Fatal(err)
	}
	receive(t, a)
	if err := dial(t, tr.url).AuthenticateWithSecret(ctxT(t), bob.name, 1, alice.secret); err == nil {
		t.Fatal("wrong secret accepted")
	}
	tr.stop()

	logs := tr.logs.String()
	if !strings.Contains(logs, "authentication failed") {
		t.Fatal("the test did not exercise the failure logs")
	}
	for name, v := range map[string][]byte{
		"content":          content,
		"identity key":     alice.ik.Public[:],
		"identity private": alice.ik.Private[:],
		"device secret":    alice.secret[:],
		"signed prekey":    up.SignedPreKey.PublicKey[:],
		"prekey":           up.PreKeys[0].PublicKey[:],
		"signature":        up.SignedPreKey.Signature[:],
	} {
		for _, enc := range []string{string(v), hex.EncodeToString(v), base64.StdEncoding.EncodeToString(v), base64.RawURLEncoding.EncodeToString(v)} {
			if strings.Contains(logs, enc) {
				t.Errorf("logs contain the %s", name)
			}
		}
	}
}
