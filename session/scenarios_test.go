package session

import (
	"crypto/rand"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/blindpost/blindpost/wire"
)

func TestSimultaneousInitiation(t *testing.T) {
	alice, bob := newParty(t, "alice", rand.Reader), newParty(t, "bob", rand.Reader)
	if err := alice.cipher.ProcessBundle(bob.addr, bob.bundle(t, true)); err != nil {
		t.Fatal(err)
	}
	if err := bob.cipher.ProcessBundle(alice.addr, alice.bundle(t, true)); err != nil {
		t.Fatal(err)
	}
	a1 := alice.send(t, bob, []byte("alice first"))
	b1 := bob.send(t, alice, []byte("bob first"))
	if a1.typ != wire.TypePreKey || b1.typ != wire.TypePreKey {
		t.Fatal("first messages are not prekey messages")
	}
	bob.recv(t, alice, a1)
	alice.recv(t, bob, b1)
	// Both now hold two sessions; the conversation settles on one of them
	// through the archived states.
	for i := range 10 {
		bob.recv(t, alice, alice.send(t, bob, []byte(fmt.Sprint("a", i))))
		alice.recv(t, bob, bob.send(t, alice, []byte(fmt.Sprint("b", i))))
	}
	for i := range 3 {
		bob.recv(t, alice, alice.send(t, bob, []byte(fmt.Sprint("same direction ", i))))
	}
	m := alice.send(t, bob, []byte("settled"))
	if m.typ != wire.TypeSignal {
		t.Fatalf("type %d after settling, want 2", m.typ)
	}
	bob.recv(t, alice, m)
}

func TestPreKeyReuse(t *testing.T) {
	bob := newParty(t, "bob", rand.Reader)
	b := bob.bundle(t, true)
	alice, mallory := newParty(t, "alice", rand.Reader), newParty(t, "mallory", rand.Reader)
	for _, p := range []*party{alice, mallory} {
		if err := p.cipher.ProcessBundle(bob.addr, b); err != nil {
			t.Fatal(err)
		}
	}
	bob.recv(t, alice, alice.send(t, bob, []byte("first")))
	m := mallory.send(t, bob, []byte("second use"))
	before := bob.store.Snapshot()
	if _, err := bob.cipher.Decrypt(mallory.addr, m.typ, m.ct); !errors.Is(err, ErrInvalidPreKeyID) {
		t.Fatalf("reused one-time prekey: %v, want ErrInvalidPreKeyID", err)
	}
	if len(bob.store.Snapshot()) != len(before) {
		t.Fatal("refused prekey message created a record")
	}
	bob.recv(t, alice, alice.send(t, bob, []byte("alice goes on")))
}

func TestUnknownSignedPreKey(t *testing.T) {
	alice, bob := pair(t, false)
	m := alice.send(t, bob, []byte("x"))
	bob.store.mu.Lock()
	clear(bob.store.signed)
	bob.store.mu.Unlock()
	if _, err := bob.cipher.Decrypt(alice.addr, m.typ, m.ct); !errors.Is(err, ErrInvalidPreKeyID) {
		t.Fatalf("unknown signed prekey: %v, want ErrInvalidPreKeyID", err)
	}
}

func TestIdentityChangeThenApproval(t *testing.T) {
	alice, bob := pair(t, true)
	bob.recv(t, alice, alice.send(t, bob, []byte("hi")))
	alice.recv(t, bob, bob.send(t, alice, []byte("hi back")))

	// Bob reinstalls: same address, new identity key.
	newBob := newParty(t, "bob", rand.Reader)
	nb := newBob.bundle(t, true)
	if err := alice.cipher.ProcessBundle(bob.addr, nb); !errors.Is(err, ErrUntrustedIdentity) {
		t.Fatalf("bundle with a changed identity: %v, want ErrUntrustedIdentity", err)
	}
	if err := newBob.cipher.ProcessBundle(alice.addr, alice.bundle(t, true)); err != nil {
		t.Fatal(err)
	}
	m := newBob.send(t, alice, []byte("it's me, new key"))
	before := alice.store.Snapshot()
	if _, err := alice.cipher.Decrypt(bob.addr, m.typ, m.ct); !errors.Is(err, ErrUntrustedIdentity) {
		t.Fatalf("message from a changed identity: %v, want ErrUntrustedIdentity", err)
	}
	b1, _ := MarshalRecord(before[bob.addr])
	b2, _ := MarshalRecord(alice.store.Snapshot()[bob.addr])
	if string(b1) != string(b2) {
		t.Fatal("refused message changed alice's record")
	}
	// Sending on the old session is refused too until approval.
	alice.store.Approve(bob.addr, nb.IdentityKey)
	if _, _, err := alice.cipher.Encrypt(bob.addr, []byte("old session")); !errors.Is(err, ErrUntrustedIdentity) {
		t.Fatalf("encrypt to the old identity after approving the new: %v", err)
	}
	alice.recv(t, newBob, m)
	newBob.recv(t, alice, alice.send(t, newBob, []byte("welcome back")))
}

