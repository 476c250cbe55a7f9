package spqr

import (
	"bytes"
	"crypto/rand"
	"errors"
	mrand "math/rand/v2"
	"testing"
)

func pair(t testing.TB, minA, minB Version) (State, State) {
	t.Helper()
	key := [32]byte{41, 41, 41}
	a, err := New(Params{Direction: AToB, AuthKey: key, MinVersion: minA})
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(Params{Direction: BToA, AuthKey: key, MinVersion: minB})
	if err != nil {
		t.Fatal(err)
	}
	return a, b
}

// sent is one message in flight: its SPQR bytes and the sender's key.
type sent struct {
	data []byte
	key  *[32]byte
}

func send(t testing.TB, s *State) sent {
	t.Helper()
	n, data, key, err := s.Send(rand.Reader)
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	*s = n
	return sent{data, key}
}

func recv(t testing.TB, s *State, m sent) {
	t.Helper()
	n, key, err := s.Recv(m.data)
	if err != nil {
		t.Fatalf("recv: %v", err)
	}
	if !sameKey(key, m.key) {
		t.Fatalf("keys differ: sent %x, received %x", deref(m.key), deref(key))
	}
	*s = n
}

func sameKey(a, b *[32]byte) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

func deref(k *[32]byte) []byte {
	if k == nil {
		return nil
	}
	return k[:]
}

// TestAlternating: strictly alternating messages cross many epochs, and
// every key is agreed.
func TestAlternating(t *testing.T) {
	a, b := pair(t, V1, V1)
	for range 1000 {
		recv(t, &b, send(t, &a))
		recv(t, &a, send(t, &b))
	}
	if a.Epoch() < 20 || b.Epoch() < 20 {
		t.Fatalf("epochs after 1000 round trips: a %d, b %d", a.Epoch(), b.Epoch())
	}
	t.Logf("1000 round trips: epochs a=%d b=%d", a.Epoch(), b.Epoch())
}

// TestFirstMessageKeys: with a required minimum, keys are used from the
// first message; when offering (minimum V0) none are used until the peer
// answered.
func TestFirstMessageKeys(t *testing.T) {
	a, b := pair(t, V1, V1)
	m := send(t, &a)
	if m.key == nil {
		t.Fatal("required SPQR: first message has no key")
	}
	recv(t, &b, m)

	a, b = pair(t, V0, V0)
	m = send(t, &a)
	if m.key != nil {
		t.Fatal("offered SPQR: first message has a key")
	}
	recv(t, &b, m)
	r := send(t, &b)
	if r.key == nil {
		t.Fatal("offered SPQR: reply after negotiation has no key")
	}
	recv(t, &a, r)
	if a.Negotiating() || b.Negotiating() {
		t.Fatal("still negotiating after a round trip")
	}
}

// TestMixedMinimum: a side offering SPQR talks to one requiring it, in
// both roles.
func TestMixedMinimum(t *testing.T) {
	for _, mins := range [][2]Version{{V0, V1}, {V1, V0}} {
		a, b := pair(t, mins[0], mins[1])
		for range 300 {
			recv(t, &b, send(t, &a))
			recv(t, &a, send(t, &b))
		}
		if a.Epoch() < 5 {
			t.Fatalf("mins %v: epoch %d", mins, a.Epoch())
		}
	}
}

// TestDowngrade: a peer without SPQR sends no data. Offering sides turn
// SPQR off; requiring sides refuse, and keep their state.
func TestDowngrade(t *testing.T) {
	for _, dir := range []Direction{AToB, BToA} {
		s, err := New(Params{Direction: dir, MinVersion: V0})
		if err != nil {
			t.Fatal(err)
		}
		if dir == AToB {
			send(t, &s)
		}
		n, key, err := s.Recv(nil)
		if err != nil || key != nil || n.Enabled() {
			t.Fatalf("offer, %v: Recv(nil) = enabled %v, key %v, err %v", dir, n.Enabled(), key, err)
		}
		// Off stays off, and sends nothing.
		n2, data, key, err := n.Send(rand.Reader)
		if err != nil || data != nil || key != nil || n2.Enabled() {
			t.Fatal("off state sent something")
		}

		s, _ = New(Params{Direction: dir, MinVersion: V1})
		if _, _, err := s.Recv(nil); !errors.Is(err, ErrDowngrade) {
			t.Fatalf("require, %v: Recv(nil) err = %v, want ErrDowngrade", dir, err)
		}
	}
	// After negotiation, missing data is an error, not a downgrade.
	a, b := pair(t, V0, V0)
	recv(t, &b, send(t, &a))
	if _, _, err := b.Recv(nil); !errors.Is(err, ErrInvalidMessage) {
		t.Fatalf("empty after negotiation: %v", err)
	}
}

