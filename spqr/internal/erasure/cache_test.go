package erasure

import (
	"bytes"
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
)

// TestEncoderWeightsConcurrent builds encoders of one size from several
// goroutines at once (for the race detector) and checks their chunks. It
// comes first in the package so that the weights are not yet cached.
func TestEncoderWeightsConcurrent(t *testing.T) {
	const size = 2*polys*(maxCachedWeights-1) + 2 // a count no other test uses
	msg := randomMessage(rand.New(rand.NewPCG(33, 34)), size)
	want := refChunk(msg, 1000)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			if got, err := ChunkOf(msg, 1000); err != nil || got != want {
				errs <- fmt.Errorf("chunk %x, %v; want %x", got, err, want)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestEncoderWeights: the cached weights are consecutiveWeights, the same
// slice on every call up to maxCachedWeights, and computed afresh above.
func TestEncoderWeights(t *testing.T) {
	for n := range maxCachedWeights + 3 {
		w := encoderWeights(n)
		want := consecutiveWeights(n)
		if len(w) != n {
			t.Fatalf("n=%d: %d weights", n, len(w))
		}
		for i := range want {
			if w[i] != want[i] {
				t.Fatalf("n=%d: log w_%d = %d, want %d", n, i, w[i], want[i])
			}
		}
		if n == 0 {
			continue
		}
		shared := &encoderWeights(n)[0] == &w[0]
		if shared != (n <= maxCachedWeights) {
			t.Fatalf("n=%d: weights shared between calls: %v", n, shared)
		}
	}
}

// TestChunkOf checks ChunkOf against the definition, for cached and
// uncached point counts, and that it leaves the message unchanged.
func TestChunkOf(t *testing.T) {
	big := 2 * polys * (maxCachedWeights + 4)
	for _, size := range append(sizes, big, big+6, 2*polys*maxCachedWeights+2) {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			r := rand.New(rand.NewPCG(31, uint64(size)))
			msg := randomMessage(r, size)
			orig := append([]byte(nil), msg...)
			e := mustEncoder(t, msg)
			ks := []uint16{0, uint16(need(size) - 1), uint16(need(size)), 65535}
			for range 5 {
				ks = append(ks, uint16(r.Uint32()))
			}
			for _, k := range ks {
				got, err := ChunkOf(msg, k)
				if err != nil {
					t.Fatal(err)
				}
				if want := refChunk(msg, k); got != want {
					t.Fatalf("chunk %d = %x, want %x", k, got, want)
				}
				if e.Chunk(k) != got {
					t.Fatalf("chunk %d differs from the Encoder's", k)
				}
			}
			if string(msg) != string(orig) {
				t.Fatal("ChunkOf changed the message")
			}
		})
	}
	for _, size := range []int{0, 1, 95, MaxMessageSize + 2} {
		if _, err := ChunkOf(make([]byte, size), 0); err == nil {
			t.Errorf("ChunkOf of %d bytes: no error", size)
		}
	}
}

// TestChunkOfAllocs: with cached weights, ChunkOf does not allocate.
func TestChunkOfAllocs(t *testing.T) {
	msg := randomMessage(rand.New(rand.NewPCG(35, 36)), 1152)
	if a := testing.AllocsPerRun(100, func() {
		if _, err := ChunkOf(msg, 60000); err != nil {
			t.Fatal(err)
		}
	}); a != 0 {
		t.Fatalf("ChunkOf: %v allocations", a)
	}
}

// TestCloneSharedArray: the polynomials of a clone share one array; adds
// to the clone, in the middle of each polynomial's points and beyond the
// room left for one, neither change the original nor spill into the next
// polynomial, and both still decode.
func TestCloneSharedArray(t *testing.T) {
	r := rand.New(rand.NewPCG(37, 38))
	for _, size := range []int{96, 1152, 70} {
		msg := randomMessage(r, size)
		e := mustEncoder(t, msg)
		d := mustDecoder(t, size)
		n := need(size)
		for k := 1; k < n; k += 2 { // odd indices only: the clone inserts between them
			d.Add(uint16(1000+k), e.Chunk(uint16(1000+k)))
		}
		before, err := d.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		c := d.Clone()
		for k := 0; k < n; k += 2 {
			c.Add(uint16(1000+k), e.Chunk(uint16(1000+k)))
		}
		if after, _ := d.MarshalBinary(); !bytes.Equal(after, before) {
			t.Fatalf("size %d: adding to the clone changed the original", size)
		}
		for p := range polys {
			if !slices.IsSortedFunc(c.pts[p], func(a, b point) int { return cmp.Compare(a.x, b.x) }) {
				t.Fatalf("size %d: polynomial %d of the clone is out of order", size, p)
			}
		}
		if got, ok := c.Message(); !ok || !bytes.Equal(got, msg) {
			t.Fatalf("size %d: clone does not decode", size)
		}
		for k := 0; k < n; k += 2 {
			d.Add(uint16(1000+k), e.Chunk(uint16(1000+k)))
		}
		if got, ok := d.Message(); !ok || !bytes.Equal(got, msg) {
			t.Fatalf("size %d: original does not decode", size)
		}
	}
}

// TestCloneAddAllocs: a clone of a decoder holding points, and one Add to
// it, take two allocations (the Decoder and its array).
func TestCloneAddAllocs(t *testing.T) {
	e := mustEncoder(t, randomMessage(rand.New(rand.NewPCG(39, 40)), 1152))
	d := mustDecoder(t, 1152)
	d.Add(100, e.Chunk(100))
	c := e.Chunk(3)
	if a := testing.AllocsPerRun(100, func() {
		d.Clone().Add(3, c)
	}); a != 2 {
		t.Fatalf("Clone and Add: %v allocations, want 2", a)
	}
}
