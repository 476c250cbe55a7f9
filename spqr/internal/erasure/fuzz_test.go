package erasure

import (
	"bytes"
	"encoding/binary"
	"reflect"
	"testing"
)

// FuzzUnmarshalDecoder: any input is refused or gives a decoder that
// re-encodes to the same bytes and survives Add and Message.
func FuzzUnmarshalDecoder(f *testing.F) {
	d, _ := NewDecoder(96)
	b, _ := d.MarshalBinary()
	f.Add(b)
	d.Add(60000, [ChunkSize]byte{1, 2, 3})
	b, _ = d.MarshalBinary()
	f.Add(b)
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := UnmarshalDecoder(data)
		if err != nil {
			return
		}
		b, err := d.MarshalBinary()
		if err != nil || !bytes.Equal(b, data) {
			t.Fatalf("re-encoding differs: %x", b)
		}
		if !reflect.DeepEqual(d.Clone(), d) {
			t.Fatal("clone differs")
		}
		if msg, ok := d.Message(); ok && len(msg) != d.Size() {
			t.Fatalf("message of %d bytes, want %d", len(msg), d.Size())
		}
		d.Add(0, [ChunkSize]byte{0xff})
		d.Add(65535, [ChunkSize]byte{0xff})
		if msg, ok := d.Message(); ok && len(msg) != d.Size() {
			t.Fatalf("message of %d bytes, want %d", len(msg), d.Size())
		}
	})
}

// FuzzDecode encodes msg and feeds a decoder the chunks named by ops, 3
// bytes each: a big-endian index and a flag; an odd flag sends garbage
// instead of the chunk. With honest chunks only, the decoder completes
// exactly when it has n distinct indices, and then returns msg. In any
// case nothing panics, and the state survives marshalling.
func FuzzDecode(f *testing.F) {
	f.Add([]byte("abcdefghij"), []byte{0, 1, 0, 0, 2, 0})
	f.Add(bytes.Repeat([]byte{7}, 96), []byte{0xea, 0x60, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 0})
	f.Fuzz(func(t *testing.T, msg, ops []byte) {
		msg = msg[:min(len(msg), 2048)&^1]
		if len(msg) == 0 {
			return
		}
		e, err := NewEncoder(msg)
		if err != nil {
			t.Fatal(err)
		}
		d, err := NewDecoder(len(msg))
		if err != nil {
			t.Fatal(err)
		}
		seen := map[uint16]bool{}
		honest := true
		for ; len(ops) >= 3; ops = ops[3:] {
			k, flag := binary.BigEndian.Uint16(ops), ops[2]
			c := e.Chunk(k)
			if flag&1 != 0 {
				honest = false
				for i := range c {
					c[i] ^= flag
				}
			}
			seen[k] = true
			d.Add(k, c)
		}
		got, ok := d.Message()
		if honest && ok != (len(seen) >= need(len(msg))) {
			t.Fatalf("%d distinct chunks of %d needed: ok = %v", len(seen), need(len(msg)), ok)
		}
		if honest && ok && !bytes.Equal(got, msg) {
			t.Fatalf("decoded %x, want %x", got, msg)
		}
		if ok && len(got) != len(msg) {
			t.Fatalf("message of %d bytes, want %d", len(got), len(msg))
		}
		b, err := d.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		back, err := UnmarshalDecoder(b)
		if err != nil || !reflect.DeepEqual(back, d) {
			t.Fatalf("state does not survive marshalling: %v", err)
		}
	})
}