// TestUnknownVersion: data of a later SPQR version is ignored, as
// libsignal's SPQR does; the message MAC then decides.
func TestUnknownVersion(t *testing.T) {
	_, b := pair(t, V1, V1)
	n, key, err := b.Recv([]byte{0x02, 1, 1, 0})
	if err != nil || key != nil || n.Epoch() != b.Epoch() {
		t.Fatalf("unknown version: key %v err %v", key, err)
	}
}

// TestDropsAndReordering: messages are delivered late, out of order, or
// never; every delivered message yields the sender's key, and epochs keep
// advancing.
func TestDropsAndReordering(t *testing.T) {
	for seed := range uint64(4) {
		rng := mrand.New(mrand.NewPCG(seed, 99))
		a, b := pair(t, V1, V1)
		var toA, toB []sent
		deliver := func(q *[]sent, s *State) {
			if len(*q) == 0 {
				return
			}
			// Take a random one of the oldest few.
			i := rng.IntN(min(len(*q), 4))
			m := (*q)[i]
			*q = append((*q)[:i], (*q)[i+1:]...)
			if rng.IntN(10) == 0 {
				return // dropped
			}
			recv(t, s, m)
		}
		for range 6000 {
			switch rng.IntN(4) {
			case 0:
				toB = append(toB, send(t, &a))
			case 1:
				toA = append(toA, send(t, &b))
			case 2:
				deliver(&toB, &b)
			case 3:
				deliver(&toA, &a)
			}
		}
		if a.Epoch() < 10 {
			t.Fatalf("seed %d: only epoch %d after 6000 steps", seed, a.Epoch())
		}
		t.Logf("seed %d: epochs a=%d b=%d", seed, a.Epoch(), b.Epoch())
	}
}

// TestReplay: a message's key is given once.
func TestReplay(t *testing.T) {
	a, b := pair(t, V1, V1)
	m := send(t, &a)
	recv(t, &b, m)
	if _, _, err := b.Recv(m.data); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("replay: %v", err)
	}
}

// TestOutOfOrderLimits: keys are kept for MaxOOOKeys messages and a jump
// beyond MaxJump is refused.
func TestOutOfOrderLimits(t *testing.T) {
	a, b := pair(t, V1, V1)
	first := send(t, &a)
	var last sent
	for range DefaultMaxOOOKeys + 300 {
		last = send(t, &a)
	}
	recv(t, &b, last)
	if _, _, err := b.Recv(first.data); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("message older than the kept window: %v", err)
	}

	a, b = pair(t, V1, V1)
	var msgs []sent
	for range 50 {
		msgs = append(msgs, send(t, &a))
	}
	for _, i := range mrand.Perm(50) {
		recv(t, &b, msgs[i])
	}
}

// TestTamper: a changed chunk is caught by the header or ciphertext MAC
// (or the key-vector check) once the data it belongs to is complete, and
// the state that refuses the message is unchanged.
func TestTamper(t *testing.T) {
	for _, target := range []payloadType{payloadHeader, payloadEK, payloadCt1, payloadCt2} {
		a, b := pair(t, V1, V1)
		tampered, caught := false, false
		for i := 0; i < 400 && !caught; i++ {
			for _, dir := range []struct{ from, to *State }{{&a, &b}, {&b, &a}} {
				m := send(t, dir.from)
				pm, err := parseMessage(m.data)
				if err != nil {
					t.Fatal(err)
				}
				data := m.data
				if pm.typ == target || target == payloadEK && pm.typ == payloadEKCt1Ack {
					data = bytes.Clone(m.data)
					data[len(data)-1] ^= 0x01
					tampered = true
				}
				before, _ := dir.to.Marshal()
				n, _, err := dir.to.Recv(data)
				if err == nil {
					*dir.to = n
					continue
				}
				if !tampered || !errors.Is(err, ErrInvalidMessage) {
					t.Fatalf("%v: %v", target, err)
				}
				after, _ := dir.to.Marshal()
				if !bytes.Equal(before, after) {
					t.Fatalf("%v: refused message changed the state", target)
				}
				caught = true
				break
			}
		}
		if !caught {
			t.Fatalf("tampered %v chunks were never caught", target)
		}
	}
}

