package session

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/blindpost/blindpost/proto/sessionpb"
	"github.com/blindpost/blindpost/proto/spqrpb"
	"github.com/blindpost/blindpost/ratchet"
	"github.com/blindpost/blindpost/spqr"
	"github.com/blindpost/blindpost/wire"
)

// spqrSample is a record holding a version-4 session with SPQR in some
// braid phase, and a message the remote could send next, which the record
// must decrypt (nil while the remote has no session yet).
type spqrSample struct {
	rec   Record
	probe *wire.SignalMessage
}

// spqrPhaseRecords returns, keyed "<side>-<PHASE>", both sides' records in
// each of the eleven braid phases: the first record seen in that phase in
// two seeded conversations with bursts, drops, reordering and reloads.
// Records are the same on every run; probes are not.
func spqrPhaseRecords(t testing.TB) map[string]spqrSample {
	t.Helper()
	samples := map[string]Record{}
	probes := map[string]*wire.SignalMessage{}
	for _, seed := range []byte{21, 23} {
		n := newPQNetwork(t, seed, spqr.V1, spqr.V1)
		n.samples, n.probes = samples, probes
		n.run(3)
	}
	out := map[string]spqrSample{}
	for k, rec := range samples {
		out[k] = spqrSample{rec: rec, probe: probes[k]}
	}
	if len(out) != 22 {
		t.Fatalf("records in %d (side, phase) pairs, want 22", len(out))
	}
	return out
}

// probe is what the remote of p would send next, encrypted on a copy of
// its state, or nil if it has no session.
func (n *pqNetwork) probe(p *party) *wire.SignalMessage {
	rec, ok, err := n.peer(p).store.Record(p.addr)
	if err != nil || !ok || rec.Current == nil {
		return nil
	}
	_, m, err := rec.Current.Ratchet.Encrypt([]byte("probe"), ratchet.Header{}, rand.Reader)
	if err != nil {
		n.t.Fatal(err)
	}
	return m
}

// spqrOf and withSPQR take apart and put back the SPQR state of a
// record's current session.
func spqrOf(t testing.TB, rec Record) (*sessionpb.SessionRecord, *spqrpb.State) {
	t.Helper()
	var pb sessionpb.SessionRecord
	if err := proto.Unmarshal(mustMarshal(t, rec), &pb); err != nil {
		t.Fatal(err)
	}
	var st spqrpb.State
	if err := proto.Unmarshal(pb.Current.Spqr, &st); err != nil {
		t.Fatal(err)
	}
	return &pb, &st
}

