package bench

import (
	"crypto/rand"
	"fmt"
	"testing"
	"time"

	"github.com/blindpost/blindpost/identity"
	"github.com/blindpost/blindpost/kem"
	"github.com/blindpost/blindpost/session"
	"github.com/blindpost/blindpost/spqr"
	"github.com/blindpost/blindpost/wire"
	"github.com/blindpost/blindpost/x3dh"
)

// bpParty is one blindpost device: a session.Cipher over a MemoryStore,
// with crypto/rand and the wall clock, as a client runs it.
type bpParty struct {
	addr   session.Address
	store  *session.MemoryStore
	cipher *session.Cipher
}

// newBPParty makes a device; with pq its version-4 sessions require SPQR
// (spqr.V1), as blindpost's own clients do.
func newBPParty(tb testing.TB, name string, pq bool) *bpParty {
	tb.Helper()
	ik, err := identity.GenerateIdentityKeyPair(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	reg, err := identity.GenerateRegistrationID(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	st := session.NewMemoryStore(ik, reg)
	addr := session.Address{Name: name, DeviceID: 1}
	p := &bpParty{
		addr:   addr,
		store:  st,
		cipher: &session.Cipher{Store: st, Local: addr, Rand: rand.Reader, Now: time.Now},
	}
	if pq {
		p.cipher.SPQRMinimum = spqr.V1
	}
	return p
}

// bundle stores a fresh signed prekey and one-time prekey (id 1), with pq
// also a one-time Kyber prekey (id 1), and returns the bundle that
// publishes them.
func (p *bpParty) bundle(tb testing.TB, pq bool) *x3dh.Bundle {
	tb.Helper()
	ik, reg, err := p.store.LocalIdentity()
	if err != nil {
		tb.Fatal(err)
	}
	spk, err := identity.GenerateSignedPreKey(rand.Reader, ik, 1, time.Now().UnixMilli())
	if err != nil {
		tb.Fatal(err)
	}
	pks, err := identity.GeneratePreKeys(rand.Reader, 1, 1)
	if err != nil {
		tb.Fatal(err)
	}
	p.store.AddSignedPreKey(spk)
	p.store.AddPreKey(pks[0])
	b := &x3dh.Bundle{
		RegistrationID:        reg,
		DeviceID:              p.addr.DeviceID,
		IdentityKey:           ik.Public,
		SignedPreKeyID:        spk.ID,
		SignedPreKey:          spk.KeyPair.Public,
		SignedPreKeySignature: spk.Signature,
		PreKey:                &x3dh.OneTimePreKey{ID: pks[0].ID, Key: pks[0].KeyPair.Public},
	}
	if pq {
		kpk, err := kem.GeneratePreKey(rand.Reader, ik, 1, time.Now().UnixMilli())
		if err != nil {
			tb.Fatal(err)
		}
		p.store.AddKyberPreKey(kpk, false)
		b.KyberPreKey = &x3dh.KyberPreKey{ID: kpk.ID, Key: kpk.KeyPair.Public, Signature: kpk.Signature}
	}
	return b
}

type bpConversation struct{ p [2]*bpParty }

func (c *bpConversation) encrypt(from int, pt []byte) (message, error) {
	typ, ct, err := c.p[from].cipher.Encrypt(c.p[1-from].addr, pt)
	return message{typ, ct}, err
}

func (c *bpConversation) decrypt(to int, m message) ([]byte, error) {
	return c.p[to].cipher.Decrypt(c.p[1-to].addr, m.typ, m.b)
}

func (c *bpConversation) ratchetKey(m message) ([]byte, error) {
	switch m.typ {
	case wire.TypeSignal:
		sm, err := wire.ParseSignalMessage(m.b)
		if err != nil {
			return nil, err
		}
		return sm.RatchetKey[:], nil
	case wire.TypePreKey:
		pm, err := wire.ParsePreKeySignalMessage(m.b)
		if err != nil {
			return nil, err
		}
		return pm.Message.RatchetKey[:], nil
	}
	return nil, fmt.Errorf("message type %d", m.typ)
}

// newBlindpostSetup makes Alice and Bob with Bob's bundle; the setup
// processes it, and sends and receives the first message.
func newBlindpostSetup(tb testing.TB, pq bool) setupFunc {
	a, b := newBPParty(tb, "alice", pq), newBPParty(tb, "bob", pq)
	bundle := b.bundle(tb, pq)
	return func(pt []byte) ([]byte, error) {
		if err := a.cipher.ProcessBundle(b.addr, bundle); err != nil {
			return nil, err
		}
		typ, ct, err := a.cipher.Encrypt(b.addr, pt)
		if err != nil {
			return nil, err
		}
		return b.cipher.Decrypt(a.addr, typ, ct)
	}
}

func newBlindpostConversation(tb testing.TB, pq bool) conversation {
	a, b := newBPParty(tb, "alice", pq), newBPParty(tb, "bob", pq)
	if err := a.cipher.ProcessBundle(b.addr, b.bundle(tb, pq)); err != nil {
		tb.Fatal(err)
	}
	c := &bpConversation{[2]*bpParty{a, b}}
	firstExchange(tb, "blindpost", c)
	return c
}

// firstExchange sends one message each way, so that both sides have
// received from the other and Alice no longer sends prekey messages.
func firstExchange(tb testing.TB, name string, c conversation) {
	tb.Helper()
	for _, from := range []int{alice, bob} {
		pt := []byte("first exchange")
		m, err := c.encrypt(from, pt)
		if err != nil {
			tb.Fatalf("%s: first exchange: %v", name, err)
		}
		got, err := c.decrypt(1-from, m)
		if err != nil || string(got) != string(pt) {
			tb.Fatalf("%s: first exchange: %q, %v", name, got, err)
		}
	}
}

// TestBlindpostPQRows checks that the post-quantum rows do the work they
// claim: the setup's first message is a version-4 PreKeySignalMessage
// with a Kyber ciphertext; every message of a version-4 conversation
// carries SPQR data; alternating messages cross SPQR epochs (at least two
// in 300 messages), one-way ones do not.
func TestBlindpostPQRows(t *testing.T) {
	a, b := newBPParty(t, "alice", true), newBPParty(t, "bob", true)
	if err := a.cipher.ProcessBundle(b.addr, b.bundle(t, true)); err != nil {
		t.Fatal(err)
	}
	typ, ct, err := a.cipher.Encrypt(b.addr, plaintext(100))
	if err != nil {
		t.Fatal(err)
	}
	pm, err := wire.ParsePreKeySignalMessage(ct)
	if err != nil || typ != wire.TypePreKey || pm.Version != 0x44 || len(pm.KyberCiphertext) != kem.SerializedCiphertextSize || len(pm.Message.PQRatchet) == 0 {
		t.Fatalf("first message: type %d, parse error %v", typ, err)
	}

	pt := plaintext(100)
	for _, alternating := range []bool{false, true} {
		c := newBlindpostConversation(t, true).(*bpConversation)
		from := alice
		for range 300 {
			m, err := c.encrypt(from, pt)
			if err != nil {
				t.Fatal(err)
			}
			sm, err := wire.ParseSignalMessage(m.b)
			if err != nil || sm.Version != 0x44 || len(sm.PQRatchet) == 0 {
				t.Fatalf("message without SPQR data (%v)", err)
			}
			got, err := c.decrypt(1-from, m)
			check(t, family{name: "blindpost"}, "decrypt", got, pt, err)
			if alternating {
				from = 1 - from
			}
		}
		rec, _, err := c.p[alice].store.Record(c.p[bob].addr)
		if err != nil {
			t.Fatal(err)
		}
		epoch := rec.Current.Ratchet.PQ.Epoch()
		if alternating && epoch < 3 || !alternating && epoch != 1 {
			t.Fatalf("alternating %t: SPQR epoch %d after 300 messages", alternating, epoch)
		}
		t.Logf("alternating %t: SPQR epoch %d after 300 messages", alternating, epoch)
	}
}
