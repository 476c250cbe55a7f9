package lab

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"io"
	"testing"
)

// TestStreamDefinition checks the stream against its definition in
// stream.go, computed independently here.
func TestStreamDefinition(t *testing.T) {
	want := func(seed uint64, label string, block uint64) []byte {
		h := sha256.New()
		h.Write([]byte("blindpost lab randomness v1"))
		binary.Write(h, binary.BigEndian, seed)
		h.Write([]byte{byte(len(label))})
		h.Write([]byte(label))
		binary.Write(h, binary.BigEndian, block)
		return h.Sum(nil)
	}
	got := make([]byte, 3*sha256.Size)
	if _, err := io.ReadFull(NewStream(7, "alice"), got); err != nil {
		t.Fatal(err)
	}
	for i := range uint64(3) {
		if !bytes.Equal(got[i*32:(i+1)*32], want(7, "alice", i)) {
			t.Fatalf("block %d differs from its definition", i)
		}
	}
}

// TestStreamChunking: how the stream is read does not change its bytes.
func TestStreamChunking(t *testing.T) {
	whole := make([]byte, 200)
	NewStream(1, "bob").Read(whole)
	s := NewStream(1, "bob")
	var pieces []byte
	for _, n := range []int{1, 31, 32, 33, 64, 39} {
		b := make([]byte, n)
		if k, err := s.Read(b); k != n || err != nil {
			t.Fatalf("Read(%d) = %d, %v", n, k, err)
		}
		pieces = append(pieces, b...)
	}
	if !bytes.Equal(whole, pieces) {
		t.Fatal("chunked reads differ from one read")
	}
}

// TestStreamsAreSeparate: labels and seeds give unrelated streams.
func TestStreamsAreSeparate(t *testing.T) {
	read := func(seed uint64, label string) []byte {
		b := make([]byte, 32)
		NewStream(seed, label).Read(b)
		return b
	}
	if bytes.Equal(read(1, "alice"), read(1, "bob")) || bytes.Equal(read(1, "alice"), read(2, "alice")) {
		t.Fatal("two streams coincide")
	}
}
