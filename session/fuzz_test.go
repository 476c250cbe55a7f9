package session

import (
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/blindpost/blindpost/proto/spqrpb"
	"github.com/blindpost/blindpost/ratchet"
	"github.com/blindpost/blindpost/wire"
)

// FuzzUnmarshalRecord: never panics; every error wraps ErrCorruptRecord
// and comes with an empty record; whatever unmarshals marshals and
// unmarshals again to an equal record, with identical bytes from then on,
// and within every limit.
//
// The seed corpus in testdata/fuzz/FuzzUnmarshalRecord/ holds records of
// real conversations (written by TestWriteFuzzCorpus); the corruptions of
// TestUnmarshalRecordRefusesCorruption, and version-4 records with SPQR
// mid-epoch (addSPQRSeeds), are added below. To fuzz:
//
//	go test -run='^$' -fuzz=FuzzUnmarshalRecord -fuzztime=60s ./session/
func FuzzUnmarshalRecord(f *testing.F) {
	_, corrupted := corruptedRecords(f)
	for _, b := range corrupted {
		if len(b) < 16<<10 {
			f.Add(b)
		}
	}
	f.Add([]byte{})
	f.Add(mustMarshal(f, Record{}))
	addSPQRSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := UnmarshalRecord(data)
		if err != nil {
			if !errors.Is(err, ErrCorruptRecord) {
				t.Fatalf("error does not wrap ErrCorruptRecord: %v", err)
			}
			if r.Current != nil || r.Previous != nil {
				t.Fatal("a refused record came with states")
			}
			return
		}
		checkLimits(t, r)
		b1, err := MarshalRecord(r)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		r2, err := UnmarshalRecord(b1)
		if err != nil {
			t.Fatalf("a marshalled record does not unmarshal: %v", err)
		}
		if !recordsEqual(r, r2) {
			t.Fatalf("records differ after a round trip: %v, %v", r, r2)
		}
		b2, err := MarshalRecord(r2)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		if string(b1) != string(b2) {
			t.Fatal("marshalling is not stable")
		}
	})
}

// addSPQRSeeds adds version-4 records holding SPQR state in each braid
// phase, on both sides, and some of them with corrupted SPQR state. They
// are made from seeded conversations on every run (about 0.1 s) rather
// than committed: each is 1-5 KB, mostly ML-KEM keys and erasure-coder
// state.
func addSPQRSeeds(f *testing.F) {
	samples := spqrPhaseRecords(f)
	keys := slices.Sorted(maps.Keys(samples))
	for _, k := range keys {
		f.Add(mustMarshal(f, samples[k].rec))
	}
	pb, st := spqrOf(f, samples[keys[0]].rec)
	for _, c := range spqrCorruptions() {
		bad := proto.Clone(st).(*spqrpb.State)
		if !c.apply(bad) {
			continue
		}
		b, err := proto.Marshal(bad)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(withSPQR(f, pb, b))
	}
}

// checkLimits checks the invariants UnmarshalRecord promises and the
// ratchet relies on.
func checkLimits(t *testing.T, r Record) {
	t.Helper()
	if len(r.Previous) > MaxArchivedStates {
		t.Fatalf("%d archived states", len(r.Previous))
	}
	for _, s := range append(derefState(r.Current), r.Previous...) {
		if v := s.Ratchet.Version; v != 3 && v != 4 {
			t.Fatalf("session version %d", v)
		}
		if len(s.Ratchet.Receivers) > ratchet.MaxReceiverChains {
			t.Fatalf("%d receiver chains", len(s.Ratchet.Receivers))
		}
		for _, rc := range s.Ratchet.Receivers {
			if len(rc.Skipped) > ratchet.MaxSkippedKeys {
				t.Fatalf("%d skipped keys", len(rc.Skipped))
			}
			seen := map[uint32]bool{}
			for _, k := range rc.Skipped {
				if k.Index >= rc.Chain.Index {
					t.Fatalf("skipped key %d at or ahead of its chain (%d)", k.Index, rc.Chain.Index)
				}
				if seen[k.Index] {
					// Two keys for one message would let it decrypt twice.
					t.Fatalf("skipped key index %d repeated", k.Index)
				}
				seen[k.Index] = true
			}
		}
	}
}

var updateCorpus = flag.Bool("update-corpus", false,
	"rewrite the seed corpora made from real sessions: session's FuzzUnmarshalRecord and wire's parser fuzzers")

