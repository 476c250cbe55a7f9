package session

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/blindpost/blindpost/wire"
	mrand "math/rand/v2"
	"testing"
)

// inFlight is a message on the simulated network.
type inFlight struct {
	from, to  *party
	typ       int
	ct        []byte
	pt        []byte
	delivered bool
}

// TestPropertyShuffleDropDuplicate sends thousands of messages both ways
// over a network that reorders, drops and duplicates them, and checks that
// every message delivered for the first time decrypts exactly once and
// byte for byte, and every re-delivery is reported as a duplicate.
func TestPropertyShuffleDropDuplicate(t *testing.T) {
	for seed := range uint64(4) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			t.Parallel()
			runNetwork(t, seed, 1500)
		})
	}
}

// reorderWindow is how many of the oldest messages in flight compete for
// the next delivery.
const reorderWindow = 12

func runNetwork(t *testing.T, seed uint64, sends int) {
	r := mrand.New(mrand.NewPCG(seed, 99))
	alice, bob := pair(t, seed%2 == 0)
	var pending, done []*inFlight
	sent, delivered, dropped, dups := 0, 0, 0, 0
	// Bob may only answer once Alice's first message reached him.
	bobHasSession := false
	for sent < sends || len(pending) > 0 {
		switch op := r.IntN(10); {
		case sent < sends && op < 4 && len(pending) < 40:
			from, to := alice, bob
			if bobHasSession && r.IntN(2) == 0 {
				from, to = bob, alice
			}
			pt := make([]byte, r.IntN(300))
			for i := range pt {
				pt[i] = byte(r.Uint32())
			}
			m := from.send(t, to, pt)
			pending = append(pending, &inFlight{from: from, to: to, typ: m.typ, ct: m.ct, pt: pt})
			sent++
		case op < 8 && len(pending) > 0:
			// Reorder within a window of the oldest messages in flight: a
			// message overtaken by more than MaxReceiverChains ratchet steps
			// is lost by design.
			i := r.IntN(min(len(pending), reorderWindow))
			m := pending[i]
			pending = append(pending[:i], pending[i+1:]...)
			got, err := m.to.cipher.Decrypt(m.from.addr, m.typ, m.ct)
			if err != nil {
				t.Fatalf("first delivery of a %d-byte message from %s: %v", len(m.pt), m.from.addr.Name, err)
			}
			if !bytes.Equal(got, m.pt) {
				t.Fatal("decrypted text differs")
			}
			if m.to == bob {
				bobHasSession = true
			}
			m.delivered = true
			done = append(done, m)
			delivered++
		case op == 8 && len(pending) > 0 && r.IntN(4) == 0:
			i := r.IntN(len(pending))
			pending = append(pending[:i], pending[i+1:]...)
			dropped++
		case op == 9 && len(done) > 0:
			m := done[r.IntN(len(done))]
			held := chainHeld(t, m)
			_, err := m.to.cipher.Decrypt(m.from.addr, m.typ, m.ct)
			switch {
			case err == nil:
				t.Fatal("a re-delivered message decrypted twice")
			case held && !errors.Is(err, ErrDuplicate):
				t.Fatalf("re-delivery on a held chain: %v, want ErrDuplicate", err)
			}
			dups++
		}
	}
	if delivered+dropped != sends {
		t.Fatalf("sent %d, delivered %d, dropped %d", sends, delivered, dropped)
	}
	if dups == 0 {
		t.Fatal("no re-deliveries were tried")
	}
	t.Logf("seed %d: %d sent, %d delivered, %d dropped, %d duplicates refused", seed, sends, delivered, dropped, dups)
}

// chainHeld reports whether the receiver still holds the receiving chain of
// m's ratchet key in its current state. A replay on a chain evicted by the
// MaxReceiverChains limit can no longer be told from a forgery.
func chainHeld(t testing.TB, m *inFlight) bool {
	t.Helper()
	sm, err := wire.ParseSignalMessage(m.ct)
	if m.typ == wire.TypePreKey {
		var pm *wire.PreKeySignalMessage
		pm, err = wire.ParsePreKeySignalMessage(m.ct)
		if err == nil {
			sm = pm.Message
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	rec, _, _ := m.to.store.Record(m.from.addr)
	for _, rc := range rec.Current.Ratchet.Receivers {
		if rc.RatchetKey == sm.RatchetKey {
			return true
		}
	}
	return false
}