func TestNoSession(t *testing.T) {
	alice, bob := pair(t, true)
	if _, _, err := bob.cipher.Encrypt(alice.addr, []byte("x")); !errors.Is(err, ErrNoSession) {
		t.Fatalf("encrypt without a session: %v", err)
	}
	bob.recv(t, alice, alice.send(t, bob, []byte("x")))
	m := bob.send(t, alice, []byte("y"))
	carol := newParty(t, "carol", rand.Reader)
	if _, err := carol.cipher.Decrypt(bob.addr, m.typ, m.ct); !errors.Is(err, ErrNoSession) {
		t.Fatalf("signal message without a session: %v", err)
	}
}

func TestStaleUnacknowledgedSession(t *testing.T) {
	alice, bob := pair(t, true)
	start := alice.cipher.Now()
	alice.cipher.Now = func() time.Time { return start.Add(MaxUnacknowledgedSessionAge + time.Minute) }
	if _, _, err := alice.cipher.Encrypt(bob.addr, []byte("late")); !errors.Is(err, ErrNoSession) {
		t.Fatalf("stale unacknowledged session: %v, want ErrNoSession", err)
	}
}

func TestAddressesBinding(t *testing.T) {
	const aliceID, bobID = "6f1d7b0e-3c1f-4a57-9a0e-0d0b7e4c2a11", "0b9a4e52-8d3c-4f0e-b1a2-7c6d5e4f3a21"
	alice, bob := newParty(t, aliceID, rand.Reader), newParty(t, bobID, rand.Reader)
	if err := alice.cipher.ProcessBundle(bob.addr, bob.bundle(t, true)); err != nil {
		t.Fatal(err)
	}
	bob.recv(t, alice, alice.send(t, bob, []byte("x")))
	st := mustCurrent(t, alice, bob)
	good, ok := addressesField(alice.addr, bob.addr)
	if !ok || len(good) != wire.AddressesSize || good[0] != serviceIDKindACI {
		t.Fatalf("addresses field %x", good)
	}
	for name, addrs := range map[string][]byte{
		"correct":  good,
		"swapped":  mustAddresses(t, bob.addr, alice.addr),
		"other":    mustAddresses(t, Address{Name: "PNI:" + aliceID, DeviceID: 1}, bob.addr),
		"device 2": mustAddresses(t, Address{Name: aliceID, DeviceID: 2}, bob.addr),
	} {
		_, m, err := st.Ratchet.Encrypt([]byte(name), ratchetHeader(addrs), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		_, err = bob.cipher.Decrypt(alice.addr, wire.TypeSignal, m.Bytes())
		if (err == nil) != (name == "correct") {
			t.Errorf("%s addresses: err = %v", name, err)
		}
	}
}

func mustCurrent(t *testing.T, p, remote *party) State {
	t.Helper()
	rec, ok, _ := p.store.Record(remote.addr)
	if !ok || rec.Current == nil {
		t.Fatal("no session")
	}
	return *rec.Current
}

func mustAddresses(t *testing.T, from, to Address) []byte {
	t.Helper()
	b, ok := addressesField(from, to)
	if !ok {
		t.Fatalf("%s -> %s are not service ids", from, to)
	}
	return b
}

func TestServiceIDParsing(t *testing.T) {
	for name, want := range map[string]bool{
		"6f1d7b0e-3c1f-4a57-9a0e-0d0b7e4c2a11":     true,
		"6F1D7B0E-3C1F-4A57-9A0E-0D0B7E4C2A11":     true,
		"PNI:6f1d7b0e-3c1f-4a57-9a0e-0d0b7e4c2a11": true,
		"6f1d7b0e3c1f4a579a0e0d0b7e4c2a11":         false,
		"alice":                                    false,
		"ACI:6f1d7b0e-3c1f-4a57-9a0e-0d0b7e4c2a11": false,
		"6f1d7b0e-3c1f-4a57-9a0e-0d0b7e4c2a1g":     false,
	} {
		if _, ok := serviceIDBinary(name); ok != want {
			t.Errorf("%q: service id %v, want %v", name, ok, want)
		}
	}
}

func TestRecordSurvivesArchiveLimit(t *testing.T) {
	alice, bob := pair(t, false)
	for range MaxArchivedStates + 5 {
		if err := alice.cipher.ProcessBundle(bob.addr, bob.bundle(t, false)); err != nil {
			t.Fatal(err)
		}
	}
	rec, _, _ := alice.store.Record(bob.addr)
	if len(rec.Previous) != MaxArchivedStates {
		t.Fatalf("%d archived states, want %d", len(rec.Previous), MaxArchivedStates)
	}
	bob.recv(t, alice, alice.send(t, bob, []byte("on the newest session")))
}
