package relay_test

import (
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"google.golang.org/protobuf/proto"

	"github.com/blindpost/blindpost/proto/relaypb"
	"github.com/blindpost/blindpost/relay/client"
	"github.com/blindpost/blindpost/relay/protocol"
)

// rawConn is a websocket client that writes frames by hand.
type rawConn struct {
	t     *testing.T
	ws    *websocket.Conn
	nonce []byte
}

func dialRaw(t *testing.T, url string) *rawConn {
	t.Helper()
	return dialRawWith(t, url, websocket.DefaultDialer)
}

func dialRawWith(t *testing.T, url string, d *websocket.Dialer) *rawConn {
	t.Helper()
	ws, _, err := d.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	rc := &rawConn{t: t, ws: ws}
	f := rc.read()
	rc.nonce = f.GetPush().GetChallenge().GetNonce()
	if len(rc.nonce) != protocol.ChallengeSize {
		t.Fatalf("first frame is not a challenge: %v", f)
	}
	return rc
}

func (rc *rawConn) writeBytes(b []byte) {
	rc.t.Helper()
	if err := rc.ws.WriteMessage(websocket.BinaryMessage, b); err != nil {
		rc.t.Fatal(err)
	}
}

func (rc *rawConn) request(id uint64, req *relaypb.Request) []byte {
	rc.t.Helper()
	req.Id = id
	b, err := proto.Marshal(&relaypb.Frame{Kind: &relaypb.Frame_Request{Request: req}})
	if err != nil {
		rc.t.Fatal(err)
	}
	rc.writeBytes(b)
	return b
}

// read returns the next frame, or fails the test if the connection ends.
func (rc *rawConn) read() *relaypb.Frame {
	rc.t.Helper()
	f, err := rc.tryRead()
	if err != nil {
		rc.t.Fatalf("read: %v", err)
	}
	return f
}

func (rc *rawConn) tryRead() (*relaypb.Frame, error) {
	if err := rc.ws.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		return nil, err
	}
	_, b, err := rc.ws.ReadMessage()
	if err != nil {
		return nil, err
	}
	var f relaypb.Frame
	if err := proto.Unmarshal(b, &f); err != nil {
		return nil, err
	}
	return &f, nil
}

// response reads frames until the response to id.
func (rc *rawConn) response(id uint64) *relaypb.Response {
	rc.t.Helper()
	for {
		if r := rc.read().GetResponse(); r != nil && r.Id == id {
			return r
		}
	}
}

// expectClose reads until the relay closes and returns the close code and
// reason.
func (rc *rawConn) expectClose() (int, string) {
	rc.t.Helper()
	for {
		_, err := rc.tryRead()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) {
			rc.t.Fatalf("connection ended without a close frame: %v", err)
		}
		return ce.Code, ce.Text
	}
}

// authenticate authenticates the raw connection as a's device 1.
func (rc *rawConn) authenticate(a account) {
	rc.t.Helper()
	sig, err := a.ik.Sign(rand.Reader, protocol.AuthenticateTranscript(rc.nonce, a.name, 1))
	if err != nil {
		rc.t.Fatal(err)
	}
	rc.request(1, authRequest(a.name, 1, sig[:]))
	if r := rc.response(1); r.Status != relaypb.Status_STATUS_OK {
		rc.t.Fatalf("authenticate: %v", r.Status)
	}
}

func authRequest(name string, device uint32, sig []byte) *relaypb.Request {
	return &relaypb.Request{Body: &relaypb.Request_Authenticate{Authenticate: &relaypb.Authenticate{
		Name: name, DeviceId: device, Proof: &relaypb.Authenticate_Signature{Signature: sig},
	}}}
}

