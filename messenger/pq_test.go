package messenger

import (
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/blindpost/blindpost/identity"
	"github.com/blindpost/blindpost/internal/testvec"
	"github.com/blindpost/blindpost/profile"
	"github.com/blindpost/blindpost/relay"
	"github.com/blindpost/blindpost/relay/client"
	"github.com/blindpost/blindpost/session"
	"github.com/blindpost/blindpost/x3dh"
)

// state returns u's current session with peer.
func (u *user) state(t *testing.T, peer string) session.State {
	t.Helper()
	rec, ok, err := u.p.Record(addr(peer))
	if err != nil || !ok || rec.Current == nil {
		t.Fatalf("%s has no session with %s (%v)", u.m.Name(), peer, err)
	}
	return *rec.Current
}

// checkSession checks what cipher.SessionVersion reports for u's session
// with peer, and whether its SPQR is on.
func (u *user) checkSession(t *testing.T, peer string, version int, pq bool) {
	t.Helper()
	v, ok, err := u.m.cipher(u.p).SessionVersion(addr(peer))
	if err != nil || !ok {
		t.Fatalf("%s: no session with %s: %v", u.m.Name(), peer, err)
	}
	if got := u.state(t, peer).Ratchet.PQ.Enabled(); v != version || got != pq {
		t.Fatalf("%s's session with %s: version %d, SPQR %v; want %d, %v", u.m.Name(), peer, v, got, version, pq)
	}
}

