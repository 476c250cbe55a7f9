package session

import (
	"bytes"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/blindpost/blindpost/proto/spqrpb"
	"github.com/blindpost/blindpost/spqr"
	"github.com/blindpost/blindpost/wire"
)

// pqPair returns alice and bob, with reproducible randomness from seed,
// and a version-4 session started by alice from bob's bundle with a
// one-time Kyber prekey; each side asks its minimum of the peer's SPQR.
func pqPair(t testing.TB, seed byte, minAlice, minBob spqr.Version) (*party, *party) {
	t.Helper()
	alice, bob := seededParty(t, "alice", seed), seededParty(t, "bob", seed+1)
	alice.cipher.SPQRMinimum, bob.cipher.SPQRMinimum = minAlice, minBob
	if err := alice.cipher.ProcessBundle(bob.addr, bob.kyberBundle(t, true, false)); err != nil {
		t.Fatal(err)
	}
	return alice, bob
}

// current returns p's current session state with remote.
func (p *party) current(t testing.TB, remote *party) State {
	t.Helper()
	rec, ok, err := p.store.Record(remote.addr)
	if err != nil || !ok || rec.Current == nil {
		t.Fatalf("%s has no session with %s (%v)", p.addr.Name, remote.addr.Name, err)
	}
	return *rec.Current
}

// braidOf decodes the stored SPQR state of s, to see its braid's phase.
func braidOf(t testing.TB, s State) *spqrpb.Braid {
	t.Helper()
	b, err := s.Ratchet.PQ.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	var pb spqrpb.State
	if err := proto.Unmarshal(b, &pb); err != nil {
		t.Fatal(err)
	}
	return pb.Braid
}

// pqMaxOvertaken bounds how many later messages may be delivered before a
// message in flight. It keeps every first delivery decryptable by design:
// losing a receiving chain to the MaxReceiverChains limit takes five newer
// ratchet keys from the sender, hence at least nine later deliveries
// alternating in direction; losing an SPQR epoch (SPQR keeps the epoch
// before its sending epoch) takes two braid epochs, well over a hundred
// deliveries, and at most pqMaxPending+pqMaxOvertaken happen while a
// message is in flight.
const (
	pqMaxOvertaken = 8
	pqReorderFrom  = 12 // the next delivery is one of this many oldest
	pqMaxPending   = 40
	pqMaxBurst     = 12
)

// pqFlight is a message in flight, and how many later ones overtook it.
type pqFlight struct {
	inFlight
	overtaken int
}

// pqNetwork is a conversation over a network that reorders, drops and
// replays messages, with both sides reloading their record from bytes now
// and then.
type pqNetwork struct {
	t          testing.TB
	r          *mrand.Rand
	alice, bob *party
	pending    []*pqFlight
	done       []*pqFlight
	// bobStarted: bob has a session (alice's first message reached him).
	bobStarted bool

	sent, delivered, dropped, replays, duplicates, reloads int
	// reloadPhases are the braid phases of the records reloaded.
	reloadPhases map[spqrpb.Phase]bool
	// samples, when not nil, collects each side's first record in each
	// braid phase, keyed "<name>-<phase>"; probes then holds, under the
	// same key, a message the remote could send next (see probe).
	samples map[string]Record
	probes  map[string]*wire.SignalMessage
}

func newPQNetwork(t testing.TB, seed byte, minAlice, minBob spqr.Version) *pqNetwork {
	alice, bob := pqPair(t, seed, minAlice, minBob)
	return &pqNetwork{
		t: t, r: mrand.New(mrand.NewPCG(uint64(seed), 4)), alice: alice, bob: bob,
		reloadPhases: map[spqrpb.Phase]bool{},
	}
}

