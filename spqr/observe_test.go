package spqr

import (
	"bytes"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"strings"
	"testing"
)

// chainModel recomputes the SPQR chain with the exported KDFs alone: the
// chain of each epoch and direction, stepped as far as asked.
type chainModel struct {
	root   [32]byte
	chains map[[2]uint64]*modelHalf // {epoch, direction}
}

type modelHalf struct {
	ck      [32]byte
	counter uint32
	keys    map[uint32][32]byte
}

func newChainModel(authKey [32]byte) *chainModel {
	m := &chainModel{chains: map[[2]uint64]*modelHalf{}}
	var ab, ba [32]byte
	m.root, ab, ba = KDFChainStart(authKey)
	m.set(0, ab, ba)
	return m
}

func (m *chainModel) set(ep uint64, ab, ba [32]byte) {
	m.chains[[2]uint64{ep, uint64(AToB)}] = &modelHalf{ck: ab, keys: map[uint32][32]byte{}}
	m.chains[[2]uint64{ep, uint64(BToA)}] = &modelHalf{ck: ba, keys: map[uint32][32]byte{}}
}

func (m *chainModel) addEpoch(ep uint64, secret [32]byte) {
	var ab, ba [32]byte
	m.root, ab, ba = KDFChainAddEpoch(m.root, secret)
	m.set(ep, ab, ba)
}

func (m *chainModel) key(ep uint64, dir Direction, index uint32) ([32]byte, bool) {
	h, ok := m.chains[[2]uint64{ep, uint64(dir)}]
	if !ok {
		return [32]byte{}, false
	}
	for h.counter < index {
		h.counter++
		var k [32]byte
		h.ck, k = KDFChainNext(h.ck, h.counter)
		h.keys[h.counter] = k
	}
	k, ok := h.keys[index]
	return k, ok
}

// TestTracedMatchesModel runs a strictly alternating conversation through
// SendTraced and RecvTraced, and, alongside, Send and Recv on copies with
// the same randomness: both give the same bytes, keys and states; every
// key equals the one the exported KDFs give from the auth key and the
// traced epoch secrets; each epoch's secret appears once on each side, the
// same on both, and is KDFEpochSecret of the traced ML-KEM secret.
func TestTracedMatchesModel(t *testing.T) {
	authKey := [32]byte{7, 7, 7}
	newPair := func() (State, State) {
		a, err := New(Params{Direction: AToB, AuthKey: authKey, MinVersion: V1})
		if err != nil {
			t.Fatal(err)
		}
		b, err := New(Params{Direction: BToA, AuthKey: authKey, MinVersion: V1})
		if err != nil {
			t.Fatal(err)
		}
		return a, b
	}
	ta, tb := newPair() // traced
	ua, ub := newPair() // untraced
	rt := mrand.NewChaCha8([32]byte{1})
	ru := mrand.NewChaCha8([32]byte{1})
	model := newChainModel(authKey)
	secrets := map[uint64][32]byte{}
	seen := map[uint64]int{}
	for i := range 400 {
		ts, tr, us, ur, dir := &ta, &tb, &ua, &ub, AToB
		if i%2 == 1 {
			ts, tr, us, ur, dir = &tb, &ta, &ub, &ua, BToA
		}
		var st, rtr Trace
		nts, data, key, err := ts.SendTraced(rt, &st)
		if err != nil {
			t.Fatal(err)
		}
		nus, udata, ukey, err := us.Send(ru)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(data, udata) || !sameKey(key, ukey) {
			t.Fatalf("message %d: SendTraced and Send differ", i)
		}
		ntr, rkey, err := tr.RecvTraced(data, &rtr)
		if err != nil {
			t.Fatal(err)
		}
		nur, urkey, err := ur.Recv(data)
		if err != nil {
			t.Fatal(err)
		}
		if !sameKey(rkey, urkey) || !sameKey(rkey, key) {
			t.Fatalf("message %d: received keys differ", i)
		}
		sameState(t, nts, nus)
		sameState(t, ntr, nur)
		*ts, *tr, *us, *ur = nts, ntr, nus, nur

		in, err := Describe(data)
		if err != nil || in != st.Message || in != rtr.Message {
			t.Fatalf("message %d: Describe %+v (%v), traced %+v / %+v", i, in, err, st.Message, rtr.Message)
		}
		for _, e := range []*EpochTrace{st.Epoch, rtr.Epoch} {
			if e == nil {
				continue
			}
			if KDFEpochSecret(e.Epoch, e.KEMSecret) != e.Secret {
				t.Fatalf("epoch %d: secret is not KDFEpochSecret(K)", e.Epoch)
			}
			seen[e.Epoch]++
			if s, ok := secrets[e.Epoch]; ok {
				if s != e.Secret {
					t.Fatalf("epoch %d: the two sides' secrets differ", e.Epoch)
				}
				continue
			}
			secrets[e.Epoch] = e.Secret
			model.addEpoch(e.Epoch, e.Secret)
		}
		if !st.HasKey || !rtr.HasKey || st.KeyEpoch != rtr.KeyEpoch || st.KeyIndex != rtr.KeyIndex ||
			st.KeyEpoch != in.Epoch-1 || st.KeyIndex != in.Index {
			t.Fatalf("message %d: key positions %+v / %+v", i, st, rtr)
		}
		want, ok := model.key(st.KeyEpoch, dir, st.KeyIndex)
		if !ok || want != *key {
			t.Fatalf("message %d: key (epoch %d, index %d) is not the model's", i, st.KeyEpoch, st.KeyIndex)
		}
	}
	if len(seen) < 3 {
		t.Fatalf("only %d epochs completed", len(seen))
	}
	for ep, n := range seen {
		if n != 2 && ep != uint64(len(seen)) { // the last epoch may be half done
			t.Fatalf("epoch %d: secret seen %d times", ep, n)
		}
	}
}

