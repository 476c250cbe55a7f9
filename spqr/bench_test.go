package spqr

import (
	mrand "math/rand/v2"
	"testing"
)

// One op is one message: a Send on one side and the Recv of its data on
// the other, so allocs/op is SPQR's steady-state allocations per message.
// Randomness (ML-KEM key generation and encapsulation) comes from a
// seeded ChaCha8.

// BenchmarkStepOneway: A sends, B receives. One-way traffic never
// finishes an epoch, so this is the per-message cost: a parity chunk of
// the header and a chain step on each side.
func BenchmarkStepOneway(b *testing.B) {
	a, c := pair(b, V1, V1)
	r := mrand.NewChaCha8([32]byte{1})
	b.ReportAllocs()
	for b.Loop() {
		benchStep(b, &a, &c, r)
	}
}

// BenchmarkStepAlternating: the sides take turns, so epochs complete
// (about one every 100 messages) and the cost includes their share of the
// ML-KEM-768 work and of decoding.
func BenchmarkStepAlternating(b *testing.B) {
	a, c := pair(b, V1, V1)
	r := mrand.NewChaCha8([32]byte{1})
	from, to := &a, &c
	b.ReportAllocs()
	for b.Loop() {
		benchStep(b, from, to, r)
		from, to = to, from
	}
}

func benchStep(b *testing.B, from, to *State, r *mrand.ChaCha8) {
	n, data, key, err := from.Send(r)
	if err != nil {
		b.Fatal(err)
	}
	m, rkey, err := to.Recv(data)
	if err != nil {
		b.Fatal(err)
	}
	if !sameKey(key, rkey) {
		b.Fatal("keys differ")
	}
	*from, *to = n, m
}
