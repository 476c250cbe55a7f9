package referee

import (
	"bytes"
	"math/bits"
	"math/rand/v2"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

// testSignal builds a SignalMessage: version, ratchet key, counter,
// previous counter, ciphertext, MAC.
func testSignal(counter, previous uint64) []byte {
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
	return append(b, bytes.Repeat([]byte{0x33}, macSize)...)
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
// in place, and that only the absent Kyber ciphertext is skipped.
func TestTampersFlipOneBit(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	sig := testSignal(5, 0xFFFFFFFF)
	cases := []struct {
		msg []byte
		ts  []tamper
	}{
		{sig, signalTampers()},
		{testPreKey(sig), preKeyTampers(false)},
		{testPreKey(sig), preKeyTampers(true)},
	}
	for _, c := range cases {
		for _, tm := range c.ts {
			for range 50 {
				out, ok := tm.apply(c.msg, rng)
				if !ok {
					if tm.what != "kyber ciphertext" {
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
