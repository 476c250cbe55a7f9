package relay_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/blindpost/blindpost/identity"
	"github.com/blindpost/blindpost/relay"
	"github.com/blindpost/blindpost/relay/client"
	"github.com/blindpost/blindpost/relay/protocol"
	"github.com/blindpost/blindpost/relay/store"
)

// testRelay is a relay on a loopback port with its data in a temp dir.
type testRelay struct {
	t     testing.TB
	srv   *relay.Server
	url   string
	dir   string
	cfg   relay.Config
	clock *fakeClock
	logs  *syncBuffer
}

type relayOption func(*relay.Config)

func withLimits(l relay.Limits) relayOption { return func(c *relay.Config) { c.Limits = l } }

func withStore(s store.Store) relayOption { return func(c *relay.Config) { c.Store = s } }

// startRelay starts a relay whose logs (debug level) go to a buffer the
// test can inspect.
func startRelay(t *testing.T, opts ...relayOption) *testRelay {
	return startRelayB(t, opts...)
}

// startRelayB is startRelay for benchmarks too.
func startRelayB(t testing.TB, opts ...relayOption) *testRelay {
	t.Helper()
	tr := &testRelay{t: t, dir: t.TempDir(), clock: newFakeClock(), logs: &syncBuffer{}}
	tr.cfg = relay.Config{
		DataDir: tr.dir,
		Now:     tr.clock.Now,
		Logger:  slog.New(slog.NewTextHandler(tr.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	for _, o := range opts {
		o(&tr.cfg)
	}
	tr.start()
	t.Cleanup(func() { tr.stop() })
	return tr
}

func (tr *testRelay) start() {
	tr.t.Helper()
	srv, err := relay.New(tr.cfg)
	if err != nil {
		tr.t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tr.t.Fatal(err)
	}
	tr.srv, tr.url = srv, "ws://"+ln.Addr().String()
	go func() {
		if err := srv.Serve(ln); err != nil {
			tr.t.Errorf("serve: %v", err)
		}
	}()
}

func (tr *testRelay) stop() {
	if tr.srv == nil {
		return
	}
	if err := tr.srv.Close(); err != nil {
		tr.t.Errorf("close relay: %v", err)
	}
	tr.srv = nil
}

// restart closes the relay and opens a new one on the same data dir.
func (tr *testRelay) restart() {
	tr.stop()
	tr.start()
}

// fakeClock is a settable clock starting at the real time.
type fakeClock struct{ offset atomic.Int64 }

func newFakeClock() *fakeClock { return &fakeClock{} }

func (c *fakeClock) Now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

func (c *fakeClock) Advance(d time.Duration) { c.offset.Add(int64(d)) }

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// account is a test user: a name, an identity key and a device secret.
type account struct {
	name   string
	ik     identity.IdentityKeyPair
	regID  uint32
	secret client.Secret
}

func newAccount(t testing.TB, prefix string) account {
	t.Helper()
	ik, err := identity.GenerateIdentityKeyPair(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	regID, err := identity.GenerateRegistrationID(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	secret, err := client.GenerateSecret(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var suffix [4]byte
	if _, err := rand.Read(suffix[:]); err != nil {
		t.Fatal(err)
	}
	return account{name: fmt.Sprintf("%s-%x", prefix, suffix), ik: ik, regID: regID, secret: secret}
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func dial(t testing.TB, url string) *client.Client {
	t.Helper()
	c, err := client.Dial(ctxT(t), url, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// register connects and registers a's device 1.
func register(t testing.TB, url string, a account) *client.Client {
	t.Helper()
	return registerDevice(t, url, a, 1)
}

func registerDevice(t testing.TB, url string, a account, device uint32) *client.Client {
	t.Helper()
	c := dial(t, url)
	_, err := c.Register(ctxT(t), client.Registration{
		Name: a.name, DeviceID: device, RegistrationID: a.regID, IdentityKey: a.ik, DeviceSecret: &a.secret,
	})
	if err != nil {
		t.Fatalf("register %s: %v", a.name, err)
	}
	return c
}

// login connects and authenticates a's device 1 with its identity key.
func login(t testing.TB, url string, a account) *client.Client {
	t.Helper()
	c := dial(t, url)
	if err := c.Authenticate(ctxT(t), a.name, 1, a.ik); err != nil {
		t.Fatalf("authenticate %s: %v", a.name, err)
	}
	return c
}

// receive waits for the next envelope.
func receive(t testing.TB, c *client.Client) client.Envelope {
	t.Helper()
	select {
	case e, ok := <-c.Envelopes():
		if !ok {
			t.Fatalf("connection ended: %v", c.Err())
		}
		return e
	case <-time.After(10 * time.Second):
		t.Fatal("no envelope within 10 s")
	}
	panic("unreachable")
}

// expectNoEnvelope checks that nothing arrives before the queue is
// reported empty.
func expectNoEnvelope(t testing.TB, c *client.Client) {
	t.Helper()
	select {
	case e := <-c.Envelopes():
		t.Fatalf("unexpected envelope %d from %s", e.ID, e.Sender)
	case <-c.QueueEmpty():
	case <-time.After(10 * time.Second):
		t.Fatal("queue never reported empty")
	}
}

// uploadKeys uploads a signed prekey, n one-time prekeys, n Kyber prekeys
// and a last-resort Kyber key for the authenticated device of a.
func uploadKeys(t testing.TB, c *client.Client, a account, n int) {
	t.Helper()
	if err := c.UploadPreKeys(ctxT(t), makeUpload(t, a, n, 1)); err != nil {
		t.Fatal(err)
	}
}

func makeUpload(t testing.TB, a account, n int, firstID uint32) client.PreKeyUpload {
	t.Helper()
	spk, err := identity.GenerateSignedPreKey(rand.Reader, a.ik, 7, 0)
	if err != nil {
		t.Fatal(err)
	}
	pks, err := identity.GeneratePreKeys(rand.Reader, firstID, n)
	if err != nil {
		t.Fatal(err)
	}
	u := client.PreKeyUpload{PreKeys: client.PublicPreKeys(pks)}
	signed := client.PublicSignedPreKey(spk)
	u.SignedPreKey = &signed
	for i := range n {
		u.KEMPreKeys = append(u.KEMPreKeys, kemKey(t, a, firstID+uint32(i)))
	}
	last := kemKey(t, a, 0xFFFFFF)
	u.KEMLastResort = &last
	return u
}

// kemKey makes a Kyber prekey as the relay sees one: a type byte, 1568
// bytes, and the identity key's signature. The relay checks the encoding
// and the signature, not the lattice.
func kemKey(t testing.TB, a account, id uint32) client.KEMPreKey {
	t.Helper()
	pub := make([]byte, protocol.KEMPublicKeySize)
	pub[0] = protocol.KEMKeyTypeKyber1024
	if _, err := rand.Read(pub[1:]); err != nil {
		t.Fatal(err)
	}
	sig, err := a.ik.Sign(rand.Reader, pub)
	if err != nil {
		t.Fatal(err)
	}
	return client.KEMPreKey{ID: id, PublicKey: pub, Signature: sig}
}

func protoMarshal(m proto.Message) ([]byte, error) { return proto.Marshal(m) }
