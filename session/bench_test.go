package session

import (
	"crypto/rand"
	mrand "math/rand/v2"
	"testing"

	"github.com/blindpost/blindpost/spqr"
	"github.com/blindpost/blindpost/x3dh"
)

// The rows of bench/ (docs/performance.md), blindpost only: session
// setup, then messages in an established session through Cipher and a
// MemoryStore. One op is one message (setup: one session), so allocs/op is
// the steady-state allocations per message. Run with
//
//	go test -run '^$' -bench . -benchmem ./session/
//
// bench/cmd/compare runs the same rows next to go.mau.fi/libsignal and the
// primitive floor.

// benchBurst is the number of messages of one out-of-order burst.
const benchBurst = 16

func benchPlaintext(size int) []byte {
	b := make([]byte, size)
	if _, err := mrand.NewChaCha8([32]byte{byte(size), byte(size >> 8)}).Read(b); err != nil {
		panic("session: internal error: " + err.Error()) // ChaCha8.Read never fails
	}
	return b
}

// established returns Alice and Bob after one message each way: Alice no
// longer sends prekey messages, and her next message carries a ratchet key
// Bob has not seen.
func established(b *testing.B) (*party, *party) {
	b.Helper()
	alice, bob := pair(b, true)
	bob.recv(b, alice, alice.send(b, bob, []byte("first")))
	alice.recv(b, bob, bob.send(b, alice, []byte("reply")))
	return alice, bob
}

// pqParties returns Alice and Bob requiring SPQR (spqr.V1), as blindpost's
// own clients do, and Bob's bundle with a one-time EC and Kyber prekey.
func pqParties(b *testing.B) (*party, *party, *x3dh.Bundle) {
	b.Helper()
	alice, bob := newParty(b, "alice", rand.Reader), newParty(b, "bob", rand.Reader)
	alice.cipher.SPQRMinimum, bob.cipher.SPQRMinimum = spqr.V1, spqr.V1
	return alice, bob, bob.kyberBundle(b, true, false)
}

// establishedPQ is established for a version-4 session with SPQR.
func establishedPQ(b *testing.B) (*party, *party) {
	b.Helper()
	alice, bob, bundle := pqParties(b)
	if err := alice.cipher.ProcessBundle(bob.addr, bundle); err != nil {
		b.Fatal(err)
	}
	bob.recv(b, alice, alice.send(b, bob, []byte("first")))
	alice.recv(b, bob, bob.send(b, alice, []byte("reply")))
	return alice, bob
}

func BenchmarkRows(b *testing.B) {
	b.Run("setup", benchSetup)
	for _, sz := range []struct {
		name string
		size int
	}{{"100B", 100}, {"4KiB", 4096}} {
		pt := benchPlaintext(sz.size)
		b.Run("oneway_"+sz.name, func(b *testing.B) { benchOneway(b, established, pt) })
		b.Run("alternating_"+sz.name, func(b *testing.B) { benchAlternating(b, established, pt) })
	}
	b.Run("out_of_order", func(b *testing.B) {
		pt := benchPlaintext(100)
		alice, bob := established(b)
		b.ReportAllocs()
		burst := make([]sent, 0, benchBurst)
		for b.Loop() {
			burst = append(burst, alice.send(b, bob, pt))
			if len(burst) < benchBurst {
				continue
			}
			for i := len(burst) - 1; i >= 0; i-- {
				bob.recv(b, alice, burst[i])
			}
			burst = burst[:0]
		}
	})
	// Post-quantum: PQXDH setup, and version-4 sessions with SPQR. One-way
	// traffic cannot finish an SPQR epoch (each needs chunks from both
	// sides), so oneway_100B_spqr is SPQR's per-message cost;
	// alternating_100B_spqr completes an epoch about every 100 messages and
	// so includes its share of the epoch's ML-KEM-768 work.
	b.Run("setup_pqxdh", benchSetupPQXDH)
	pt := benchPlaintext(100)
	b.Run("oneway_100B_spqr", func(b *testing.B) { benchOneway(b, establishedPQ, pt) })
	b.Run("alternating_100B_spqr", func(b *testing.B) { benchAlternating(b, establishedPQ, pt) })
}

func benchOneway(b *testing.B, start func(*testing.B) (*party, *party), pt []byte) {
	alice, bob := start(b)
	b.ReportAllocs()
	for b.Loop() {
		bob.recv(b, alice, alice.send(b, bob, pt))
	}
}

func benchAlternating(b *testing.B, start func(*testing.B) (*party, *party), pt []byte) {
	alice, bob := start(b)
	b.ReportAllocs()
	from, to := alice, bob
	for b.Loop() {
		to.recv(b, from, from.send(b, to, pt))
		from, to = to, from
	}
}

// benchSetup: Alice processes Bob's bundle (with a one-time prekey) and
// encrypts a first 100-byte message; Bob decrypts it. Fresh identities and
// prekeys for each op are made with the timer stopped.
func benchSetup(b *testing.B) {
	pt := benchPlaintext(100)
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		alice, bob := newParty(b, "alice", rand.Reader), newParty(b, "bob", rand.Reader)
		bundle := bob.bundle(b, true)
		b.StartTimer()
		if err := alice.cipher.ProcessBundle(bob.addr, bundle); err != nil {
			b.Fatal(err)
		}
		bob.recv(b, alice, alice.send(b, bob, pt))
	}
}

// benchSetupPQXDH is benchSetup with PQXDH: Bob's bundle also has a
// one-time Kyber prekey, and both sides require SPQR, so the first message
// also starts SPQR's first epoch.
func benchSetupPQXDH(b *testing.B) {
	pt := benchPlaintext(100)
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		alice, bob, bundle := pqParties(b)
		b.StartTimer()
		if err := alice.cipher.ProcessBundle(bob.addr, bundle); err != nil {
			b.Fatal(err)
		}
		bob.recv(b, alice, alice.send(b, bob, pt))
	}
}

// BenchmarkRecordCodec measures what a persistent store would add to each
// message: marshalling the record after the operation and unmarshalling it
// before the next. The record is Bob's after a mixed conversation: five
// receiver chains and one skipped key; for the _spqr rows, of a version-4
// session with SPQR, whose state then holds the first epoch's key vector
// and ML-KEM state half sent and half received.
func BenchmarkRecordCodec(b *testing.B) {
	for _, v := range []struct {
		suffix string
		start  func(*testing.B) (*party, *party)
	}{{"", established}, {"_spqr", establishedPQ}} {
		rec := mixedRecord(b, v.start)
		raw, err := MarshalRecord(rec)
		if err != nil {
			b.Fatal(err)
		}
		b.Run("marshal"+v.suffix, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := MarshalRecord(rec); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(raw)), "record-bytes")
		})
		b.Run("unmarshal"+v.suffix, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := UnmarshalRecord(raw); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(raw)), "record-bytes")
		})
	}
}

// mixedRecord is Bob's record after twelve alternating messages, a lost
// one and one more.
func mixedRecord(b *testing.B, start func(*testing.B) (*party, *party)) Record {
	alice, bob := start(b)
	pt := benchPlaintext(100)
	for i := range 12 {
		from, to := alice, bob
		if i%2 == 1 {
			from, to = bob, alice
		}
		to.recv(b, from, from.send(b, to, pt))
	}
	alice.send(b, bob, pt) // never delivered: Bob keeps its key as skipped
	bob.recv(b, alice, alice.send(b, bob, pt))
	rec, ok, err := bob.store.Record(alice.addr)
	if err != nil || !ok {
		b.Fatalf("no record: %v", err)
	}
	return rec
}