// TestPropertySPQR runs version-4 sessions with SPQR over a network that
// reorders within a window, drops and replays, in bursts both ways, across
// many SPQR epochs (20, or 6 with -short), reloading each side's record
// from bytes at random points (mid-epoch, in every braid phase). Every
// first delivery decrypts once and byte for byte; every replay (of one of
// the last 64 messages delivered) is refused as a duplicate while the
// receiver holds its receiving chain, and changes nothing; every message
// carries SPQR data and SPQR stays on, for every pair of minimum versions.
func TestPropertySPQR(t *testing.T) {
	minEpochs := uint64(20)
	if testing.Short() {
		minEpochs = 6
	}
	cases := []struct {
		seed byte
		min  [2]spqr.Version // alice's and bob's SPQRMinimum
	}{
		{seed: 1, min: [2]spqr.Version{spqr.V1, spqr.V1}},
		{seed: 3, min: [2]spqr.Version{spqr.V1, spqr.V1}},
		{seed: 5, min: [2]spqr.Version{spqr.V1, spqr.V1}},
		{seed: 7, min: [2]spqr.Version{spqr.V0, spqr.V1}},
		{seed: 9, min: [2]spqr.Version{spqr.V1, spqr.V0}},
		{seed: 11, min: [2]spqr.Version{spqr.V0, spqr.V0}},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("seed%d/alice-V%d/bob-V%d", tc.seed, tc.min[0], tc.min[1]), func(t *testing.T) {
			t.Parallel()
			n := newPQNetwork(t, tc.seed, tc.min[0], tc.min[1])
			n.run(minEpochs)
			n.check()
		})
	}
}

// run goes on until both sides are past minEpochs, then delivers or drops
// what is still in flight.
func (n *pqNetwork) run(minEpochs uint64) {
	t := n.t
	const maxSends = 40_000
	for !n.pastEpoch(minEpochs) {
		if n.sent >= maxSends {
			t.Fatalf("%d messages sent and SPQR epochs are only %d (alice) and %d (bob)", n.sent, n.epoch(n.alice, n.bob), n.epoch(n.bob, n.alice))
		}
		n.step(true)
	}
	for len(n.pending) > 0 {
		n.step(false)
	}
}

// check checks what run did, and that SPQR is on at both ends.
func (n *pqNetwork) check() {
	t := n.t
	if n.delivered+n.dropped != n.sent {
		t.Fatalf("sent %d, delivered %d, dropped %d", n.sent, n.delivered, n.dropped)
	}
	if n.replays == 0 || n.duplicates == 0 || n.reloads == 0 {
		t.Fatalf("%d replays (%d duplicates), %d reloads: the schedule tried too little", n.replays, n.duplicates, n.reloads)
	}
	// Reloads happened mid-epoch: in most of the braid's eleven phases.
	if len(n.reloadPhases) < 8 {
		t.Fatalf("records reloaded in %d braid phases only: %v", len(n.reloadPhases), n.reloadPhases)
	}
	for _, p := range []*party{n.alice, n.bob} {
		remote := n.peer(p)
		s := p.current(t, remote)
		if s.Ratchet.Version != 4 || !s.Ratchet.PQ.Enabled() || s.Ratchet.PQ.Negotiating() {
			t.Fatalf("%s: version %d, SPQR on %t, negotiating %t", p.addr.Name, s.Ratchet.Version, s.Ratchet.PQ.Enabled(), s.Ratchet.PQ.Negotiating())
		}
	}
	t.Logf("%d sent, %d delivered, %d dropped, %d replays refused (%d as duplicates), %d reloads in %d phases; SPQR epochs alice %d, bob %d",
		n.sent, n.delivered, n.dropped, n.replays, n.duplicates, n.reloads, len(n.reloadPhases), n.epoch(n.alice, n.bob), n.epoch(n.bob, n.alice))
}

func (n *pqNetwork) peer(p *party) *party {
	if p == n.alice {
		return n.bob
	}
	return n.alice
}