func TestAuthenticationMatrix(t *testing.T) {
	tr := startRelay(t)
	alice, bob := newAccount(t, "alice"), newAccount(t, "bob")
	register(t, tr.url, alice).Close()
	b := register(t, tr.url, bob)
	if _, err := b.Send(ctxT(t), alice.name, 1, 2, []byte("for alice only")); err != nil {
		t.Fatal(err)
	}
	uploadKeys(t, b, bob, 3)

	sign := func(rc *rawConn, a account, name string, device uint32) []byte {
		sig, err := a.ik.Sign(rand.Reader, protocol.AuthenticateTranscript(rc.nonce, name, device))
		if err != nil {
			t.Fatal(err)
		}
		return sig[:]
	}
	mallory := newAccount(t, "mallory")

	t.Run("none", func(t *testing.T) {
		rc := dialRaw(t, tr.url)
		reqs := []*relaypb.Request{
			{Body: &relaypb.Request_Send{Send: &relaypb.Send{Recipient: alice.name, RecipientDevice: 1, Content: []byte("x")}}},
			{Body: &relaypb.Request_Ack{Ack: &relaypb.Ack{Ids: []uint64{1}}}},
			{Body: &relaypb.Request_CountPreKeys{CountPreKeys: &relaypb.CountPreKeys{}}},
			{Body: &relaypb.Request_FetchBundle{FetchBundle: &relaypb.FetchBundle{Name: bob.name}}},
			{Body: &relaypb.Request_UploadPreKeys{UploadPreKeys: &relaypb.UploadPreKeys{}}},
		}
		for i, req := range reqs {
			rc.request(uint64(i+1), req)
			if r := rc.response(uint64(i + 1)); r.Status != relaypb.Status_STATUS_UNAUTHENTICATED {
				t.Errorf("request %d without authentication: %v", i, r.Status)
			}
		}
	})
	refused := func(t *testing.T, rc *rawConn, req *relaypb.Request) {
		t.Helper()
		rc.request(1, req)
		if r := rc.response(1); r.Status != relaypb.Status_STATUS_UNAUTHENTICATED {
			t.Fatalf("status %v, want UNAUTHENTICATED", r.Status)
		}
		if code, reason := rc.expectClose(); code != 4001 || reason != "authentication failed" {
			t.Fatalf("close %d %q", code, reason)
		}
	}
	t.Run("wrong key", func(t *testing.T) {
		rc := dialRaw(t, tr.url)
		refused(t, rc, authRequest(alice.name, 1, sign(rc, mallory, alice.name, 1)))
	})
	t.Run("another account's name", func(t *testing.T) {
		// Bob's own key, valid for bob, presented for alice.
		rc := dialRaw(t, tr.url)
		refused(t, rc, authRequest(alice.name, 1, sign(rc, bob, alice.name, 1)))
	})
	t.Run("signature for another device", func(t *testing.T) {
		rc := dialRaw(t, tr.url)
		refused(t, rc, authRequest(alice.name, 1, sign(rc, alice, alice.name, 2)))
	})
	t.Run("unregistered device", func(t *testing.T) {
		rc := dialRaw(t, tr.url)
		refused(t, rc, authRequest(alice.name, 2, sign(rc, alice, alice.name, 2)))
	})
	t.Run("unknown account", func(t *testing.T) {
		rc := dialRaw(t, tr.url)
		refused(t, rc, authRequest(mallory.name, 1, sign(rc, mallory, mallory.name, 1)))
	})
	t.Run("replayed challenge", func(t *testing.T) {
		// Alice authenticates honestly; her exact frame is replayed on a
		// new connection, whose challenge differs.
		first := dialRaw(t, tr.url)
		frame := first.request(1, authRequest(alice.name, 1, sign(first, alice, alice.name, 1)))
		if r := first.response(1); r.Status != relaypb.Status_STATUS_OK {
			t.Fatalf("honest authentication: %v", r.Status)
		}
		second := dialRaw(t, tr.url)
		second.writeBytes(frame)
		if r := second.response(1); r.Status != relaypb.Status_STATUS_UNAUTHENTICATED {
			t.Fatalf("replayed frame: %v", r.Status)
		}
	})
	t.Run("wrong device secret", func(t *testing.T) {
		rc := dialRaw(t, tr.url)
		refused(t, rc, &relaypb.Request{Body: &relaypb.Request_Authenticate{Authenticate: &relaypb.Authenticate{
			Name: alice.name, DeviceId: 1, Proof: &relaypb.Authenticate_DeviceSecret{DeviceSecret: bob.secret[:]},
		}}})
	})
	t.Run("short device secret", func(t *testing.T) {
		rc := dialRaw(t, tr.url)
		refused(t, rc, &relaypb.Request{Body: &relaypb.Request_Authenticate{Authenticate: &relaypb.Authenticate{
			Name: alice.name, DeviceId: 1, Proof: &relaypb.Authenticate_DeviceSecret{DeviceSecret: alice.secret[:16]},
		}}})
	})
	t.Run("no proof", func(t *testing.T) {
		rc := dialRaw(t, tr.url)
		refused(t, rc, &relaypb.Request{Body: &relaypb.Request_Authenticate{Authenticate: &relaypb.Authenticate{
			Name: alice.name, DeviceId: 1,
		}}})
	})
	t.Run("register without possession", func(t *testing.T) {
		// Registering alice's public key needs alice's signature.
		rc := dialRaw(t, tr.url)
		sig, err := mallory.ik.Sign(rand.Reader, protocol.RegisterTranscript(rc.nonce, alice.name, 3, 7, alice.ik.Public))
		if err != nil {
			t.Fatal(err)
		}
		refused(t, rc, &relaypb.Request{Body: &relaypb.Request_Register{Register: &relaypb.Register{
			Name: alice.name, IdentityKey: alice.ik.Public.Bytes(), DeviceId: 3, RegistrationId: 7, Signature: sig[:],
		}}})
	})
	t.Run("register over a taken name", func(t *testing.T) {
		c := dial(t, tr.url)
		_, err := c.Register(ctxT(t), client.Registration{Name: alice.name, DeviceID: 1, RegistrationID: 9, IdentityKey: mallory.ik})
		if !errors.Is(err, client.ErrConflict) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("second attempt on one connection", func(t *testing.T) {
		rc := dialRaw(t, tr.url)
		rc.request(1, authRequest(alice.name, 1, sign(rc, mallory, alice.name, 1)))
		rc.request(2, authRequest(alice.name, 1, sign(rc, alice, alice.name, 1)))
		if r := rc.response(1); r.Status != relaypb.Status_STATUS_UNAUTHENTICATED {
			t.Fatalf("first: %v", r.Status)
		}
		for {
			f, err := rc.tryRead()
			if err != nil {
				break
			}
			if r := f.GetResponse(); r != nil && r.Status == relaypb.Status_STATUS_OK {
				t.Fatal("a second attempt on the same challenge succeeded")
			}
		}
	})

	// Alice's queue, prekeys and registration were untouched by all this.
	a := login(t, tr.url, alice)
	if e := receive(t, a); string(e.Content) != "for alice only" {
		t.Fatalf("alice's queue: %q", e.Content)
	}
	n, err := b.CountPreKeys(ctxT(t))
	if err != nil || n.PreKeys != 3 {
		t.Fatalf("bob's prekeys: %+v %v", n, err)
	}
}

// TestOwnQueueOnly checks that an authenticated device can acknowledge
// (delete) only its own envelopes, even with another device's ids.
func TestOwnQueueOnly(t *testing.T) {
	tr := startRelay(t)
	alice, bob, carol := newAccount(t, "alice"), newAccount(t, "bob"), newAccount(t, "carol")
	a := register(t, tr.url, alice)
	register(t, tr.url, bob).Close()
	c := register(t, tr.url, carol)
	if _, err := a.Send(ctxT(t), bob.name, 1, 2, []byte("for bob")); err != nil {
		t.Fatal(err)
	}
	// Bob's first envelope has id 1; carol acknowledges id 1 of her queue.
	if err := c.Ack(ctxT(t), 1, 2, 3); err != nil {
		t.Fatal(err)
	}
	b := login(t, tr.url, bob)
	if e := receive(t, b); string(e.Content) != "for bob" {
		t.Fatalf("bob got %q", e.Content)
	}
}

func TestRegisterValidation(t *testing.T) {
	tr := startRelay(t)
	a := newAccount(t, "alice")
	for name, r := range map[string]client.Registration{
		"bad name":            {Name: "Alice", DeviceID: 1, RegistrationID: 1, IdentityKey: a.ik},
		"device 0":            {Name: a.name, DeviceID: 0, RegistrationID: 1, IdentityKey: a.ik},
		"device 128":          {Name: a.name, DeviceID: 128, RegistrationID: 1, IdentityKey: a.ik},
		"registration id 0":   {Name: a.name, DeviceID: 1, RegistrationID: 0, IdentityKey: a.ik},
		"registration id big": {Name: a.name, DeviceID: 1, RegistrationID: 16381, IdentityKey: a.ik},
	} {
		c := dial(t, tr.url)
		if _, err := c.Register(ctxT(t), r); !errors.Is(err, client.ErrBadRequest) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}
