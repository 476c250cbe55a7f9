package referee

import (
	"bytes"
	"math/bits"
	"math/rand/v2"
	"slices"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

// testSignal builds a SignalMessage: version, ratchet key, counter,
// previous counter, ciphertext, then any extra fields, then the MAC.
func testSignal(counter, previous uint64, extra ...[]byte) []byte {
	key := bytes.Repeat([]byte{0x11}, 33)
	key[0] = 0x05
	b := []byte{0x33}
	b = protowire.AppendTag(b, signalRatchetKey, protowire.BytesType)
	b = protowire.AppendBytes(b, key)
	b = protowire.AppendTag(b, signalCounter, protowire.VarintType)
	b = protowire.AppendVarint(b, counter)
	b = protowire.AppendTag(b, signalPreviousCounter, protowire.VarintType)
	b = protowire.AppendVarint(b, previous)
	b = protowire.AppendTag(b, signalCiphertext, protowire.BytesType)
	b = protowire.AppendBytes(b, bytes.Repeat([]byte{0x22}, 48))
	for _, e := range extra {
		b = append(b, e...)
	}
	return append(b, bytes.Repeat([]byte{0x33}, macSize)...)
}

// bytesField is one encoded protobuf bytes field.
func bytesField(num protowire.Number, v []byte) []byte {
	return protowire.AppendBytes(protowire.AppendTag(nil, num, protowire.BytesType), v)
}

// testSignalV4 is testSignal with SPQR data (epoch 3, a chunk of the key
// header) and the addresses of alice and bob under UUID names.
func testSignalV4(t *testing.T) []byte {
	t.Helper()
	addrs, ok := expectAddresses(Address{uuidNames["alice"], 1}, Address{uuidNames["bob"], 1})
	if !ok {
		t.Fatal("no addresses")
	}
	spqr := appendSPQR(nil, spqrMessage{epoch: 3, index: 5, typ: spqrHdr, chunkID: 2})
	return testSignal(7, 2, bytesField(signalPQRatchet, spqr), bytesField(signalAddresses, addrs))
}

func testPreKey(inner []byte) []byte {
	key := bytes.Repeat([]byte{0x44}, 33)
	key[0] = 0x05
	b := []byte{0x33}
	b = protowire.AppendTag(b, 1, protowire.VarintType)
	b = protowire.AppendVarint(b, 7)
	for _, n := range []protowire.Number{preKeyBaseKey, preKeyIdentityKey} {
		b = protowire.AppendTag(b, n, protowire.BytesType)
		b = protowire.AppendBytes(b, key)
	}
	b = protowire.AppendTag(b, preKeyMessage, protowire.BytesType)
	return protowire.AppendBytes(b, inner)
}

func differingBits(a, b []byte) int {
	n := 0
	for i := range a {
		n += bits.OnesCount8(a[i] ^ b[i])
	}
	return n
}

// TestTampersFlipOneBit checks that every tamper changes exactly one bit,
// in place, and that only tampers of absent fields (the Kyber ciphertext,
// and in a version 3 message the SPQR data and addresses) are skipped.
func TestTampersFlipOneBit(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	sig, sig4 := testSignal(5, 0xFFFFFFFF), testSignalV4(t)
	v3Absent := []string{"kyber ciphertext", "pq_ratchet", "addresses", "embedded pq_ratchet", "embedded addresses"}
	cases := []struct {
		msg    []byte
		ts     []tamper
		absent []string
	}{
		{sig, signalTampers(), v3Absent},
		{testPreKey(sig), preKeyTampers(false), v3Absent},
		{testPreKey(sig), preKeyTampers(true), v3Absent},
		{sig4, signalTampers(), nil},
		{testPreKey(sig4), preKeyTampers(false), []string{"kyber ciphertext"}},
	}
	for _, c := range cases {
		for _, tm := range c.ts {
			for range 50 {
				out, ok := tm.apply(c.msg, rng)
				if !ok {
					if !slices.Contains(c.absent, tm.what) {
						t.Fatalf("%s: not applied", tm.what)
					}
					break
				}
				if len(out) != len(c.msg) || differingBits(out, c.msg) != 1 {
					t.Fatalf("%s: changed %d bits", tm.what, differingBits(out, c.msg))
				}
			}
		}
	}
}

// TestRaiseVarint checks that a raised counter grows, so that it cannot
// name a used-up key, and that a varint that cannot grow in place (all
// payload bits set, 127 here) is left alone.
func TestRaiseVarint(t *testing.T) {
	at := func(msg []byte) ([]field, bool) {
		fs, err := signalFields(msg, 0)
		return fs, err == nil
	}
	if _, ok := raiseVarint(at, signalCounter)(testSignal(127, 0), nil); ok {
		t.Error("counter 127 raised in place")
	}
	for _, c := range []uint64{0, 1, 126, 128, 300, 0xFFFFFFFF} {
		msg := testSignal(c, 0)
		out, ok := raiseVarint(at, signalCounter)(msg, nil)
		if !ok {
			t.Fatalf("counter %d: not applied", c)
		}
		fs, err := signalFields(out, 0)
		if err != nil {
			t.Fatal(err)
		}
		f, _ := find(fs, signalCounter)
		got, _ := protowire.ConsumeVarint(out[f.start:f.end])
		if got <= c {
			t.Errorf("counter %d raised to %d", c, got)
		}
	}
}

// TestReadExtrasStrict checks that the SPQR data and addresses are read from
// both message types, and that a field of the wrong wire type, a repeated
// field or malformed SPQR data is refused.
func TestReadExtrasStrict(t *testing.T) {
	spqr := appendSPQR(nil, spqrMessage{epoch: 9, index: 1, typ: spqrNone})
	addrs := bytes.Repeat([]byte{0xaa}, addressesSize)
	varint5 := protowire.AppendVarint(protowire.AppendTag(nil, signalPQRatchet, protowire.VarintType), 1)
	tests := []struct {
		name string
		msg  []byte
		ok   bool
	}{
		{"neither", testSignal(1, 0), true},
		{"both", testSignal(1, 0, bytesField(signalPQRatchet, spqr), bytesField(signalAddresses, addrs)), true},
		{"empty pq_ratchet", testSignal(1, 0, bytesField(signalPQRatchet, nil)), true},
		{"pq_ratchet twice", testSignal(1, 0, bytesField(signalPQRatchet, spqr), bytesField(signalPQRatchet, spqr)), false},
		{"addresses twice", testSignal(1, 0, bytesField(signalAddresses, addrs), bytesField(signalAddresses, addrs)), false},
		{"pq_ratchet as varint", testSignal(1, 0, varint5), false},
		{"malformed SPQR", testSignal(1, 0, bytesField(signalPQRatchet, []byte{2, 1, 1, 0})), false},
	}
	for _, tt := range tests {
		for _, ct := range []Ciphertext{{TypeSignal, tt.msg}, {TypePreKey, testPreKey(tt.msg)}} {
			x, err := readExtras(ct)
			switch {
			case tt.ok && err != nil:
				t.Errorf("%s, type %d: %v", tt.name, ct.Type, err)
			case !tt.ok && err == nil:
				t.Errorf("%s, type %d: accepted", tt.name, ct.Type)
			case tt.name == "both" && (!x.hasSPQR || x.spqr.epoch != 9 || !bytes.Equal(x.addresses, addrs)):
				t.Errorf("%s, type %d: read %+v", tt.name, ct.Type, x)
			case tt.name == "empty pq_ratchet" && x.hasSPQR:
				t.Errorf("%s, type %d: SPQR present", tt.name, ct.Type)
			}
		}
	}
	if _, err := readExtras(Ciphertext{Type: 1, Bytes: testSignal(1, 0)}); err == nil {
		t.Error("message type 1 accepted")
	}
}
