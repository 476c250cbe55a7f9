package spqr

import (
	"bytes"
	"crypto/rand"
	mrand "math/rand/v2"
	"testing"
)

// TestCallsLeaveStateUnchanged: in a conversation with reordering, drops
// and replays (so that chains keep, use and drop skipped keys, and epochs
// complete), no Send or Recv, accepted or refused, changes the state it
// was called on: its encoding is the same after the call, and a second
// Recv of the same message from it gives the same result.
func TestCallsLeaveStateUnchanged(t *testing.T) {
	mustMarshal := func(s State) []byte {
		t.Helper()
		b, err := s.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for seed := range uint64(3) {
		rng := mrand.New(mrand.NewPCG(seed, 7))
		a, b := pair(t, V1, V1)
		var toA, toB, oldToA, oldToB []sent
		sendOn := func(s *State, q *[]sent) {
			before := mustMarshal(*s)
			n, data, key, err := s.Send(rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(before, mustMarshal(*s)) {
				t.Fatalf("seed %d: Send changed its state", seed)
			}
			*s = n
			*q = append(*q, sent{data, key})
		}
		deliver := func(q, old *[]sent, s *State) {
			var m sent
			switch {
			case len(*old) > 0 && rng.IntN(8) == 0: // a replay, or a late one
				m = (*old)[rng.IntN(len(*old))]
			case len(*q) == 0:
				return
			default:
				i := rng.IntN(min(len(*q), 6))
				m = (*q)[i]
				*q = append((*q)[:i], (*q)[i+1:]...)
				*old = append(*old, m)
				if rng.IntN(10) == 0 {
					return // dropped
				}
			}
			before := mustMarshal(*s)
			n1, k1, err1 := s.Recv(m.data)
			if !bytes.Equal(before, mustMarshal(*s)) {
				t.Fatalf("seed %d: Recv (error %v) changed its state", seed, err1)
			}
			n2, k2, err2 := s.Recv(m.data)
			if (err1 == nil) != (err2 == nil) || !sameKey(k1, k2) {
				t.Fatalf("seed %d: second Recv differs: %v, %v", seed, err1, err2)
			}
			if err1 == nil && !bytes.Equal(mustMarshal(n1), mustMarshal(n2)) {
				t.Fatalf("seed %d: second Recv gives another state", seed)
			}
			if err1 == nil {
				*s = n1
			}
		}
		for range 6000 {
			switch rng.IntN(4) {
			case 0:
				sendOn(&a, &toB)
			case 1:
				sendOn(&b, &toA)
			case 2:
				deliver(&toB, &oldToB, &b)
			case 3:
				deliver(&toA, &oldToA, &a)
			}
		}
		t.Logf("seed %d: epochs a=%d b=%d", seed, a.Epoch(), b.Epoch())
		if a.Epoch() < 3 {
			t.Fatalf("seed %d: only epoch %d", seed, a.Epoch())
		}
	}
}
