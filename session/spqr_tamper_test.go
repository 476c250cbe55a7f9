package session

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/blindpost/blindpost/spqr"
	"github.com/blindpost/blindpost/wire"
)

// pqFieldNumber is the pq_ratchet field of a SignalMessage.
const pqFieldNumber = 5

// pqFieldRange returns where the pq_ratchet field (tag, length and value)
// lies in m.ct: for a PreKeySignalMessage, inside its embedded
// SignalMessage, whose bytes the outer message holds unchanged.
func pqFieldRange(t testing.TB, m sent) (start, end int) {
	t.Helper()
	sm := signalMessage(t, m.typ, m.ct)
	inner := sm.Bytes()
	base := bytes.Index(m.ct, inner)
	if base < 0 {
		t.Fatal("the embedded message is not in the prekey message")
	}
	b, off := inner[1:len(inner)-wire.MACSize], 1
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			t.Fatal(protowire.ParseError(n))
		}
		v := protowire.ConsumeFieldValue(num, typ, b[n:])
		if v < 0 {
			t.Fatal(protowire.ParseError(v))
		}
		if num == pqFieldNumber {
			return base + off, base + off + n + v
		}
		off, b = off+n+v, b[n+v:]
	}
	t.Fatal("message without a pq_ratchet field")
	return 0, 0
}

// spqrPayload names the kind of SPQR message in a pq_ratchet field:
// version (1 byte), epoch and index (varints), then the type byte.
func spqrPayload(t testing.TB, data []byte) string {
	t.Helper()
	r := data[1:]
	for range 2 {
		_, n := binary.Uvarint(r)
		if n <= 0 {
			t.Fatalf("bad SPQR data %x", data)
		}
		r = r[n:]
	}
	names := []string{"none", "hdr", "ek", "ek+ct1-ack", "ct1-ack", "ct1", "ct2"}
	if len(r) == 0 || int(r[0]) >= len(names) {
		t.Fatalf("bad SPQR data %x", data)
	}
	return names[r[0]]
}

// TestSPQRFieldBitFlipsRefused flips, one at a time, every bit of the
// pq_ratchet field (tag, length and SPQR data) of messages carrying every
// kind of SPQR payload in both directions, the first prekey message
// included. Each is refused as an invalid message (the MAC covers the
// field), leaves the receiver's records and prekeys as they were, and the
// untampered message decrypts afterwards.
func TestSPQRFieldBitFlipsRefused(t *testing.T) {
	alice, bob := seededParty(t, "alice", 51), seededParty(t, "bob", 52)
	alice.cipher.SPQRMinimum, bob.cipher.SPQRMinimum = spqr.V1, spqr.V1
	b := bob.kyberBundle(t, true, false)
	if err := alice.cipher.ProcessBundle(bob.addr, b); err != nil {
		t.Fatal(err)
	}
	preKeys, kyberKeys := []uint32{b.PreKey.ID}, []uint32{b.KyberPreKey.ID}
	r := mrand.New(mrand.NewPCG(51, 52))
	tampered := map[string]bool{}
	from, to := alice, bob
	for i := 0; len(tampered) < 14; i++ {
		if i == 3000 {
			t.Fatalf("after %d messages, payloads tampered with: %v", i, tampered)
		}
		m := from.send(t, to, []byte(fmt.Sprint("message ", i)))
		kind := from.addr.Name + " " + spqrPayload(t, signalMessage(t, m.typ, m.ct).PQRatchet)
		if !tampered[kind] || i == 0 {
			flipPQField(t, from, to, m, preKeys, kyberKeys)
			tampered[kind] = true
		}
		to.recv(t, from, m)
		// Bursts: change direction one time in three.
		if r.IntN(3) == 0 {
			from, to = to, from
		}
	}
	t.Logf("every bit of the pq_ratchet field refused for: %v", tampered)
}

// flipPQField delivers m to to with each bit of its pq_ratchet field
// flipped in turn.
func flipPQField(t *testing.T, from, to *party, m sent, preKeys, kyberKeys []uint32) {
	t.Helper()
	start, end := pqFieldRange(t, m)
	before := viewStore(t, to, preKeys, kyberKeys)
	for bit := start * 8; bit < end*8; bit++ {
		bad := bytes.Clone(m.ct)
		bad[bit/8] ^= 1 << (bit % 8)
		_, err := to.cipher.Decrypt(from.addr, m.typ, bad)
		if !errors.Is(err, ErrInvalidMessage) || errors.Is(err, ErrDuplicate) {
			t.Fatalf("type %d message, bit %d of its %d-byte pq_ratchet field flipped: %v, want ErrInvalidMessage",
				m.typ, bit-start*8, end-start, err)
		}
		if !before.equal(viewStore(t, to, preKeys, kyberKeys)) {
			t.Fatalf("bit %d of the pq_ratchet field flipped: the refused message changed the store", bit-start*8)
		}
	}
}

// setSPQROff replaces p's current session with remote by the same session
// with SPQR off: a version-4 session of a peer that does not speak SPQR
// (libsignal before 0.72, or one that negotiated it away).
func setSPQROff(t testing.TB, p, remote *party) {
	t.Helper()
	rec, _, err := p.store.Record(remote.addr)
	if err != nil || rec.Current == nil {
		t.Fatalf("no session to change: %v", err)
	}
	st := *rec.Current
	st.Ratchet.PQ = spqr.State{}
	replaceRecord(t, p, remote, rec.withCurrent(st))
}