// epoch is the SPQR epoch of p's stored session with remote.
func (n *pqNetwork) epoch(p, remote *party) uint64 {
	rec, ok, err := p.store.Record(remote.addr)
	if err != nil || !ok || rec.Current == nil {
		return 0
	}
	return rec.Current.Ratchet.PQ.Epoch()
}

func (n *pqNetwork) pastEpoch(min uint64) bool {
	return n.epoch(n.alice, n.bob) >= min && n.epoch(n.bob, n.alice) >= min
}

// step does one random thing; sending only when send is set.
func (n *pqNetwork) step(send bool) {
	switch op := n.r.IntN(100); {
	case send && op < 30 && len(n.pending) < pqMaxPending:
		n.burst()
	case op < 80 && len(n.pending) > 0:
		n.deliver()
	case op < 84 && len(n.pending) > 0:
		i := n.r.IntN(len(n.pending))
		n.pending = slices.Delete(n.pending, i, i+1)
		n.dropped++
	case op < 96 && len(n.done) > 0:
		n.replay()
	case op < 100:
		p := n.alice
		if n.r.IntN(2) == 0 && n.bobStarted {
			p = n.bob
		}
		n.reload(p)
	}
	if n.samples != nil {
		n.sample(n.alice)
		if n.bobStarted {
			n.sample(n.bob)
		}
	}
}

// sample keeps p's record if its braid phase is new for p.
func (n *pqNetwork) sample(p *party) {
	rec, _, err := p.store.Record(n.peer(p).addr)
	if err != nil {
		n.t.Fatal(err)
	}
	key := p.addr.Name + "-" + braidOf(n.t, *rec.Current).Phase.String()
	if _, ok := n.samples[key]; !ok {
		n.samples[key] = rec
		if n.probes != nil {
			if m := n.probe(p); m != nil {
				n.probes[key] = m
			}
		}
	}
}

// burst sends a run of messages one way: alice's until bob has a session.
func (n *pqNetwork) burst() {
	from := n.alice
	if n.bobStarted && n.r.IntN(2) == 0 {
		from = n.bob
	}
	to := n.peer(from)
	for range 1 + n.r.IntN(pqMaxBurst) {
		if len(n.pending) >= pqMaxPending {
			return
		}
		pt := make([]byte, n.r.IntN(200))
		for i := range pt {
			pt[i] = byte(n.r.Uint32())
		}
		m := from.send(n.t, to, pt)
		n.checkCarriesSPQR(m)
		n.pending = append(n.pending, &pqFlight{inFlight: inFlight{from: from, to: to, typ: m.typ, ct: m.ct, pt: pt}})
		n.sent++
	}
}

// checkCarriesSPQR: every message of a session with SPQR on has SPQR data.
func (n *pqNetwork) checkCarriesSPQR(m sent) {
	sm := signalMessage(n.t, m.typ, m.ct)
	if sm.Version != 0x44 || len(sm.PQRatchet) == 0 {
		n.t.Fatalf("message with version byte %#02x and %d bytes of SPQR data", sm.Version, len(sm.PQRatchet))
	}
}

// signalMessage parses a message of either type and returns its
// SignalMessage.
func signalMessage(t testing.TB, typ int, ct []byte) *wire.SignalMessage {
	t.Helper()
	if typ == wire.TypePreKey {
		pm, err := wire.ParsePreKeySignalMessage(ct)
		if err != nil {
			t.Fatal(err)
		}
		return pm.Message
	}
	sm, err := wire.ParseSignalMessage(ct)
	if err != nil {
		t.Fatal(err)
	}
	return sm
}