// TestMarshalRoundTrip: at every step, the state survives Marshal and
// Unmarshal unchanged and goes on agreeing keys.
func TestMarshalRoundTrip(t *testing.T) {
	a, b := pair(t, V0, V1)
	phases := map[phase]bool{}
	reload := func(s *State) {
		data, err := s.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		n, err := Unmarshal(data)
		if err != nil {
			t.Fatalf("unmarshal in phase %d: %v", s.braid.phase, err)
		}
		again, _ := n.Marshal()
		if !bytes.Equal(data, again) {
			t.Fatalf("phase %d: marshal not stable", s.braid.phase)
		}
		phases[n.braid.phase] = true
		*s = n
	}
	for i := range 400 {
		m := send(t, &a)
		reload(&a)
		if i%3 != 0 {
			recv(t, &b, m)
			reload(&b)
		}
		r := send(t, &b)
		reload(&b)
		if i%5 != 0 {
			recv(t, &a, r)
			reload(&a)
		}
	}
	if len(phases) < 9 {
		t.Fatalf("only %d phases seen", len(phases))
	}
	for _, bad := range [][]byte{{0xff}, {0x1a, 0x02, 0x08, 0x63}} {
		if _, err := Unmarshal(bad); !errors.Is(err, ErrState) {
			t.Fatalf("Unmarshal(%x): %v", bad, err)
		}
	}
}

func TestMessageCodec(t *testing.T) {
	m := message{epoch: 300, index: 70000, typ: payloadEKCt1Ack, chunkIndex: 513}
	for i := range m.chunk {
		m.chunk[i] = byte(i)
	}
	b := m.marshal()
	if b[0] != 1 || len(b) != 1+2+3+1+2+32 {
		t.Fatalf("encoding %x", b)
	}
	got, err := parseMessage(b)
	if err != nil || got != m {
		t.Fatalf("round trip: %+v %v", got, err)
	}
	for _, bad := range [][]byte{nil, {1}, {1, 0, 0, 0}, {2, 1, 1, 0}, {1, 1, 1, 7}, {1, 1, 1, 1, 0}, {1, 1, 0x80}, {1, 1, 0xff, 0xff, 0xff, 0xff, 0x10, 0}} {
		if _, err := parseMessage(bad); err == nil {
			t.Fatalf("parseMessage(%x) accepted", bad)
		}
	}
}

func FuzzParseMessage(f *testing.F) {
	f.Add([]byte{1, 1, 0, 0})
	f.Add((&message{epoch: 3, index: 9, typ: payloadCt1, chunkIndex: 40}).marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := parseMessage(b)
		if err != nil {
			return
		}
		again, err := parseMessage(m.marshal())
		if err != nil || again != m {
			t.Fatalf("re-encoding changed %+v", m)
		}
	})
}

func FuzzUnmarshal(f *testing.F) {
	a, b := pair(f, V1, V1)
	for range 60 {
		m := send(f, &a)
		recv(f, &b, m)
		data, _ := b.Marshal()
		f.Add(data)
		recv(f, &a, send(f, &b))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Unmarshal(data)
		if err != nil {
			return
		}
		// Whatever it accepted must be usable without panicking.
		if _, _, _, err := s.Send(rand.Reader); err != nil && !errors.Is(err, ErrState) && !errors.Is(err, ErrInvalidMessage) {
			t.Logf("send: %v", err)
		}
		s.Recv((&message{epoch: s.Epoch(), index: 1, typ: payloadCt1}).marshal())
	})
}