// mustHaveNoSPQR: m is a version-4 message without a pq_ratchet field.
func mustHaveNoSPQR(t testing.TB, m sent) {
	t.Helper()
	sm := signalMessage(t, m.typ, m.ct)
	if sm.Version != 0x44 || sm.PQRatchet != nil {
		t.Fatalf("version byte %#02x with %d bytes of SPQR data, want 0x44 and none", sm.Version, len(sm.PQRatchet))
	}
}

// TestSPQRPeerWithoutSPQR: a version-4 peer whose messages carry no SPQR
// data is refused by a side that requires SPQR (spqr.V1), with an error
// wrapping spqr.ErrDowngrade and ErrInvalidMessage that changes nothing
// stored; a side that offers SPQR (spqr.V0) falls back to none and the
// conversation goes on, in version 4 and without SPQR data. Each role is
// tested: the responder meets an initiator without SPQR in the first
// prekey message, the initiator a responder without SPQR in the reply.
func TestSPQRPeerWithoutSPQR(t *testing.T) {
	for i, tc := range []struct {
		name           string
		initiatorHasPQ bool // else the responder has none
		min            spqr.Version
	}{
		{"responder requires, initiator has none", false, spqr.V1},
		{"responder offers, initiator has none", false, spqr.V0},
		{"initiator requires, responder has none", true, spqr.V1},
		{"initiator offers, responder has none", true, spqr.V0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			alice, bob := seededParty(t, "alice", byte(60+2*i)), seededParty(t, "bob", byte(61+2*i))
			b := bob.kyberBundle(t, true, false)
			preKeys, kyberKeys := []uint32{b.PreKey.ID}, []uint32{b.KyberPreKey.ID}
			// The side under test asks tc.min; the other speaks SPQR, or not.
			judge, peer := bob, alice
			if tc.initiatorHasPQ {
				judge, peer = alice, bob
			}
			judge.cipher.SPQRMinimum = tc.min
			if err := alice.cipher.ProcessBundle(bob.addr, b); err != nil {
				t.Fatal(err)
			}
			if !tc.initiatorHasPQ {
				setSPQROff(t, alice, bob)
			}
			m := alice.send(t, bob, []byte("hello"))
			if tc.initiatorHasPQ {
				bob.recv(t, alice, m)
				setSPQROff(t, bob, alice)
				m = bob.send(t, alice, []byte("hello back"))
			}
			mustHaveNoSPQR(t, m)

			before := viewStore(t, judge, preKeys, kyberKeys)
			pt, err := judge.cipher.Decrypt(peer.addr, m.typ, m.ct)
			if tc.min == spqr.V1 {
				if !errors.Is(err, spqr.ErrDowngrade) || !errors.Is(err, ErrInvalidMessage) || !strings.Contains(err.Error(), "SPQR") {
					t.Fatalf("a peer without SPQR: %v, want an error wrapping spqr.ErrDowngrade and ErrInvalidMessage", err)
				}
				if !before.equal(viewStore(t, judge, preKeys, kyberKeys)) {
					t.Fatal("the refused message changed the store")
				}
				t.Logf("refused: %v", err)
				return
			}
			if err != nil || !bytes.Equal(pt, m.pt) {
				t.Fatalf("an offering side refused a peer without SPQR: %v", err)
			}
			if st := judge.current(t, peer); st.Ratchet.Version != 4 || st.Ratchet.PQ.Enabled() {
				t.Fatalf("after falling back: version %d, SPQR on %t", st.Ratchet.Version, st.Ratchet.PQ.Enabled())
			}
			for i := range 12 {
				from, to := alice, bob
				if i%3 != 0 {
					from, to = bob, alice
				}
				m := from.send(t, to, []byte(fmt.Sprint("without SPQR ", i)))
				mustHaveNoSPQR(t, m)
				to.recv(t, from, m)
			}
		})
	}
}

// TestSPQRCannotBeDroppedMidSession: once the first message from the peer
// settled SPQR, a message without SPQR data is refused, by an offering
// side too (it would otherwise be a downgrade after the fact), even from a
// peer that holds the keys to MAC it; the refusal changes nothing, and the
// session goes on.
func TestSPQRCannotBeDroppedMidSession(t *testing.T) {
	for i, min := range []spqr.Version{spqr.V0, spqr.V1} {
		t.Run(fmt.Sprint("bob-V", min), func(t *testing.T) {
			alice, bob := pqPair(t, byte(70+2*i), min, min)
			for i := range 6 {
				bob.recv(t, alice, alice.send(t, bob, []byte(fmt.Sprint("a", i))))
				alice.recv(t, bob, bob.send(t, alice, []byte(fmt.Sprint("b", i))))
			}
			saved, _, _ := alice.store.Record(bob.addr)
			setSPQROff(t, alice, bob)
			m := alice.send(t, bob, []byte("SPQR dropped"))
			mustHaveNoSPQR(t, m)
			before := viewStore(t, bob, nil, nil)
			_, err := bob.cipher.Decrypt(alice.addr, m.typ, m.ct)
			if !errors.Is(err, ErrInvalidMessage) || errors.Is(err, spqr.ErrDowngrade) {
				t.Fatalf("SPQR dropped after negotiation: %v, want ErrInvalidMessage and no downgrade", err)
			}
			if !before.equal(viewStore(t, bob, nil, nil)) {
				t.Fatal("the refused message changed bob's store")
			}
			replaceRecord(t, alice, bob, saved)
			bob.recv(t, alice, alice.send(t, bob, []byte("with SPQR again")))
			alice.recv(t, bob, bob.send(t, alice, []byte("still on")))
			if !bob.current(t, alice).Ratchet.PQ.Enabled() {
				t.Fatal("bob's SPQR went off")
			}
		})
	}
}
