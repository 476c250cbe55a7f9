package erasure

import (
	"math/rand/v2"
	"testing"
)

func BenchmarkNewEncoder1152(b *testing.B) {
	msg := randomMessage(rand.New(rand.NewPCG(1, 1)), 1152)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := NewEncoder(msg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkChunkParity1152(b *testing.B) {
	e := mustEncoder(b, randomMessage(rand.New(rand.NewPCG(1, 1)), 1152))
	b.ReportAllocs()
	b.SetBytes(ChunkSize)
	for b.Loop() {
		_ = e.Chunk(60000)
	}
}

func BenchmarkChunkSystematic1152(b *testing.B) {
	e := mustEncoder(b, randomMessage(rand.New(rand.NewPCG(1, 1)), 1152))
	b.ReportAllocs()
	b.SetBytes(ChunkSize)
	for b.Loop() {
		_ = e.Chunk(20)
	}
}

// BenchmarkDecodeParity1152 rebuilds the 1152-byte key vector from 36
// parity chunks: NewDecoder, 36 Adds and Message, where every element
// must be interpolated.
func BenchmarkDecodeParity1152(b *testing.B) {
	e := mustEncoder(b, randomMessage(rand.New(rand.NewPCG(1, 1)), 1152))
	var chunks [36][ChunkSize]byte
	for i := range chunks {
		chunks[i] = e.Chunk(uint16(60000 + i))
	}
	b.ReportAllocs()
	b.SetBytes(1152)
	for b.Loop() {
		d, err := NewDecoder(1152)
		if err != nil {
			b.Fatal(err)
		}
		for i, c := range chunks {
			d.Add(uint16(60000+i), c)
		}
		if _, ok := d.Message(); !ok {
			b.Fatal("not decoded")
		}
	}
}

func BenchmarkChunkOfParity1152(b *testing.B) {
	msg := randomMessage(rand.New(rand.NewPCG(1, 1)), 1152)
	b.ReportAllocs()
	b.SetBytes(ChunkSize)
	for b.Loop() {
		if _, err := ChunkOf(msg, 60000); err != nil {
			b.Fatal(err)
		}
	}
}