// TestWriteFuzzCorpus writes the seed corpora made from real sessions, in
// the `go test fuzz v1` format: records for FuzzUnmarshalRecord here, and
// messages for wire's FuzzParseSignalMessage and
// FuzzParsePreKeySignalMessage in ../wire/testdata/fuzz/. The
// conversations are seeded, so the files are the same on every run. Run it
// after a change to the record schema or the wire format:
//
//	go test ./session/ -run TestWriteFuzzCorpus -update-corpus
func TestWriteFuzzCorpus(t *testing.T) {
	if !*updateCorpus {
		t.Skip("rewrites committed files; run with -update-corpus")
	}
	records := map[string][]byte{"session-empty": mustMarshal(t, Record{})}
	var signals, prekeys [][]byte

	// A fresh initiator: one pending state, no reply yet; and the
	// responder after the first message.
	alice, bob := seededParty(t, "alice", 20), seededParty(t, "bob", 21)
	if err := alice.cipher.ProcessBundle(bob.addr, bob.bundle(t, false)); err != nil {
		t.Fatal(err)
	}
	rec, _, _ := alice.store.Record(bob.addr)
	records["session-initiator-pending"] = mustMarshal(t, rec)
	m := alice.send(t, bob, []byte("no one-time prekey"))
	prekeys = append(prekeys, m.ct)
	bob.recv(t, alice, m)
	rec, _, _ = bob.store.Record(alice.addr)
	records["session-responder-first-message"] = mustMarshal(t, rec)

	// The rich conversation: both records at the end, and its messages.
	c := newRichConversation(t, 1)
	aliceRec, bobRec := c.records(t)
	records["session-rich-alice"] = mustMarshal(t, aliceRec)
	records["session-rich-bob"] = mustMarshal(t, bobRec)
	for _, m := range c.log {
		if m.typ == wire.TypePreKey {
			prekeys = append(prekeys, m.ct)
			pm, err := wire.ParsePreKeySignalMessage(m.ct)
			if err != nil {
				t.Fatal(err)
			}
			signals = append(signals, pm.Message.Bytes())
		} else {
			signals = append(signals, m.ct)
		}
	}

	// After simultaneous initiation both sides hold two sessions.
	alice, bob = seededParty(t, "alice", 30), seededParty(t, "bob", 31)
	if err := alice.cipher.ProcessBundle(bob.addr, bob.bundle(t, true)); err != nil {
		t.Fatal(err)
	}
	if err := bob.cipher.ProcessBundle(alice.addr, alice.bundle(t, true)); err != nil {
		t.Fatal(err)
	}
	a1, b1 := alice.send(t, bob, []byte("a1")), bob.send(t, alice, []byte("b1"))
	bob.recv(t, alice, a1)
	alice.recv(t, bob, b1)
	for i := range 3 {
		m := alice.send(t, bob, []byte(fmt.Sprint("a", i)))
		signals = append(signals, m.ct)
		bob.recv(t, alice, m)
		bob.recv(t, alice, alice.send(t, bob, []byte("x")))
	}
	rec, _, _ = alice.store.Record(bob.addr)
	records["session-simultaneous-alice"] = mustMarshal(t, rec)

	// The same for a version-4 (PQXDH) session with a one-time prekey:
	// the pending state holds the Kyber ciphertext, the messages carry it.
	alice, bob = seededParty(t, "alice", 40), seededParty(t, "bob", 41)
	if err := alice.cipher.ProcessBundle(bob.addr, bob.kyberBundle(t, true, false)); err != nil {
		t.Fatal(err)
	}
	rec, _, _ = alice.store.Record(bob.addr)
	records["session-v4-initiator-pending"] = mustMarshal(t, rec)
	m = alice.send(t, bob, []byte("post-quantum hello"))
	prekeys = append(prekeys, m.ct)
	bob.recv(t, alice, m)
	rec, _, _ = bob.store.Record(alice.addr)
	records["session-v4-responder-first-message"] = mustMarshal(t, rec)
	m = bob.send(t, alice, []byte("post-quantum answer"))
	signals = append(signals, m.ct)

	write := func(dir, name string, data []byte) {
		t.Helper()
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", data)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	clean := func(dir string) {
		t.Helper()
		old, _ := filepath.Glob(filepath.Join(dir, "session-*"))
		for _, p := range old {
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
		}
	}
	recordDir := filepath.Join("testdata", "fuzz", "FuzzUnmarshalRecord")
	signalDir := filepath.Join("..", "wire", "testdata", "fuzz", "FuzzParseSignalMessage")
	prekeyDir := filepath.Join("..", "wire", "testdata", "fuzz", "FuzzParsePreKeySignalMessage")
	for _, d := range []string{recordDir, signalDir, prekeyDir} {
		clean(d)
	}
	for name, b := range records {
		write(recordDir, name, b)
	}
	for i, b := range signals {
		write(signalDir, fmt.Sprintf("session-%02d", i), b)
	}
	for i, b := range prekeys {
		write(prekeyDir, fmt.Sprintf("session-%02d", i), b)
	}
	t.Logf("wrote %d records, %d signal messages, %d prekey messages", len(records), len(signals), len(prekeys))
}

// TestFuzzCorpusCommitted: the record corpus from real sessions is present.
func TestFuzzCorpusCommitted(t *testing.T) {
	entries, err := os.ReadDir(filepath.Join("testdata", "fuzz", "FuzzUnmarshalRecord"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "session-") {
			n++
		}
	}
	if n < 5 {
		t.Fatalf("%d records from real sessions, want at least 5", n)
	}
}
