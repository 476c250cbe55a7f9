package session

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/blindpost/blindpost/proto/sessionpb"
	"github.com/blindpost/blindpost/ratchet"
	"github.com/blindpost/blindpost/wire"
)

// seededParty is newParty with reproducible randomness, so that the
// records and messages of a scripted conversation are the same on every
// run (the committed fuzz corpora come from them).
func seededParty(t testing.TB, name string, seed byte) *party {
	t.Helper()
	return newParty(t, name, mrand.NewChaCha8([32]byte{0: seed, 31: 'b'}))
}

// richConversation is a scripted conversation that leaves both records
// holding everything a record can hold: a current state and an archived
// one, receiving chains with skipped keys, and (for alice) a pending
// prekey. Messages sent but not yet delivered are held back for later.
type richConversation struct {
	alice, bob *party
	// toBob are alice's messages of the first session that bob has not
	// seen (he holds their skipped keys in his archived state); toAlice
	// likewise for bob's.
	toBob, toAlice []sent
	// log is every message sent, in order.
	log []sent
}

func (c *richConversation) send(t testing.TB, from, to *party, pt string) sent {
	t.Helper()
	m := from.send(t, to, []byte(pt))
	c.log = append(c.log, m)
	return m
}

func newRichConversation(t testing.TB, seed byte) *richConversation {
	t.Helper()
	c := &richConversation{alice: seededParty(t, "alice", seed), bob: seededParty(t, "bob", seed+1)}
	alice, bob := c.alice, c.bob
	if err := alice.cipher.ProcessBundle(bob.addr, bob.bundle(t, true)); err != nil {
		t.Fatal(err)
	}
	bob.recv(t, alice, c.send(t, alice, bob, "hello bob"))
	alice.recv(t, bob, c.send(t, bob, alice, "hello alice"))
	bob.recv(t, alice, c.send(t, alice, bob, "how are you"))
	// Alice sends three, bob gets the last: two skipped keys on his side.
	c.toBob = []sent{c.send(t, alice, bob, "late 1"), c.send(t, alice, bob, "late 2")}
	bob.recv(t, alice, c.send(t, alice, bob, "overtaking"))
	// Bob sends two, alice gets the last: one skipped key on hers.
	c.toAlice = []sent{c.send(t, bob, alice, "late 3")}
	alice.recv(t, bob, c.send(t, bob, alice, "overtaking too"))
	// Alice starts over from a new bundle: her first session is archived
	// and the new one is pending until bob answers.
	if err := alice.cipher.ProcessBundle(bob.addr, bob.bundle(t, false)); err != nil {
		t.Fatal(err)
	}
	m := c.send(t, alice, bob, "new session")
	if m.typ != wire.TypePreKey {
		t.Fatalf("type %d on a new session, want prekey", m.typ)
	}
	bob.recv(t, alice, m)
	return c
}

func (c *richConversation) records(t testing.TB) (aliceRec, bobRec Record) {
	t.Helper()
	a, _, _ := c.alice.store.Record(c.bob.addr)
	b, _, _ := c.bob.store.Record(c.alice.addr)
	return a, b
}

// normalized maps empty slices to nil, so that records compare equal
// whether a slice was emptied or never filled.
func normalized(r Record) Record {
	var out Record
	if r.Current != nil {
		s := normalizedState(*r.Current)
		out.Current = &s
	}
	for _, s := range r.Previous {
		out.Previous = append(out.Previous, normalizedState(s))
	}
	return out
}

func normalizedState(s State) State {
	s.Ratchet = s.Ratchet.Clone()
	if len(s.Ratchet.Receivers) == 0 {
		s.Ratchet.Receivers = nil
	}
	for i := range s.Ratchet.Receivers {
		if len(s.Ratchet.Receivers[i].Skipped) == 0 {
			s.Ratchet.Receivers[i].Skipped = nil
		}
	}
	if s.Pending != nil {
		p := *s.Pending
		if len(p.KyberCiphertext) == 0 {
			p.KyberCiphertext = nil
		}
		s.Pending = &p
	}
	return s
}