func sameState(t *testing.T, a, b State) {
	t.Helper()
	ma, err := a.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	mb, err := b.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ma, mb) || a.Phase() != b.Phase() {
		t.Fatal("traced and untraced states differ")
	}
}

// TestDescribe: the fields, the chunked data's name and size, and strict
// refusal of what Recv refuses.
func TestDescribe(t *testing.T) {
	m := message{epoch: 300, index: 5, typ: payloadEKCt1Ack, chunkIndex: 35, chunk: [ChunkSize]byte{9}}
	in, err := Describe(m.marshal())
	if err != nil {
		t.Fatal(err)
	}
	want := Info{Epoch: 300, Index: 5, Type: TypeEKCt1Ack, HasChunk: true, ChunkIndex: 35,
		Chunk: [ChunkSize]byte{9}, Data: "key vector", DataSize: KeyVectorDataSize}
	if in != want || in.Type.String() != "ek+ct1-ack" {
		t.Fatalf("Describe = %+v, want %+v", in, want)
	}
	for typ, size := range map[payloadType]int{payloadHeader: 96, payloadEK: 1152, payloadCt1: 960, payloadCt2: 160, payloadCt1Ack: 0, payloadNone: 0} {
		m := message{epoch: 1, typ: typ}
		in, err := Describe(m.marshal())
		if err != nil || in.DataSize != size || in.HasChunk != (size > 0) {
			t.Errorf("type %v: %+v, %v", typ, in, err)
		}
	}
	for _, b := range [][]byte{nil, {}, {2, 1, 0, 0}, {1, 0, 0, 0}, {1, 1, 0}, {1, 1, 0, 1, 0}, {1, 1, 0, 7}} {
		if _, err := Describe(b); !errors.Is(err, ErrInvalidMessage) {
			t.Errorf("Describe(%x) = %v, want ErrInvalidMessage", b, err)
		}
	}
}

// TestPhase: each role starts in its first state; the zero State is off.
func TestPhase(t *testing.T) {
	a, b := pair(t, V1, V1)
	if a.Phase() != "KeysUnsampled" || b.Phase() != "NoHeaderReceived" || (State{}).Phase() != "off" {
		t.Fatalf("phases %q, %q, %q", a.Phase(), b.Phase(), State{}.Phase())
	}
	for p := keysUnsampled; p <= maxPhase; p++ {
		if p.String() == "" || p.String()[0] == 'p' {
			t.Errorf("phase %d has no name", p)
		}
	}
}

// TestTraceOff: with SPQR off, or for data of an unknown version, the
// trace stays empty.
func TestTraceOff(t *testing.T) {
	var tr Trace
	tr.HasKey = true
	if _, data, key, err := (State{}).SendTraced(nil, &tr); err != nil || data != nil || key != nil || tr != (Trace{}) {
		t.Fatalf("off: %x %v %v %+v", data, key, err, tr)
	}
	_, b := pair(t, V1, V1)
	if _, key, err := b.RecvTraced([]byte{2, 1, 1, 0}, &tr); err != nil || key != nil || tr != (Trace{}) {
		t.Fatalf("unknown version: %v %v %+v", key, err, tr)
	}
}

// TestEpochTraceRedacts: the secrets of an EpochTrace never print.
func TestEpochTraceRedacts(t *testing.T) {
	e := EpochTrace{Epoch: 3, KEMSecret: [32]byte{0xab, 0xab}, Secret: [32]byte{0xcd, 0xcd}}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%d"} {
		out := fmt.Sprintf(verb, e) + fmt.Sprintf(verb, &e)
		if strings.Contains(out, "abab") || strings.Contains(out, "cdcd") || strings.Contains(out, "171") || !strings.Contains(out, "REDACTED") {
			t.Errorf("%s prints %q", verb, out)
		}
	}
}
