package erasure

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
)

// TestMarshalRoundTrip marshals a decoder after every chunk and checks that
// the restored one equals it and finishes the same.
func TestMarshalRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(27, 28))
	for _, size := range sizes {
		msg := randomMessage(r, size)
		e := mustEncoder(t, msg)
		d := mustDecoder(t, size)
		ks := append(shuffled(r, []uint16{60000, 60001, 60002}), 5, 0, 1, 2, 3, 4, 7, 9, 11)
		for i := range 2 * need(size) {
			ks = append(ks, uint16(100+i))
		}
		for _, k := range ks {
			b, err := d.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			back, err := UnmarshalDecoder(b)
			if err != nil {
				t.Fatalf("size %d: %v", size, err)
			}
			if !reflect.DeepEqual(back, d) {
				t.Fatalf("size %d: restored decoder differs", size)
			}
			b2, err := back.MarshalBinary()
			if err != nil || !bytes.Equal(b, b2) {
				t.Fatalf("size %d: encoding is not stable", size)
			}
			d = back
			d.Add(k, e.Chunk(k))
		}
		if got, ok := d.Message(); !ok || !bytes.Equal(got, msg) {
			t.Fatalf("size %d: restored decoder does not decode", size)
		}
	}
}

// TestMarshalLayout pins the format on a small case.
func TestMarshalLayout(t *testing.T) {
	d := mustDecoder(t, 34) // polynomial 0 needs 2 points, the others 1
	var c [ChunkSize]byte
	for i := range c {
		c[i] = byte(i)
	}
	d.Add(7, c)
	b, err := d.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{1, 0, 0, 0, 34}
	for p := range polys {
		want = append(want, 0, 0, 0, 1, 0, 7, byte(2*p), byte(2*p+1))
	}
	if !bytes.Equal(b, want) {
		t.Fatalf("got  %x\nwant %x", b, want)
	}
}

// TestUnmarshalRejects checks that every malformed encoding is refused and
// leaves the decoder unchanged.
func TestUnmarshalRejects(t *testing.T) {
	d := mustDecoder(t, 96) // 3 points per polynomial
	valid, err := d.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	// poly0 builds an encoding whose polynomial 0 holds the given x values.
	poly0 := func(size uint32, xs ...uint16) []byte {
		b := []byte{formatVersion}
		b = binary.BigEndian.AppendUint32(b, size)
		b = binary.BigEndian.AppendUint32(b, uint32(len(xs)))
		for _, x := range xs {
			b = binary.BigEndian.AppendUint16(b, x)
			b = binary.BigEndian.AppendUint16(b, 0xabcd)
		}
		for range polys - 1 {
			b = binary.BigEndian.AppendUint32(b, 0)
		}
		return b
	}
	if _, err := UnmarshalDecoder(poly0(96, 0, 1, 2, 100, 200, 300)); err != nil {
		t.Fatalf("reachable state refused: %v", err)
	}
	bad := map[string][]byte{
		"empty":            nil,
		"version":          append([]byte{2}, valid[1:]...),
		"size zero":        poly0(0),
		"size odd":         poly0(95),
		"size too large":   poly0(MaxMessageSize + 2),
		"size huge":        poly0(0xffffffff),
		"trailing":         append(bytes.Clone(valid), 0),
		"count too large":  poly0(96, 0, 1, 2, 100, 200, 300, 400),
		"too many high":    poly0(96, 0, 1, 100, 200, 300, 400),
		"unsorted":         poly0(96, 2, 1),
		"duplicate x":      poly0(96, 1, 1),
		"points truncated": poly0(96, 0, 1)[:headerLen+4+6],
		"count overflow": func() []byte {
			b := bytes.Clone(valid)
			binary.BigEndian.PutUint32(b[headerLen:], 0xffffffff)
			return b
		}(),
	}
	for i := range len(valid) {
		bad[fmt.Sprintf("truncated to %d", i)] = valid[:i]
	}
	for name, b := range bad {
		orig := mustDecoder(t, 160)
		orig.Add(3, [ChunkSize]byte{1})
		before := orig.Clone()
		if err := orig.UnmarshalBinary(b); err == nil {
			t.Errorf("%s: accepted", name)
		}
		if !reflect.DeepEqual(orig, before) {
			t.Errorf("%s: decoder changed on error", name)
		}
	}
}