func (u *user) counts(t *testing.T) client.PreKeyCounts {
	t.Helper()
	c, err := u.m.Connect(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	n, err := c.CountPreKeys(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func (u *user) send(t *testing.T, to, text string) {
	t.Helper()
	if _, err := u.m.Connect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := u.m.Send(ctxT(t), to, text); err != nil {
		t.Fatal(err)
	}
}

func (u *user) lastText(t *testing.T, peer string) string {
	t.Helper()
	h, err := u.p.History(peer)
	if err != nil || len(h) == 0 {
		t.Fatalf("%s has no history with %s (%v)", u.m.Name(), peer, err)
	}
	return h[len(h)-1].Text
}

// clock is a settable clock for a messenger.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// TestConversationIsPQXDHWithSPQR: two blindpost clients through a relay
// run a version-4 session with SPQR on both sides, started on a one-time
// Kyber prekey that the receiver deletes with the session's first commit.
func TestConversationIsPQXDHWithSPQR(t *testing.T) {
	r := startRelay(t, t.TempDir(), "")
	alice, bob := newUser(t, "alice", r.url), newUser(t, "bob", r.url)
	n := bob.counts(t)
	if n.KEMPreKeys != KyberPreKeyBatch || !n.KEMLastResort || n.PreKeys != PreKeyBatch || !n.SignedPreKey {
		t.Fatalf("bob's keys on the relay after registering: %+v", n)
	}
	if held, _ := bob.p.KyberPreKeyCount(); held != KyberPreKeyBatch {
		t.Fatalf("bob's profile holds %d one-time kyber prekeys", held)
	}
	bob.m.Close()

	alice.send(t, "bob", "hello over PQXDH")
	alice.checkSession(t, "bob", 4, true)
	p := alice.state(t, "bob").Pending
	if p == nil || !p.HasKyber {
		t.Fatalf("alice's pending prekey message carries no kyber ciphertext: %+v", p)
	}
	used := p.KyberPreKeyID
	if lr, _, _ := bob.p.LatestKyberLastResort(); lr.ID == used {
		t.Fatal("the relay handed out the last-resort kyber prekey with one-time ones left")
	}
	if _, ok, _ := bob.p.KyberPreKey(used); !ok {
		t.Fatalf("kyber prekey %d is not bob's", used)
	}

	bob.receiveAll(t)
	if got := bob.lastText(t, "alice"); got != "hello over PQXDH" {
		t.Fatalf("bob read %q", got)
	}
	bob.checkSession(t, "alice", 4, true)
	if _, ok, _ := bob.p.KyberPreKey(used); ok {
		t.Fatal("the one-time kyber prekey survived its session")
	}
	if held, _ := bob.p.KyberPreKeyCount(); held != KyberPreKeyBatch-1 {
		t.Fatalf("bob holds %d one-time kyber prekeys, want %d", held, KyberPreKeyBatch-1)
	}

	// Both ways, in bursts, until SPQR has completed an epoch on both
	// sides: a fresh ML-KEM secret, agreed through chunks carried by the
	// messages, salts the message keys, and every message still decrypts
	// from the state each profile stored.
	for i := 0; alice.state(t, "bob").Ratchet.PQ.Epoch() < 2 || bob.state(t, "alice").Ratchet.PQ.Epoch() < 2; i++ {
		if i == 8 {
			t.Fatalf("SPQR epochs still %d and %d after %d rounds", alice.state(t, "bob").Ratchet.PQ.Epoch(),
				bob.state(t, "alice").Ratchet.PQ.Epoch(), i)
		}
		for _, turn := range [][2]*user{{bob, alice}, {alice, bob}} {
			from, to := turn[0], turn[1]
			if _, err := from.m.Connect(ctxT(t)); err != nil {
				t.Fatal(err)
			}
			for j := range 15 {
				if _, err := from.m.Send(ctxT(t), to.m.Name(), fmt.Sprintf("%d.%d", i, j)); err != nil {
					t.Fatal(err)
				}
			}
			to.receiveAll(t)
			if got := to.lastText(t, from.m.Name()); got != fmt.Sprintf("%d.14", i) {
				t.Fatalf("%s read %q last", to.m.Name(), got)
			}
		}
	}
	alice.checkSession(t, "bob", 4, true)
	bob.checkSession(t, "alice", 4, true)
	if alice.state(t, "bob").Pending != nil {
		t.Fatal("alice still sends prekey messages after bob's replies")
	}
	if e := alice.count(EventDropped) + bob.count(EventDropped); e != 0 {
		t.Fatalf("%d messages dropped", e)
	}
}

// TestKyberLastResortAfterPoolEmpty: once the relay has handed out every
// one-time Kyber prekey, sessions start on the last-resort key, which
// survives any number of them; the receiver then uploads a new batch, and
// the replaced one-time keys are pruned after the grace period. A message
// sent while the receiver was away longer than the grace period still
// decrypts after its keys rotate.
func TestKyberLastResortAfterPoolEmpty(t *testing.T) {
	r := startRelayConfig(t, "", relay.Config{DataDir: t.TempDir(), Limits: relay.Limits{BundleFetches: 1000}})
	clk := &clock{t: time.Now()}
	bp, err := profile.Open(filepath.Join(t.TempDir(), "profile.db"), []byte("bob's passphrase"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bp.Close() })
	if _, _, err := Setup(bp, "bob", rand.Reader, clk.now()); err != nil {
		t.Fatal(err)
	}
	bob := newUserOf(t, bp, r.url, clk.now)
	alice, carol, dave := newUser(t, "alice", r.url), newUser(t, "carol", r.url), newUser(t, "dave", r.url)
	bob.receiveAll(t)
	bob.m.Close()
	lr, ok, err := bob.p.LatestKyberLastResort()
	if err != nil || !ok {
		t.Fatalf("bob has no last-resort kyber prekey: %v", err)
	}

	// Carol drains the pool with bundle fetches of her own.
	c, err := carol.m.Connect(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[uint32]bool{}
	for range KyberPreKeyBatch {
		b, err := c.FetchBundle(ctxT(t), "bob", DeviceID)
		if err != nil {
			t.Fatal(err)
		}
		d := b.Devices[0]
		if d.KEMPreKey == nil || d.KEMLastResort || seen[d.KEMPreKey.ID] || d.KEMPreKey.ID == lr.ID {
			t.Fatalf("fetch %d: kyber prekey %+v, last resort %v", len(seen), d.KEMPreKey, d.KEMLastResort)
		}
		seen[d.KEMPreKey.ID] = true
	}
	for _, u := range []*user{carol, alice} {
		u.send(t, "bob", "from "+u.m.Name()+", on the last resort")
		u.checkSession(t, "bob", 4, true)
		if p := u.state(t, "bob").Pending; p.KyberPreKeyID != lr.ID {
			t.Fatalf("%s used kyber prekey %d, want the last-resort %d", u.m.Name(), p.KyberPreKeyID, lr.ID)
		}
	}

	// Bob comes back: a new batch replaces the drained one, and both
	// messages decrypt on the last-resort key, which stays.
	bob.receiveAll(t)
	for _, name := range []string{"carol", "alice"} {
		if got := bob.lastText(t, name); got != "from "+name+", on the last resort" {
			t.Fatalf("bob read %q from %s", got, name)
		}
		bob.checkSession(t, name, 4, true)
	}
	if _, ok, _ := bob.p.KyberPreKey(lr.ID); !ok {
		t.Fatal("the last-resort kyber prekey was deleted by use")
	}
	if n := bob.counts(t); n.KEMPreKeys != KyberPreKeyBatch {
		t.Fatalf("relay holds %d one-time kyber prekeys after bob's return", n.KEMPreKeys)
	}
	if held, _ := bob.p.KyberPreKeyCount(); held != 2*KyberPreKeyBatch {
		t.Fatalf("bob holds %d one-time kyber prekeys, want the replaced batch and the new one", held)
	}
	bob.m.Close()

	// Dave gets a one-time key of the new batch.
	dave.send(t, "bob", "from dave")
	used := dave.state(t, "bob").Pending.KyberPreKeyID
	if seen[used] || used == lr.ID {
		t.Fatalf("dave used kyber prekey %d, not one of the new batch", used)
	}

	// Bob is away for longer than the grace period; alice writes on the
	// keys he published before leaving. On his return his signed prekey
	// and last-resort key rotate, the replaced one-time keys are pruned,
	// and dave's and alice's messages still decrypt.
	clk.advance(signedPreKeyGrace + 24*time.Hour)
	spk, _, _ := bob.p.LatestSignedPreKey()
	erin := newUser(t, "erin", r.url)
	erin.send(t, "bob", "from erin, while bob is away")
	if id := erin.state(t, "bob").Pending.SignedPreKeyID; id != spk.ID {
		t.Fatalf("erin used signed prekey %d, want %d", id, spk.ID)
	}
	bob.receiveAll(t)
	if got := bob.lastText(t, "dave"); got != "from dave" {
		t.Fatalf("bob read %q from dave", got)
	}
	if got := bob.lastText(t, "erin"); got != "from erin, while bob is away" {
		t.Fatalf("bob read %q from erin", got)
	}
	if now, _, _ := bob.p.LatestSignedPreKey(); now.ID == spk.ID {
		t.Fatal("the signed prekey did not rotate")
	}
	if now, _, _ := bob.p.LatestKyberLastResort(); now.ID == lr.ID {
		t.Fatal("the last-resort kyber prekey did not rotate with the signed prekey")
	}
	if _, ok, _ := bob.p.KyberPreKey(lr.ID); !ok {
		t.Fatal("the last-resort kyber prekey replaced just now was pruned")
	}
	if held, _ := bob.p.KyberPreKeyCount(); held != KyberPreKeyBatch-2 {
		t.Fatalf("bob holds %d one-time kyber prekeys, want %d: the replaced batch pruned, two used", held, KyberPreKeyBatch-2)
	}
	if e := bob.count(EventDropped); e != 0 {
		t.Fatalf("bob dropped %d messages", e)
	}
}

// openOld opens a copy of a profile written before Kyber prekeys
// (profile/testdata/README.md).
func openOld(t *testing.T, name string, pass []byte) *profile.Profile {
	t.Helper()
	path := filepath.Join(t.TempDir(), "profile.db")
	if err := os.WriteFile(path, testvec.Gunzip(t, filepath.Join("..", "profile", "testdata", name)), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := profile.Open(path, pass)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// TestSchema1ProfileUpgradesToPQXDH: profiles written before Kyber
// prekeys get them, uploaded, on their first connection; their version-3
// session goes on, and new sessions with them are version 4.
func TestSchema1ProfileUpgradesToPQXDH(t *testing.T) {
	r := startRelay(t, t.TempDir(), "")
	alice := newUserOf(t, openOld(t, "alice-schema1.db.gz", nil), r.url, nil)
	bob := newUserOf(t, openOld(t, "bob-schema1.db.gz", []byte("schema1 passphrase")), r.url, nil)
	for _, u := range []*user{alice, bob} {
		if _, ok, _ := u.p.LatestKyberLastResort(); ok {
			t.Fatal("testdata profile already has kyber prekeys")
		}
		if n := u.counts(t); n.KEMPreKeys != KyberPreKeyBatch || !n.KEMLastResort {
			t.Fatalf("%s's kyber prekeys on the relay after the upgrade: %+v", u.m.Name(), n)
		}
		if _, ok, _ := u.p.LatestKyberLastResort(); !ok {
			t.Fatalf("%s's profile holds no last-resort kyber prekey", u.m.Name())
		}
		u.m.Close()
	}

	alice.send(t, "bob", "our old session")
	bob.receiveAll(t)
	if got := bob.lastText(t, "alice"); got != "our old session" {
		t.Fatalf("bob read %q", got)
	}
	alice.checkSession(t, "bob", 3, false)
	bob.checkSession(t, "alice", 3, false)

	carol := newUser(t, "carol", r.url)
	for _, u := range []*user{alice, bob} {
		carol.send(t, u.m.Name(), "hello "+u.m.Name())
		u.receiveAll(t)
		if got := u.lastText(t, "carol"); got != "hello "+u.m.Name() {
			t.Fatalf("%s read %q", u.m.Name(), got)
		}
		u.checkSession(t, "carol", 4, true)
		carol.checkSession(t, u.m.Name(), 4, true)
	}
}

// classicPeer is a client that knows only X3DH (version 3), as
// go.mau.fi/libsignal or an older client: its bundle has no Kyber prekey,
// and it ignores the Kyber prekeys of others'.
type classicPeer struct {
	name   string
	c      *client.Client
	cipher *session.Cipher
}

func newClassicPeer(t *testing.T, name, url string) *classicPeer {
	t.Helper()
	ik, err := identity.GenerateIdentityKeyPair(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	reg, _ := identity.GenerateRegistrationID(rand.Reader)
	store := session.NewMemoryStore(ik, reg)
	spk, _ := identity.GenerateSignedPreKey(rand.Reader, ik, 1, time.Now().UnixMilli())
	pks, _ := identity.GeneratePreKeys(rand.Reader, 1, 3)
	store.AddSignedPreKey(spk)
	for _, k := range pks {
		store.AddPreKey(k)
	}
	c, err := client.Dial(ctxT(t), url, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := c.Register(ctxT(t), client.Registration{Name: name, DeviceID: DeviceID, RegistrationID: reg, IdentityKey: ik}); err != nil {
		t.Fatal(err)
	}
	s := client.PublicSignedPreKey(spk)
	if err := c.UploadPreKeys(ctxT(t), client.PreKeyUpload{SignedPreKey: &s, PreKeys: client.PublicPreKeys(pks)}); err != nil {
		t.Fatal(err)
	}
	return &classicPeer{name: name, c: c, cipher: &session.Cipher{Store: store, Local: addr(name), Rand: rand.Reader, Now: time.Now}}
}

func (cp *classicPeer) send(t *testing.T, to, text string) {
	t.Helper()
	if _, ok, _ := cp.cipher.SessionVersion(addr(to)); !ok {
		b, err := cp.c.FetchBundle(ctxT(t), to, DeviceID)
		if err != nil {
			t.Fatal(err)
		}
		xb, err := X3DHBundle(b, DeviceID)
		if err != nil {
			t.Fatal(err)
		}
		xb.KyberPreKey = nil // X3DH only
		if err := cp.cipher.ProcessBundle(addr(to), xb); err != nil {
			t.Fatal(err)
		}
	}
	pt, err := encodePayload(payload{Kind: kindText, ID: "classic-" + text, Text: text, SentAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	typ, ct, err := cp.cipher.Encrypt(addr(to), pt)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cp.c.Send(ctxT(t), to, DeviceID, uint32(typ), ct); err != nil {
		t.Fatal(err)
	}
}

// receive reads envelopes until a text message arrives and returns it.
func (cp *classicPeer) receive(t *testing.T) string {
	t.Helper()
	for {
		select {
		case e := <-cp.c.Envelopes():
			pt, err := cp.cipher.Decrypt(session.Address{Name: e.Sender, DeviceID: e.SenderDevice}, int(e.Type), e.Content)
			if err != nil {
				t.Fatalf("classic peer: %v", err)
			}
			if err := cp.c.Ack(ctxT(t), e.ID); err != nil {
				t.Fatal(err)
			}
			if p, err := decodePayload(pt); err == nil && p.Kind == kindText {
				return p.Text
			}
		case <-time.After(10 * time.Second):
			t.Fatal("classic peer: nothing received")
		}
	}
}

// TestClassicPeerGetsVersion3: with a peer that publishes no Kyber prekey
// and speaks only X3DH, blindpost's client runs version 3, both ways.
func TestClassicPeerGetsVersion3(t *testing.T) {
	r := startRelay(t, t.TempDir(), "")
	alice, bob := newUser(t, "alice", r.url), newUser(t, "bob", r.url)
	bob.receiveAll(t)
	old := newClassicPeer(t, "old", r.url)

	alice.send(t, "old", "to a classic peer")
	alice.checkSession(t, "old", x3dh.SessionVersion, false)
	if got := old.receive(t); got != "to a classic peer" {
		t.Fatalf("classic peer read %q", got)
	}
	old.send(t, "alice", "classic reply")
	alice.receiveAll(t)
	if got := alice.lastText(t, "old"); got != "classic reply" {
		t.Fatalf("alice read %q", got)
	}

	old.send(t, "bob", "classic first")
	bob.receiveAll(t)
	if got := bob.lastText(t, "old"); got != "classic first" {
		t.Fatalf("bob read %q", got)
	}
	bob.checkSession(t, "old", x3dh.SessionVersion, false)
	if e := alice.count(EventDropped) + bob.count(EventDropped); e != 0 {
		t.Fatalf("%d messages dropped", e)
	}
}

// TestX3DHBundleCarriesKyberPreKey: the conversion keeps the Kyber prekey
// exactly, and refuses one that does not parse.
func TestX3DHBundleCarriesKyberPreKey(t *testing.T) {
	ik, _ := identity.GenerateIdentityKeyPair(rand.Reader)
	spk, _ := identity.GenerateSignedPreKey(rand.Reader, ik, 7, 0)
	p, err := profile.Open(filepath.Join(t.TempDir(), "p.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, err := p.Create("kim", DeviceID, rand.Reader, time.Now()); err != nil {
		t.Fatal(err)
	}
	ks, err := p.NewKyberPreKeys(rand.Reader, 1, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	k := PublicKyberPreKey(ks[0])
	b := client.Bundle{Name: "kim", IdentityKey: ik.Public, Devices: []client.DeviceBundle{{
		DeviceID: DeviceID, RegistrationID: 9, SignedPreKey: client.PublicSignedPreKey(spk), KEMPreKey: &k,
	}}}
	xb, err := X3DHBundle(b, DeviceID)
	if err != nil {
		t.Fatal(err)
	}
	if xb.KyberPreKey == nil || xb.KyberPreKey.ID != ks[0].ID || xb.KyberPreKey.Key != ks[0].KeyPair.Public ||
		xb.KyberPreKey.Signature != ks[0].Signature || xb.Version() != 4 {
		t.Fatalf("kyber prekey not carried: %+v", xb.KyberPreKey)
	}
	k.PublicKey = slices.Clone(k.PublicKey)
	k.PublicKey[0] = 0x0a // ML-KEM-1024, which libsignal would not take here either
	if _, err := X3DHBundle(b, DeviceID); err == nil {
		t.Fatal("a kyber prekey of the wrong type was accepted")
	}
	b.Devices[0].KEMPreKey = nil
	if xb, err := X3DHBundle(b, DeviceID); err != nil || xb.KyberPreKey != nil || xb.Version() != 3 {
		t.Fatalf("bundle without a kyber prekey: %+v, %v", xb, err)
	}
}