func recordsEqual(a, b Record) bool { return reflect.DeepEqual(normalized(a), normalized(b)) }

func mustMarshal(t testing.TB, r Record) []byte {
	t.Helper()
	b, err := MarshalRecord(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// remarshal marshals r, unmarshals it, marshals again, checks that both
// serializations are identical and returns the unmarshalled record.
func remarshal(t testing.TB, r Record) Record {
	t.Helper()
	b1 := mustMarshal(t, r)
	got, err := UnmarshalRecord(b1)
	if err != nil {
		t.Fatalf("unmarshal: %v", err)
	}
	if b2 := mustMarshal(t, got); !bytes.Equal(b1, b2) {
		t.Fatal("marshal, unmarshal, marshal changed the bytes")
	}
	return got
}

// roundTrip is remarshal that also checks the records equal.
func roundTrip(t testing.TB, r Record) Record {
	t.Helper()
	got := remarshal(t, r)
	if !recordsEqual(got, r) {
		t.Fatalf("unmarshalled record differs: %v, want %v", got, r)
	}
	return got
}

// replaceRecord stores rec for remote in p's store, as a restart from
// disk would.
func replaceRecord(t testing.TB, p, remote *party, rec Record) {
	t.Helper()
	trusted, ok, _ := p.store.TrustedIdentity(remote.addr)
	if !ok {
		t.Fatal("no trusted identity")
	}
	if err := p.store.Commit(Commit{Address: remote.addr, Record: rec, Identity: trusted}); err != nil {
		t.Fatal(err)
	}
}

func skippedKeys(r Record) int {
	n := 0
	for _, s := range append(slices.Clone(r.Previous), derefState(r.Current)...) {
		for _, rc := range s.Ratchet.Receivers {
			n += len(rc.Skipped)
		}
	}
	return n
}

func derefState(s *State) []State {
	if s == nil {
		return nil
	}
	return []State{*s}
}

func TestRecordRoundTripRealConversation(t *testing.T) {
	c := newRichConversation(t, 1)
	aliceRec, bobRec := c.records(t)
	// The script must have produced what this test claims to cover.
	switch {
	case aliceRec.Current == nil || aliceRec.Current.Pending == nil:
		t.Fatal("alice has no pending prekey")
	case len(aliceRec.Previous) != 1 || len(bobRec.Previous) != 1:
		t.Fatalf("archived states: alice %d, bob %d, want 1 each", len(aliceRec.Previous), len(bobRec.Previous))
	case skippedKeys(aliceRec) != 1 || skippedKeys(bobRec) != 2:
		t.Fatalf("skipped keys: alice %d, bob %d, want 1 and 2", skippedKeys(aliceRec), skippedKeys(bobRec))
	}
	for _, r := range []Record{{}, aliceRec, bobRec} {
		roundTrip(t, r)
	}

	// The unmarshalled records carry on: the pending session still sends
	// prekey messages; late messages of the archived session decrypt (and,
	// as in libsignal, make it current again); then both ways.
	replaceRecord(t, c.alice, c.bob, roundTrip(t, aliceRec))
	replaceRecord(t, c.bob, c.alice, roundTrip(t, bobRec))
	m := c.alice.send(t, c.bob, []byte("still pending"))
	if m.typ != wire.TypePreKey {
		t.Fatalf("type %d, want prekey: the pending prekey did not survive", m.typ)
	}
	c.bob.recv(t, c.alice, m)

	aliceRec, bobRec = c.records(t)
	replaceRecord(t, c.alice, c.bob, roundTrip(t, aliceRec))
	replaceRecord(t, c.bob, c.alice, roundTrip(t, bobRec))
	for _, m := range c.toBob {
		c.bob.recv(t, c.alice, m)
	}
	c.alice.recv(t, c.bob, c.toAlice[0])
	for _, m := range c.toBob {
		if _, err := c.bob.cipher.Decrypt(c.alice.addr, m.typ, m.ct); !errors.Is(err, ErrDuplicate) {
			t.Fatalf("replay after the skipped key was used: %v, want ErrDuplicate", err)
		}
	}

	aliceRec, bobRec = c.records(t)
	replaceRecord(t, c.alice, c.bob, roundTrip(t, aliceRec))
	replaceRecord(t, c.bob, c.alice, roundTrip(t, bobRec))
	c.alice.recv(t, c.bob, c.bob.send(t, c.alice, []byte("answer")))
	c.bob.recv(t, c.alice, c.alice.send(t, c.bob, []byte("settled")))
	c.alice.recv(t, c.bob, c.bob.send(t, c.alice, []byte("and again")))
}

// corruption is a change to a valid record's protobuf form.
type corruption struct {
	name   string
	mutate func(pb *sessionpb.SessionRecord)
	// ok: the change keeps the record valid (a boundary check).
	ok bool
}

func skippedChain(pb *sessionpb.SessionRecord) *sessionpb.ReceiverChain {
	for _, s := range append([]*sessionpb.SessionState{pb.Current}, pb.Previous...) {
		for _, rc := range s.GetReceivers() {
			if len(rc.Skipped) > 0 {
				return rc
			}
		}
	}
	panic("no receiving chain with skipped keys")
}

func resize(b []byte, n int) []byte {
	out := make([]byte, n)
	copy(out, b)
	return out
}

// keyCorruptions resizes every fixed-size field in turn to n bytes.
func keyCorruptions(n int) []corruption {
	keys := []struct {
		name string
		at   func(pb *sessionpb.SessionRecord) *[]byte
	}{
		{"local identity", func(pb *sessionpb.SessionRecord) *[]byte { return &pb.Current.LocalIdentity }},
		{"remote identity", func(pb *sessionpb.SessionRecord) *[]byte { return &pb.Current.RemoteIdentity }},
		{"root key", func(pb *sessionpb.SessionRecord) *[]byte { return &pb.Current.RootKey }},
		{"sender ratchet public", func(pb *sessionpb.SessionRecord) *[]byte { return &pb.Current.Sender.RatchetPublic }},
		{"sender ratchet private", func(pb *sessionpb.SessionRecord) *[]byte { return &pb.Current.Sender.RatchetPrivate }},
		{"sender chain key", func(pb *sessionpb.SessionRecord) *[]byte { return &pb.Current.Sender.ChainKey }},
		{"base key", func(pb *sessionpb.SessionRecord) *[]byte { return &pb.Current.BaseKey }},
		{"receiver ratchet public", func(pb *sessionpb.SessionRecord) *[]byte { return &pb.Current.Receivers[0].RatchetPublic }},
		{"receiver chain key", func(pb *sessionpb.SessionRecord) *[]byte { return &pb.Current.Receivers[0].ChainKey }},
		{"skipped seed", func(pb *sessionpb.SessionRecord) *[]byte { return &skippedChain(pb).Skipped[0].Seed }},
		{"pending base key", func(pb *sessionpb.SessionRecord) *[]byte { return &pb.Current.Pending.BaseKey }},
		{"archived root key", func(pb *sessionpb.SessionRecord) *[]byte { return &pb.Previous[0].RootKey }},
		{"archived receiver chain key", func(pb *sessionpb.SessionRecord) *[]byte { return &pb.Previous[0].Receivers[0].ChainKey }},
	}
	var out []corruption
	for _, k := range keys {
		out = append(out, corruption{name: fmt.Sprintf("%s of %d bytes", k.name, n), mutate: func(pb *sessionpb.SessionRecord) {
			p := k.at(pb)
			*p = resize(*p, n)
		}})
	}
	return out
}

func corruptions() []corruption {
	cs := []corruption{
		{name: "unchanged", ok: true, mutate: func(*sessionpb.SessionRecord) {}},
		{name: "schema version 0", mutate: func(pb *sessionpb.SessionRecord) { pb.SchemaVersion = 0 }},
		{name: "schema version 2", mutate: func(pb *sessionpb.SessionRecord) { pb.SchemaVersion = 2 }},
		{name: "schema version 2^32-1", mutate: func(pb *sessionpb.SessionRecord) { pb.SchemaVersion = math.MaxUint32 }},
		{name: "session version 2", mutate: func(pb *sessionpb.SessionRecord) { pb.Current.SessionVersion = 2 }},
		{name: "session version 5", mutate: func(pb *sessionpb.SessionRecord) { pb.Current.SessionVersion = 5 }},
		{name: "archived session version 0", mutate: func(pb *sessionpb.SessionRecord) { pb.Previous[0].SessionVersion = 0 }},
		{name: "session version 4", ok: true, mutate: func(pb *sessionpb.SessionRecord) { pb.Current.SessionVersion, pb.Current.Pending = 4, nil }},
		{name: "version 4 pending prekey without kyber", mutate: func(pb *sessionpb.SessionRecord) {
			pb.Current.SessionVersion = 4
			if pb.Current.Pending == nil {
				pb.Current.Pending = &sessionpb.PendingPreKey{BaseKey: make([]byte, 32)}
			}
			pb.Current.Pending.HasKyber = false
		}},
		{name: "version 3 pending prekey with kyber", mutate: func(pb *sessionpb.SessionRecord) {
			if pb.Current.Pending == nil {
				pb.Current.Pending = &sessionpb.PendingPreKey{BaseKey: make([]byte, 32)}
			}
			pb.Current.Pending.HasKyber = true
		}},
		{name: "no sending chain", mutate: func(pb *sessionpb.SessionRecord) { pb.Current.Sender = nil }},
		{name: "archived state without sending chain", mutate: func(pb *sessionpb.SessionRecord) { pb.Previous[0].Sender = nil }},
		{name: "40 archived states", ok: true, mutate: func(pb *sessionpb.SessionRecord) { pb.Previous = clones(pb.Previous[0], MaxArchivedStates) }},
		{name: "41 archived states", mutate: func(pb *sessionpb.SessionRecord) { pb.Previous = clones(pb.Previous[0], MaxArchivedStates+1) }},
		{name: "5 receiver chains", ok: true, mutate: func(pb *sessionpb.SessionRecord) {
			pb.Current.Receivers = distinctChains(pb.Current.Receivers[0], ratchet.MaxReceiverChains)
		}},
		{name: "2 receiver chains with one ratchet key", mutate: func(pb *sessionpb.SessionRecord) {
			pb.Current.Receivers = clones(pb.Current.Receivers[0], 2)
		}},
		{name: "pending base key differs from the base key", mutate: func(pb *sessionpb.SessionRecord) {
			if pb.Current.Pending == nil {
				pb.Current.Pending = &sessionpb.PendingPreKey{}
			}
			pb.Current.Pending.BaseKey = make([]byte, 32)
			pb.Current.Pending.BaseKey[0] = pb.Current.BaseKey[0] ^ 1
		}},
		{name: "6 receiver chains", mutate: func(pb *sessionpb.SessionRecord) {
			pb.Current.Receivers = distinctChains(pb.Current.Receivers[0], ratchet.MaxReceiverChains+1)
		}},
		{name: "6 receiver chains in an archived state", mutate: func(pb *sessionpb.SessionRecord) {
			pb.Previous[0].Receivers = clones(pb.Previous[0].Receivers[0], ratchet.MaxReceiverChains+1)
		}},
		{name: "2000 skipped keys", ok: true, mutate: func(pb *sessionpb.SessionRecord) { fillSkipped(skippedChain(pb), ratchet.MaxSkippedKeys) }},
		{name: "2001 skipped keys", mutate: func(pb *sessionpb.SessionRecord) { fillSkipped(skippedChain(pb), ratchet.MaxSkippedKeys+1) }},
		{name: "skipped key just behind its chain", ok: true, mutate: func(pb *sessionpb.SessionRecord) {
			rc := skippedChain(pb)
			rc.Skipped[len(rc.Skipped)-1].Index = rc.Index - 1
		}},
		{name: "skipped key at its chain index", mutate: func(pb *sessionpb.SessionRecord) {
			rc := skippedChain(pb)
			rc.Skipped[0].Index = rc.Index
		}},
		{name: "skipped key ahead of its chain", mutate: func(pb *sessionpb.SessionRecord) {
			rc := skippedChain(pb)
			rc.Skipped[0].Index = rc.Index + 1
		}},
		{name: "skipped key on a chain at 0", mutate: func(pb *sessionpb.SessionRecord) { skippedChain(pb).Index = 0 }},
		{name: "sender public key of another pair", mutate: func(pb *sessionpb.SessionRecord) {
			pb.Current.Sender.RatchetPublic = slices.Clone(pb.Current.Receivers[0].RatchetPublic)
		}},
		{name: "sender public key one bit off", mutate: func(pb *sessionpb.SessionRecord) { pb.Current.Sender.RatchetPublic[7] ^= 0x10 }},
		{name: "sender private key one bit off", mutate: func(pb *sessionpb.SessionRecord) { pb.Current.Sender.RatchetPrivate[7] ^= 0x10 }},
		{name: "archived sender pair mismatch", mutate: func(pb *sessionpb.SessionRecord) { pb.Previous[0].Sender.RatchetPublic[0] ^= 1 }},
	}
	for _, n := range []int{0, 31, 33} {
		cs = append(cs, keyCorruptions(n)...)
	}
	return cs
}

func clones[T proto.Message](m T, n int) []T {
	out := make([]T, n)
	for i := range out {
		out[i] = proto.Clone(m).(T)
	}
	return out
}

// distinctChains returns n copies of rc, each with its own ratchet key.
func distinctChains(rc *sessionpb.ReceiverChain, n int) []*sessionpb.ReceiverChain {
	out := clones(rc, n)
	for i, c := range out {
		c.RatchetPublic = append([]byte(nil), c.RatchetPublic...)
		c.RatchetPublic[0] ^= byte(i)
	}
	return out
}

// fillSkipped gives rc n skipped keys, all behind its chain index.
func fillSkipped(rc *sessionpb.ReceiverChain, n int) {
	seed := rc.Skipped[0].Seed
	rc.Skipped = nil
	rc.Index = uint32(n) + 10
	for i := range n {
		rc.Skipped = append(rc.Skipped, &sessionpb.SkippedKey{Index: uint32(i), Seed: seed})
	}
}

// corruptedRecords applies each corruption to alice's record of a rich
// conversation (current with pending prekey, archived state, skipped keys).
func corruptedRecords(t testing.TB) ([]corruption, [][]byte) {
	t.Helper()
	c := newRichConversation(t, 1)
	aliceRec, _ := c.records(t)
	valid := mustMarshal(t, aliceRec)
	cs := corruptions()
	out := make([][]byte, len(cs))
	for i, cr := range cs {
		var pb sessionpb.SessionRecord
		if err := proto.Unmarshal(valid, &pb); err != nil {
			t.Fatal(err)
		}
		cr.mutate(&pb)
		b, err := proto.Marshal(&pb)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = b
	}
	return cs, out
}

func TestUnmarshalRecordRefusesCorruption(t *testing.T) {
	cs, records := corruptedRecords(t)
	for i, cr := range cs {
		t.Run(cr.name, func(t *testing.T) {
			t.Parallel()
			r, err := UnmarshalRecord(records[i])
			if cr.ok {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				roundTrip(t, r)
				return
			}
			if !errors.Is(err, ErrCorruptRecord) {
				t.Fatalf("err = %v, want ErrCorruptRecord", err)
			}
			t.Logf("refused: %v", err)
			if r.Current != nil || r.Previous != nil {
				t.Fatal("a refused record came with states")
			}
		})
	}
}

// TestUnmarshalRecordTruncated cuts a real record at every length. A cut
// between two top-level fields leaves a shorter valid record (protobuf
// cannot tell); every other cut lands inside a field and is refused.
func TestUnmarshalRecordTruncated(t *testing.T) {
	c := newRichConversation(t, 1)
	aliceRec, _ := c.records(t)
	b := mustMarshal(t, aliceRec)
	boundaries := map[int]bool{}
	for off := 0; off < len(b); {
		_, _, n := protowire.ConsumeField(b[off:])
		if n < 0 {
			t.Fatal(protowire.ParseError(n))
		}
		off += n
		boundaries[off] = true
	}
	if len(boundaries) < 3 {
		t.Fatalf("only %d top-level fields", len(boundaries))
	}
	for n := range len(b) {
		r, err := UnmarshalRecord(b[:n])
		switch {
		case boundaries[n] && err != nil:
			t.Errorf("cut at field boundary %d: %v", n, err)
		case !boundaries[n] && !errors.Is(err, ErrCorruptRecord):
			t.Errorf("cut at %d of %d: err = %v, want ErrCorruptRecord", n, len(b), err)
		case err == nil && len(r.Previous) >= len(aliceRec.Previous) && n < len(b):
			t.Errorf("cut at %d lost nothing", n)
		}
	}
}

func TestUnmarshalRecordGarbage(t *testing.T) {
	for _, b := range [][]byte{
		{0xff},
		{0x08},
		bytes.Repeat([]byte{0xff}, 64),
		[]byte("not a protobuf at all"),
		{0x12, 0x05, 0x01},                // current: length past the end
		{0x08, 0x01, 0x1a, 0x00},          // an empty archived state
		{0x08, 0x01, 0x12, 0x02, 0x08, 3}, // a current state of version 3, nothing else
	} {
		if _, err := UnmarshalRecord(b); !errors.Is(err, ErrCorruptRecord) {
			t.Errorf("%x: err = %v, want ErrCorruptRecord", b, err)
		}
	}
	// The empty input is schema version 0: refused too.
	if _, err := UnmarshalRecord(nil); !errors.Is(err, ErrCorruptRecord) {
		t.Errorf("empty record: err = %v, want ErrCorruptRecord", err)
	}
}

// restart rebuilds p from bytes, as a process restart does: a fresh
// MemoryStore with the same identity and prekeys, and every session record
// and trusted identity marshalled and unmarshalled.
func restart(t *testing.T, p *party) *party {
	t.Helper()
	ik, reg, err := p.store.LocalIdentity()
	if err != nil {
		t.Fatal(err)
	}
	saved := map[Address][]byte{}
	for addr, rec := range p.store.Snapshot() {
		saved[addr] = mustMarshal(t, rec)
	}
	st := NewMemoryStore(ik, reg)
	for addr, b := range saved {
		rec, err := UnmarshalRecord(b)
		if err != nil {
			t.Fatalf("restore %s: %v", addr, err)
		}
		trusted, ok, _ := p.store.TrustedIdentity(addr)
		if !ok {
			t.Fatalf("no trusted identity for %s", addr)
		}
		if err := st.Commit(Commit{Address: addr, Record: rec, Identity: trusted}); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range p.store.signed {
		st.AddSignedPreKey(k)
	}
	for _, k := range p.store.prekeys {
		st.AddPreKey(k)
	}
	return &party{
		addr:   p.addr,
		store:  st,
		cipher: &Cipher{Store: st, Local: p.addr, Rand: p.cipher.Rand, Now: p.cipher.Now},
		nextID: p.nextID,
	}
}

// TestSessionSurvivesRestart restarts both parties from their marshalled
// records at awkward moments (a prekey message in flight, skipped keys
// held) and carries on both ways.
func TestSessionSurvivesRestart(t *testing.T) {
	alice, bob := seededParty(t, "alice", 7), seededParty(t, "bob", 8)
	if err := alice.cipher.ProcessBundle(bob.addr, bob.bundle(t, true)); err != nil {
		t.Fatal(err)
	}
	a1, a2 := alice.send(t, bob, []byte("a1")), alice.send(t, bob, []byte("a2"))
	bob.recv(t, alice, a1)

	alice, bob = restart(t, alice), restart(t, bob)
	bob.recv(t, alice, a2) // a prekey message of a session bob already has
	a3 := alice.send(t, bob, []byte("a3"))
	if a3.typ != wire.TypePreKey {
		t.Fatalf("type %d before any reply, want prekey", a3.typ)
	}
	bob.recv(t, alice, a3)
	alice.recv(t, bob, bob.send(t, alice, []byte("b1")))
	a4, a5 := alice.send(t, bob, []byte("a4")), alice.send(t, bob, []byte("a5"))
	bob.recv(t, alice, alice.send(t, bob, []byte("a6")))
	b2 := bob.send(t, alice, []byte("b2"))
	alice.recv(t, bob, bob.send(t, alice, []byte("b3")))

	alice, bob = restart(t, alice), restart(t, bob)
	bob.recv(t, alice, a5)
	bob.recv(t, alice, a4)
	alice.recv(t, bob, b2)
	if _, err := bob.cipher.Decrypt(alice.addr, a4.typ, a4.ct); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("replay of a skipped message after restart: %v, want ErrDuplicate", err)
	}
	m := alice.send(t, bob, []byte("a7"))
	if m.typ != wire.TypeSignal {
		t.Fatalf("type %d after the reply, want signal", m.typ)
	}
	bob.recv(t, alice, m)
	for i := range 12 {
		if i%4 == 3 {
			alice, bob = restart(t, alice), restart(t, bob)
		}
		if i%3 == 0 {
			bob.recv(t, alice, alice.send(t, bob, []byte(fmt.Sprint("a", i))))
		} else {
			alice.recv(t, bob, bob.send(t, alice, []byte(fmt.Sprint("b", i))))
		}
	}
}

// TestUnmarshalRecordRefusesRepeatedSkippedIndex is a regression test for
// a bug in codec.go: a receiving chain holding two skipped keys for the
// same message index was accepted, and the record then decrypted that
// message twice (the ratchet uses and deletes the first copy; a replay
// finds the second). The ratchet never writes such a chain, so only a
// corrupt or planted record has one; UnmarshalRecord must refuse it as it
// refuses the other broken invariants.
func TestUnmarshalRecordRefusesRepeatedSkippedIndex(t *testing.T) {
	c := newRichConversation(t, 1)
	_, bobRec := c.records(t)
	var pb sessionpb.SessionRecord
	if err := proto.Unmarshal(mustMarshal(t, bobRec), &pb); err != nil {
		t.Fatal(err)
	}
	rc := skippedChain(&pb)
	rc.Skipped = append(rc.Skipped, proto.Clone(rc.Skipped[0]).(*sessionpb.SkippedKey))
	b, err := proto.Marshal(&pb)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := UnmarshalRecord(b)
	if errors.Is(err, ErrCorruptRecord) {
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	// What accepting it costs: bob decrypts alice's first late message
	// (the one of the repeated index) twice.
	replaceRecord(t, c.bob, c.alice, rec)
	m := c.toBob[0]
	c.bob.recv(t, c.alice, m)
	_, err = c.bob.cipher.Decrypt(c.alice.addr, m.typ, m.ct)
	t.Fatalf("a record with a repeated skipped key index was accepted; replaying the message then gives err = %v (want the record refused with ErrCorruptRecord)", err)
}