// deliver delivers one of the oldest messages in flight; the oldest when
// it has been overtaken pqMaxOvertaken times.
func (n *pqNetwork) deliver() {
	i := n.r.IntN(min(len(n.pending), pqReorderFrom))
	if n.pending[0].overtaken >= pqMaxOvertaken {
		i = 0
	}
	for _, older := range n.pending[:i] {
		older.overtaken++
	}
	m := n.pending[i]
	n.pending = slices.Delete(n.pending, i, i+1)
	got, err := m.to.cipher.Decrypt(m.from.addr, m.typ, m.ct)
	if err != nil {
		n.t.Fatalf("message %d: first delivery of a %d-byte message from %s (overtaken %d times): %v",
			n.delivered+n.dropped, len(m.pt), m.from.addr.Name, m.overtaken, err)
	}
	if !bytes.Equal(got, m.pt) {
		n.t.Fatal("decrypted text differs")
	}
	if m.to == n.bob {
		n.bobStarted = true
	}
	m.delivered = true
	n.done = append(n.done, m)
	n.delivered++
}

// replay re-delivers a delivered message, mostly a recent one: it must be
// refused, as a duplicate while the receiver holds its receiving chain,
// and leave the receiver's record as it was.
func (n *pqNetwork) replay() {
	t := n.t
	recent := n.done[max(0, len(n.done)-64):]
	m := recent[n.r.IntN(len(recent))]
	held := chainHeld(t, &m.inFlight)
	before := n.recordBytes(m.to, m.from)
	_, err := m.to.cipher.Decrypt(m.from.addr, m.typ, m.ct)
	switch {
	case err == nil:
		t.Fatal("a replayed message decrypted twice")
	case held && !errors.Is(err, ErrDuplicate):
		t.Fatalf("replay on a held chain: %v, want ErrDuplicate", err)
	case !held && !errors.Is(err, ErrInvalidMessage):
		t.Fatalf("replay on an evicted chain: %v, want ErrInvalidMessage", err)
	}
	if !bytes.Equal(before, n.recordBytes(m.to, m.from)) {
		t.Fatal("a refused replay changed the record")
	}
	n.replays++
	if held {
		n.duplicates++
	}
}

func (n *pqNetwork) recordBytes(p, remote *party) []byte {
	rec, _, err := p.store.Record(remote.addr)
	if err != nil {
		n.t.Fatal(err)
	}
	return mustMarshal(n.t, rec)
}

// reload replaces p's record by its MarshalRecord/UnmarshalRecord round
// trip, as a restart would.
func (n *pqNetwork) reload(p *party) {
	remote := n.peer(p)
	rec, ok, err := p.store.Record(remote.addr)
	if err != nil || !ok {
		n.t.Fatalf("no record to reload: %v", err)
	}
	n.reloadPhases[braidOf(n.t, *rec.Current).Phase] = true
	replaceRecord(n.t, p, remote, pqRoundTrip(n.t, rec))
	n.reloads++
}

// pqRoundTrip is roundTrip for records with SPQR state, which holds
// unexported fields: the bytes of marshal, unmarshal, marshal are
// identical, and the record is equal outside SPQR and encodes the same
// SPQR state. (reflect.DeepEqual would tell an emptied list of kept SPQR
// keys from a nil one.)
func pqRoundTrip(t testing.TB, r Record) Record {
	t.Helper()
	got := remarshal(t, r)
	states := func(r Record) []State { return append(derefState(r.Current), r.Previous...) }
	want, have := states(r), states(got)
	if len(want) != len(have) {
		t.Fatalf("%d states after a round trip, want %d", len(have), len(want))
	}
	for i := range want {
		w, h := want[i], have[i]
		wpq, err1 := w.Ratchet.PQ.Marshal()
		hpq, err2 := h.Ratchet.PQ.Marshal()
		if err := errors.Join(err1, err2); err != nil || !bytes.Equal(wpq, hpq) {
			t.Fatalf("state %d: SPQR state differs after a round trip (%v)", i, err)
		}
		w.Ratchet.PQ, h.Ratchet.PQ = spqr.State{}, spqr.State{}
		if !recordsEqual(Record{Current: &w}, Record{Current: &h}) {
			t.Fatalf("state %d differs after a round trip: %v, want %v", i, h.Ratchet, w.Ratchet)
		}
	}
	return got
}
