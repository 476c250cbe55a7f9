package erasure

import (
	"bytes"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/blindpost/blindpost/internal/testvec"
)

// TestKnownAnswers runs the hand-derived vectors in testdata/chunks-*.txt:
// each listed chunk of the message must come out of the encoder, and the
// last n listed chunks alone must decode to the message.
func TestKnownAnswers(t *testing.T) {
	files, err := filepath.Glob("testdata/chunks-*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no vector files: %v", err)
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			t.Parallel()
			f := testvec.Read(t, path)
			if f.Expect != "chunks" {
				t.Fatalf("unknown expect %q", f.Expect)
			}
			msg := f.Hex(t, "message")
			indices, chunks := f.All("index"), f.All("chunk")
			if len(indices) != len(chunks) || len(indices) == 0 {
				t.Fatal("want index/chunk pairs")
			}
			e := mustEncoder(t, msg)
			d := mustDecoder(t, len(msg))
			for i := range indices {
				k, err := strconv.ParseUint(indices[i], 10, 16)
				if err != nil {
					t.Fatal(err)
				}
				want := testvec.Decode(t, chunks[i])
				got := e.Chunk(uint16(k))
				if !bytes.Equal(got[:], want) {
					t.Errorf("chunk %d = %x, want %x", k, got, want)
				}
				if i >= len(indices)-need(len(msg)) {
					d.Add(uint16(k), [ChunkSize]byte(want))
				}
			}
			if got, ok := d.Message(); !ok || !bytes.Equal(got, msg) {
				t.Errorf("decoded %x, %v; want %x", got, ok, msg)
			}
		})
	}
}
