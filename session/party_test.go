package session

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/blindpost/blindpost/identity"
	"github.com/blindpost/blindpost/ratchet"
	"github.com/blindpost/blindpost/x3dh"
)

// party is one device with a memory store, for tests.
type party struct {
	addr   Address
	store  *MemoryStore
	cipher *Cipher
	nextID uint32
}

func newParty(t testing.TB, name string, r io.Reader) *party {
	t.Helper()
	ik, err := identity.GenerateIdentityKeyPair(r)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := identity.GenerateRegistrationID(r)
	if err != nil {
		t.Fatal(err)
	}
	st := NewMemoryStore(ik, reg)
	addr := Address{Name: name, DeviceID: 1}
	clock := time.Unix(1_700_000_000, 0)
	return &party{
		addr:   addr,
		store:  st,
		cipher: &Cipher{Store: st, Local: addr, Rand: r, Now: func() time.Time { return clock }},
		nextID: 1,
	}
}

// bundle publishes a fresh signed prekey and, if oneTime, a one-time prekey.
func (p *party) bundle(t testing.TB, oneTime bool) *x3dh.Bundle {
	t.Helper()
	ik, reg, _ := p.store.LocalIdentity()
	id := p.nextID
	p.nextID++
	spk, err := identity.GenerateSignedPreKey(p.cipher.Rand, ik, id, 0)
	if err != nil {
		t.Fatal(err)
	}
	p.store.AddSignedPreKey(spk)
	b := &x3dh.Bundle{
		RegistrationID:        reg,
		DeviceID:              p.addr.DeviceID,
		IdentityKey:           ik.Public,
		SignedPreKeyID:        spk.ID,
		SignedPreKey:          spk.KeyPair.Public,
		SignedPreKeySignature: spk.Signature,
	}
	if oneTime {
		pks, err := identity.GeneratePreKeys(p.cipher.Rand, id, 1)
		if err != nil {
			t.Fatal(err)
		}
		p.store.AddPreKey(pks[0])
		b.PreKey = &x3dh.OneTimePreKey{ID: pks[0].ID, Key: pks[0].KeyPair.Public}
	}
	return b
}

type sent struct {
	typ int
	ct  []byte
	pt  []byte
}

func (p *party) send(t testing.TB, to *party, pt []byte) sent {
	t.Helper()
	typ, ct, err := p.cipher.Encrypt(to.addr, pt)
	if err != nil {
		t.Fatalf("%s encrypt: %v", p.addr.Name, err)
	}
	return sent{typ, ct, pt}
}

func (p *party) recv(t testing.TB, from *party, m sent) {
	t.Helper()
	pt, err := p.cipher.Decrypt(from.addr, m.typ, m.ct)
	if err != nil {
		t.Fatalf("%s decrypt: %v", p.addr.Name, err)
	}
	if !bytes.Equal(pt, m.pt) {
		t.Fatalf("%s decrypted %q, want %q", p.addr.Name, pt, m.pt)
	}
}

// pair returns alice and bob with a session started by alice from bob's bundle.
func pair(t testing.TB, oneTime bool) (*party, *party) {
	t.Helper()
	alice, bob := newParty(t, "alice", rand.Reader), newParty(t, "bob", rand.Reader)
	if err := alice.cipher.ProcessBundle(bob.addr, bob.bundle(t, oneTime)); err != nil {
		t.Fatal(err)
	}
	return alice, bob
}

func TestConversation(t *testing.T) {
	for _, oneTime := range []bool{true, false} {
		alice, bob := pair(t, oneTime)
		m := alice.send(t, bob, []byte("hello bob"))
		if m.typ != 3 {
			t.Fatalf("first message type %d, want 3", m.typ)
		}
		bob.recv(t, alice, m)
		bob.recv(t, alice, alice.send(t, bob, []byte{}))
		alice.recv(t, bob, bob.send(t, alice, []byte("hello alice")))
		m = alice.send(t, bob, []byte("after the reply"))
		if m.typ != 2 {
			t.Fatalf("message after reply has type %d, want 2", m.typ)
		}
		bob.recv(t, alice, m)
		for i := range 20 {
			pt := bytes.Repeat([]byte{byte(i)}, i*37)
			if i%3 == 0 {
				bob.recv(t, alice, alice.send(t, bob, pt))
			} else {
				alice.recv(t, bob, bob.send(t, alice, pt))
			}
		}
		if _, ok, _ := bob.store.PreKey(1); ok && oneTime {
			t.Fatal("one-time prekey not deleted after use")
		}
	}
}

func TestDuplicateAndTamperChangeNothing(t *testing.T) {
	alice, bob := pair(t, true)
	first := alice.send(t, bob, []byte("one"))
	bob.recv(t, alice, first)
	before := bob.store.Snapshot()
	if _, err := bob.cipher.Decrypt(alice.addr, first.typ, first.ct); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("replayed prekey message: %v, want ErrDuplicate", err)
	}
	alice.recv(t, bob, bob.send(t, alice, []byte("reply")))
	before = bob.store.Snapshot()
	m := alice.send(t, bob, []byte("two"))
	if m.typ != 2 {
		t.Fatalf("type %d, want 2", m.typ)
	}
	for i := range len(m.ct) * 8 {
		bad := bytes.Clone(m.ct)
		bad[i/8] ^= 1 << (i % 8)
		if _, err := bob.cipher.Decrypt(alice.addr, m.typ, bad); err == nil {
			t.Fatalf("bit %d flipped: accepted", i)
		}
	}
	after := bob.store.Snapshot()
	b1, _ := MarshalRecord(before[alice.addr])
	b2, _ := MarshalRecord(after[alice.addr])
	if !bytes.Equal(b1, b2) {
		t.Fatal("rejected messages changed the stored record")
	}
	bob.recv(t, alice, m)
}

func ratchetHeader(addresses []byte) ratchet.Header { return ratchet.Header{Addresses: addresses} }