func withSPQR(t testing.TB, pb *sessionpb.SessionRecord, spqrBytes []byte) []byte {
	t.Helper()
	pb = proto.Clone(pb).(*sessionpb.SessionRecord)
	pb.Current.Spqr = spqrBytes
	b, err := proto.Marshal(pb)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// unmarshalNoPanic is UnmarshalRecord, failing the test with what was
// being tried if it panics.
func unmarshalNoPanic(t testing.TB, what string, b []byte) (r Record, err error) {
	t.Helper()
	defer func() {
		if p := recover(); p != nil {
			t.Fatalf("%s: UnmarshalRecord panicked: %v", what, p)
		}
	}()
	return UnmarshalRecord(b)
}

func mustRefuse(t testing.TB, what string, b []byte) {
	t.Helper()
	r, err := unmarshalNoPanic(t, what, b)
	if !errors.Is(err, ErrCorruptRecord) {
		t.Fatalf("%s: err = %v, want ErrCorruptRecord", what, err)
	}
	if r.Current != nil || r.Previous != nil {
		t.Fatalf("%s: a refused record came with states", what)
	}
}

// spqrCorruption is a change to the stored SPQR state that leaves it
// inconsistent; apply reports false where it does not apply.
type spqrCorruption struct {
	name  string
	apply func(st *spqrpb.State) bool
}

func spqrCorruptions() []spqrCorruption {
	resized := func(b []byte, d int) []byte { return resize(b, max(0, len(b)+d)) }
	cs := []spqrCorruption{
		{"no braid", func(st *spqrpb.State) bool { st.Braid = nil; return true }},
		{"neither negotiation nor chain", func(st *spqrpb.State) bool { st.Negotiation, st.Chain = nil, nil; return true }},
		{"braid epoch 0", func(st *spqrpb.State) bool { st.Braid.Epoch = 0; return true }},
		{"auth root of 31 bytes", func(st *spqrpb.State) bool { st.Braid.AuthRoot = resized(st.Braid.AuthRoot, -1); return true }},
		{"auth MAC key of 33 bytes", func(st *spqrpb.State) bool { st.Braid.AuthMac = resized(st.Braid.AuthMac, 1); return true }},
		{"decoder of an unknown format", func(st *spqrpb.State) bool {
			if len(st.Braid.Receiving) == 0 {
				return false
			}
			st.Braid.Receiving = slices.Clone(st.Braid.Receiving)
			st.Braid.Receiving[0] ^= 0xff
			return true
		}},
		{"decoder one byte short", func(st *spqrpb.State) bool {
			if len(st.Braid.Receiving) == 0 {
				return false
			}
			st.Braid.Receiving = resized(st.Braid.Receiving, -1)
			return true
		}},
		{"negotiation auth key of 31 bytes", func(st *spqrpb.State) bool {
			if st.Negotiation == nil {
				return false
			}
			st.Negotiation.AuthKey = resized(st.Negotiation.AuthKey, -1)
			return true
		}},
		{"negotiation direction 2", func(st *spqrpb.State) bool {
			if st.Negotiation == nil {
				return false
			}
			st.Negotiation.Direction = 2
			return true
		}},
		{"negotiation minimum version 2", func(st *spqrpb.State) bool {
			if st.Negotiation == nil {
				return false
			}
			st.Negotiation.MinVersion = 2
			return true
		}},
	}
	chain := func(name string, f func(c *spqrpb.Chain)) spqrCorruption {
		return spqrCorruption{name, func(st *spqrpb.State) bool {
			if st.Chain == nil {
				return false
			}
			f(st.Chain)
			return true
		}}
	}
	cs = append(cs,
		chain("chain next root of 31 bytes", func(c *spqrpb.Chain) { c.NextRoot = resized(c.NextRoot, -1) }),
		chain("chain direction 2", func(c *spqrpb.Chain) { c.Direction = 2 }),
		chain("chain max jump 0", func(c *spqrpb.Chain) { c.MaxJump = 0 }),
		chain("chain max kept keys 0", func(c *spqrpb.Chain) { c.MaxOooKeys = 0 }),
		chain("chain without epochs", func(c *spqrpb.Chain) { c.Links = nil }),
		chain("chain with more epochs than it went through", func(c *spqrpb.Chain) {
			c.Links = clones(c.Links[0], int(c.CurrentEpoch)+2)
		}),
		chain("chain sending in an epoch it has not reached", func(c *spqrpb.Chain) { c.SendEpoch = c.CurrentEpoch + 1 }),
		chain("chain epoch without a sending half", func(c *spqrpb.Chain) { c.Links[0].Send = nil }),
		chain("chain key of 31 bytes", func(c *spqrpb.Chain) {
			h := c.Links[len(c.Links)-1].Recv
			h.Next = resized(h.Next, -1)
		}),
		chain("kept key of 35 bytes", func(c *spqrpb.Chain) {
			h := c.Links[len(c.Links)-1].Recv
			h.Counter += 2
			h.Kept = append(slices.Clone(h.Kept), make([]byte, 35)...)
		}),
		chain("kept key at its chain's counter", func(c *spqrpb.Chain) {
			h := c.Links[len(c.Links)-1].Recv
			h.Kept = append(slices.Clone(h.Kept), make([]byte, 36)...)
			copy(h.Kept[len(h.Kept)-36:], []byte{byte(h.Counter >> 24), byte(h.Counter >> 16), byte(h.Counter >> 8), byte(h.Counter)})
		}),
		chain("kept key twice", func(c *spqrpb.Chain) {
			h := c.Links[len(c.Links)-1].Recv
			h.Counter += 10
			k := make([]byte, 36)
			k[3] = 1
			h.Kept = slices.Concat(k, k)
		}),
	)
	// Every braid field, resized by one byte or emptied where present,
	// and present where the phase has no use for it.
	fields := []struct {
		name string
		at   func(b *spqrpb.Braid) *[]byte
	}{
		{"header", func(b *spqrpb.Braid) *[]byte { return &b.Header }},
		{"key vector", func(b *spqrpb.Braid) *[]byte { return &b.KeyVector }},
		{"decapsulation key", func(b *spqrpb.Braid) *[]byte { return &b.DecapsKey }},
		{"encapsulation state", func(b *spqrpb.Braid) *[]byte { return &b.EncapsState }},
		{"ct1", func(b *spqrpb.Braid) *[]byte { return &b.Ct1 }},
		{"data being sent", func(b *spqrpb.Braid) *[]byte { return &b.Sending }},
		{"decoder", func(b *spqrpb.Braid) *[]byte { return &b.Receiving }},
	}
	for _, f := range fields {
		cs = append(cs,
			spqrCorruption{f.name + " one byte short", func(st *spqrpb.State) bool {
				p := f.at(st.Braid)
				*p = resized(*p, -1)
				return len(*p) > 0
			}},
			spqrCorruption{f.name + " one byte long", func(st *spqrpb.State) bool {
				p := f.at(st.Braid)
				if len(*p) == 0 {
					return false
				}
				*p = resized(*p, 1)
				return true
			}},
			spqrCorruption{f.name + " missing or unexpected", func(st *spqrpb.State) bool {
				p := f.at(st.Braid)
				if len(*p) == 0 {
					*p = make([]byte, 64)
				} else {
					*p = nil
				}
				return true
			}},
		)
	}
	return cs
}

// TestUnmarshalRecordRefusesCorruptSPQR corrupts the SPQR state of records
// in every braid phase, on both sides: every structural corruption, every
// truncation and every other phase with the phase's data is refused with
// ErrCorruptRecord and no states, and nothing panics. The records
// themselves load and decrypt what the remote sends next.
func TestUnmarshalRecordRefusesCorruptSPQR(t *testing.T) {
	samples := spqrPhaseRecords(t)
	corruptions := spqrCorruptions()
	applied := map[string]int{}
	for key, s := range samples {
		pb, st := spqrOf(t, s.rec)
		valid := mustMarshal(t, s.rec)
		got, err := unmarshalNoPanic(t, key, valid)
		if err != nil {
			t.Fatalf("%s: the record itself is refused: %v", key, err)
		}
		if s.probe != nil {
			if _, _, err := got.Current.Ratchet.Decrypt(s.probe, rand.Reader); err != nil {
				t.Fatalf("%s: reloaded record does not decrypt the remote's next message: %v", key, err)
			}
		}
		for _, c := range corruptions {
			bad := proto.Clone(st).(*spqrpb.State)
			if !c.apply(bad) {
				continue
			}
			applied[c.name]++
			b, err := proto.Marshal(bad)
			if err != nil {
				t.Fatal(err)
			}
			mustRefuse(t, key+": "+c.name, withSPQR(t, pb, b))
		}
		for ph := range spqrpb.Phase(13) {
			if ph == st.Braid.Phase {
				continue
			}
			bad := proto.Clone(st).(*spqrpb.State)
			bad.Braid.Phase = ph
			b, _ := proto.Marshal(bad)
			mustRefuse(t, fmt.Sprintf("%s: relabelled %s", key, ph), withSPQR(t, pb, b))
		}
		// A cut of the SPQR bytes loses the braid or cuts a field short:
		// cuts at, and next to, the ends of its fields, and an even spread.
		// (The empty cut is SPQR off, which a version-4 session that
		// negotiated SPQR away stores.)
		raw := pb.Current.Spqr
		for _, n := range cutPoints(t, raw) {
			mustRefuse(t, fmt.Sprintf("%s: SPQR state cut at %d of %d bytes", key, n, len(raw)), withSPQR(t, pb, raw[:n]))
		}
	}
	for _, c := range corruptions {
		if applied[c.name] == 0 {
			t.Errorf("corruption %q applied to no record", c.name)
		}
	}
}

// cutPoints returns the lengths, between 1 and len(b)-1, at which to cut
// the serialized SPQR state b: each end of a top-level field and of a
// braid field, one byte either side of it, and about 100 more evenly
// spread.
func cutPoints(t testing.TB, b []byte) []int {
	t.Helper()
	var ends []int
	var walk func(b []byte, base int, descend protowire.Number)
	walk = func(b []byte, base int, descend protowire.Number) {
		for off := 0; off < len(b); {
			num, typ, n := protowire.ConsumeTag(b[off:])
			v := protowire.ConsumeFieldValue(num, typ, b[off+n:])
			if n < 0 || v < 0 {
				t.Fatal("SPQR state does not parse")
			}
			if num == descend && typ == protowire.BytesType {
				_, ln := protowire.ConsumeVarint(b[off+n:])
				walk(b[off+n+ln:off+n+v], base+off+n+ln, -1)
			}
			off += n + v
			ends = append(ends, base+off)
		}
	}
	walk(b, 0, 3) // descend into the braid (field 3)
	var cuts []int
	for _, e := range ends {
		cuts = append(cuts, e-1, e, e+1)
	}
	for n := 1; n < len(b); n += len(b)/100 + 1 {
		cuts = append(cuts, n)
	}
	slices.Sort(cuts)
	return slices.DeleteFunc(slices.Compact(cuts), func(n int) bool { return n < 1 || n >= len(b) })
}

// TestUnmarshalRecordSPQRByteFlips inverts bytes of the stored SPQR state
// of records in every braid phase (every byte of the smaller states, an
// even spread of the larger ones). Most land in key material, which no
// parser can check: such records load, marshal back to the same bytes, and
// then encrypt, or refuse to with an error, and decrypt the remote's next
// message or refuse it with an error. Nothing panics.
func TestUnmarshalRecordSPQRByteFlips(t *testing.T) {
	flips, refused := 0, 0
	for key, s := range spqrPhaseRecords(t) {
		pb, _ := spqrOf(t, s.rec)
		raw := pb.Current.Spqr
		step := len(raw)/100 + 1
		for i := len(key) % step; i < len(raw); i += step {
			b := slices.Clone(raw)
			b[i] ^= 0xff
			what := fmt.Sprintf("%s: byte %d of %d inverted", key, i, len(raw))
			r, err := unmarshalNoPanic(t, what, withSPQR(t, pb, b))
			flips++
			if err != nil {
				if !errors.Is(err, ErrCorruptRecord) || r.Current != nil {
					t.Fatalf("%s: %v with a record, want ErrCorruptRecord and none", what, err)
				}
				refused++
				continue
			}
			useNoPanic(t, what, r, s.probe)
		}
	}
	t.Logf("%d inverted bytes: %d refused, %d loaded", flips, refused, flips-refused)
}

// useNoPanic re-marshals a record that loaded, encrypts with it and
// decrypts probe with it (errors allowed, panics not).
func useNoPanic(t *testing.T, what string, r Record, probe *wire.SignalMessage) {
	t.Helper()
	defer func() {
		if p := recover(); p != nil {
			t.Fatalf("%s: using the loaded record panicked: %v", what, p)
		}
	}()
	b := mustMarshal(t, r)
	again, err := UnmarshalRecord(b)
	if err != nil || !bytes.Equal(mustMarshal(t, again), b) {
		t.Fatalf("%s: a loaded record does not round-trip: %v", what, err)
	}
	st := r.Current.Ratchet
	if _, _, err := st.Encrypt([]byte("after a flip"), ratchet.Header{}, rand.Reader); err != nil {
		t.Logf("%s: encrypt: %v", what, err)
	}
	if probe != nil {
		if _, _, err := st.Decrypt(probe, rand.Reader); err != nil && !errors.Is(err, ErrInvalidMessage) && !errors.Is(err, spqr.ErrState) {
			t.Fatalf("%s: decrypt: %v", what, err)
		}
	}
}

// TestUnmarshalRecordRefusesInconsistentSPQRState: a stored SPQR state
// whose braid and chain disagree is refused. Each part alone is well
// formed, so only the checks that tie them together catch it
// (spqr/codec.go, checkConsistent). Before them, UnmarshalRecord loaded
// such records, which could never work:
//
//   - chain or braid epoch moved: every later Encrypt failed, with
//     spqr.ErrState ("send epoch went back", "epoch secret 2 after epoch
//     2", "no sending chain for epoch 1") or spqr.ErrInvalidMessage
//     ("epoch 3 is ahead of 2": a local fault reported as a bad message);
//   - chain direction flipped (one bit in a B-to-A record: the direction
//     enum 1 becomes 0): the session worked until the next SPQR epoch,
//     then every message failed its MAC ("bad MAC"), for good.
//
// Every record the ratchet writes keeps the invariants (the property
// test's reloads, in every phase and for every pair of minimum versions,
// check it): the chain's current epoch is the braid's epoch in the phases
// after the ct1 encapsulation (Ct1Sampled, EkReceivedCt1Sampled,
// Ct1Acknowledged, Ct2Sampled) and the braid's epoch minus one in the
// others; the side named by the chain's (or the negotiation's) direction
// sends the encapsulation key in odd epochs if it is A-to-B, in even ones
// if it is B-to-A; the chain and the negotiation, when both are present,
// name the same direction.
func TestUnmarshalRecordRefusesInconsistentSPQRState(t *testing.T) {
	samples := spqrPhaseRecords(t)
	for _, c := range []spqrCorruption{
		{"chain epoch one ahead of the braid", func(st *spqrpb.State) bool {
			if st.Chain == nil {
				return false
			}
			st.Chain.CurrentEpoch++
			return true
		}},
		{"braid epoch two ahead of the chain", func(st *spqrpb.State) bool {
			if st.Chain == nil {
				return false
			}
			st.Braid.Epoch += 2
			return true
		}},
		{"chain direction flipped", func(st *spqrpb.State) bool {
			if st.Chain == nil {
				return false
			}
			st.Chain.Direction ^= 1
			return true
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var loaded []string
			for key, s := range samples {
				pb, st := spqrOf(t, s.rec)
				if !c.apply(st) {
					continue
				}
				b, err := proto.Marshal(st)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := unmarshalNoPanic(t, key, withSPQR(t, pb, b)); err == nil {
					loaded = append(loaded, key)
				}
			}
			if len(loaded) > 0 {
				slices.Sort(loaded)
				t.Errorf("loaded, want ErrCorruptRecord: %d records: %v", len(loaded), loaded)
			}
		})
	}
}
