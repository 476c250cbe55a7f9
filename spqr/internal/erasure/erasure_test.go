package erasure

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// sizes are the SPQR message sizes (header || MAC, ct2 || MAC, ct1, key
// vector) and sizes whose element count is no multiple of 16, down to one
// element, so that polynomials differ in their number of points or have
// none.
var sizes = []int{96, 160, 960, 1152, 2, 10, 34, 62, 66, 1088}

// refChunk computes chunk k from the definition: polynomial j has the
// points (i, e_{16i+j}); its value at k comes from the Lagrange form with
// the bitwise field operations (refEval), nothing shared with the package.
func refChunk(msg []byte, k uint16) [ChunkSize]byte {
	var out [ChunkSize]byte
	for j := range polys {
		var xs, ys []uint16
		for i := 0; 2*(polys*i+j) < len(msg); i++ {
			xs = append(xs, uint16(i))
			ys = append(ys, binary.BigEndian.Uint16(msg[2*(polys*i+j):]))
		}
		binary.BigEndian.PutUint16(out[2*j:], refEval(xs, ys, k))
	}
	return out
}

// need is the number of distinct chunks that rebuild a message of size
// bytes: the points of its largest polynomial.
func need(size int) int { return (size/2 + polys - 1) / polys }

func randomMessage(r *rand.Rand, size int) []byte {
	msg := make([]byte, size)
	for i := range msg {
		msg[i] = byte(r.Uint32())
	}
	return msg
}

func mustEncoder(t testing.TB, msg []byte) *Encoder {
	t.Helper()
	e, err := NewEncoder(msg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func mustDecoder(t testing.TB, size int) *Decoder {
	t.Helper()
	d, err := NewDecoder(size)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestChunkMatchesReference checks Chunk against the definition at
// systematic and parity indices, including the last ones.
func TestChunkMatchesReference(t *testing.T) {
	for _, size := range sizes {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			t.Parallel()
			r := rand.New(rand.NewPCG(7, uint64(size)))
			msg := randomMessage(r, size)
			e := mustEncoder(t, msg)
			ks := []uint16{0, 1, uint16(need(size) - 1), uint16(need(size)), uint16(need(size) + 1), 100, 60000, 65534, 65535}
			for range 10 {
				ks = append(ks, uint16(r.Uint32()))
			}
			for _, k := range ks {
				if got, want := e.Chunk(k), refChunk(msg, k); got != want {
					t.Fatalf("chunk %d = %x, want %x", k, got, want)
				}
			}
		})
	}
}

// TestSystematic checks that chunks 0 .. n-1 laid end to end start with
// the message. (When the element count is no multiple of 16, the rest of
// the last chunk holds values of the polynomials with fewer points.)
func TestSystematic(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, size := range sizes {
		msg := randomMessage(r, size)
		e := mustEncoder(t, msg)
		var got []byte
		for k := range need(size) {
			c := e.Chunk(uint16(k))
			got = append(got, c[:]...)
		}
		if !bytes.Equal(got[:size], msg) {
			t.Fatalf("size %d: systematic chunks are not the message", size)
		}
	}
}

// indexSets returns ways to pick m distinct chunk indices for a message
// needing n chunks.
func indexSets(r *rand.Rand, n, m int) map[string][]uint16 {
	seq := func(from int) []uint16 {
		s := make([]uint16, m)
		for i := range s {
			s[i] = uint16(from + i)
		}
		return s
	}
	randomFrom := func(lo, hi int) []uint16 {
		perm := r.Perm(hi - lo)
		s := make([]uint16, m)
		for i := range s {
			s[i] = uint16(lo + perm[i])
		}
		return s
	}
	mixed := randomFrom(0, 2*n+2)
	return map[string][]uint16{
		"systematic":   seq(0),
		"first parity": seq(n),
		"high parity":  seq(60000),
		"last":         seq(65536 - m),
		"random":       randomFrom(0, 65536),
		"random low":   mixed,
		"shuffled":     shuffled(r, seq(n/2)),
	}
}

func shuffled(r *rand.Rand, s []uint16) []uint16 {
	s = slices.Clone(s)
	r.Shuffle(len(s), func(i, j int) { s[i], s[j] = s[j], s[i] })
	return s
}

// TestDecodeAnyChunks checks that any n distinct chunks rebuild the
// message, in any order, and that n-1 do not.
func TestDecodeAnyChunks(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, size := range sizes {
		n := need(size)
		for name, ks := range indexSets(r, n, n) {
			t.Run(fmt.Sprintf("%d/%s", size, name), func(t *testing.T) {
				msg := randomMessage(r, size)
				e := mustEncoder(t, msg)
				d := mustDecoder(t, size)
				for i, k := range ks {
					if _, ok := d.Message(); ok {
						t.Fatalf("complete after %d of %d chunks", i, n)
					}
					d.Add(k, e.Chunk(k))
				}
				got, ok := d.Message()
				if !ok || !bytes.Equal(got, msg) {
					t.Fatalf("chunks %v: got %x, %v; want %x", ks, got, ok, msg)
				}
			})
		}
	}
}

// TestDecodeOrderIrrelevant adds the same chunks in many orders.
func TestDecodeOrderIrrelevant(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	for _, size := range []int{96, 1152, 34} {
		n := need(size)
		msg := randomMessage(r, size)
		e := mustEncoder(t, msg)
		// Some systematic, some parity, more than needed.
		ks := []uint16{}
		for k := range 3*n/2 + 3 {
			if k%3 != 0 {
				ks = append(ks, uint16(k))
			}
		}
		for k := range 6 {
			ks = append(ks, uint16(40000+k))
		}
		for range 20 {
			d := mustDecoder(t, size)
			for _, k := range shuffled(r, ks) {
				d.Add(k, e.Chunk(k))
			}
			if got, ok := d.Message(); !ok || !bytes.Equal(got, msg) {
				t.Fatalf("size %d: order changed the result", size)
			}
		}
	}
}

// TestDuplicatesIgnored: a second chunk at a held index changes nothing,
// and does not count towards completion.
func TestDuplicatesIgnored(t *testing.T) {
	msg := randomMessage(rand.New(rand.NewPCG(15, 16)), 96)
	e := mustEncoder(t, msg)
	d := mustDecoder(t, 96)
	d.Add(5, e.Chunk(5))
	d.Add(5, [ChunkSize]byte{0xff, 0xff})
	d.Add(7, e.Chunk(7))
	d.Add(7, e.Chunk(7))
	if _, ok := d.Message(); ok {
		t.Fatal("complete with two distinct chunks of three")
	}
	d.Add(9, e.Chunk(9))
	if got, ok := d.Message(); !ok || !bytes.Equal(got, msg) {
		t.Fatal("the duplicate replaced a point")
	}
}

// TestPointBound feeds a decoder every chunk index with garbage, as a
// hostile peer could: no polynomial may hold more than 2n points, and the
// decoder must not panic.
func TestPointBound(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 18))
	for _, size := range []int{1152, 34, 2} {
		d := mustDecoder(t, size)
		// High indices first, so that the below-n points come on top.
		for k := 65535; k >= 0; k-- {
			var c [ChunkSize]byte
			binary.LittleEndian.PutUint64(c[:], r.Uint64())
			d.Add(uint16(k), c)
		}
		for p := range polys {
			n := d.needed(p)
			if len(d.pts[p]) > 2*n {
				t.Fatalf("size %d: polynomial %d holds %d points, need %d", size, p, len(d.pts[p]), n)
			}
		}
		if got, ok := d.Message(); !ok || len(got) != size {
			t.Fatalf("size %d: garbage decoded to %d bytes, %v", size, len(got), ok)
		}
	}
}

// TestTamperedChunkGivesWrongMessage: a wrong point yields a wrong message
// (for the caller's MAC to reject), not a panic or a refusal.
func TestTamperedChunkGivesWrongMessage(t *testing.T) {
	msg := randomMessage(rand.New(rand.NewPCG(19, 20)), 160)
	e := mustEncoder(t, msg)
	d := mustDecoder(t, 160)
	for k := range uint16(5) {
		c := e.Chunk(1000 + k)
		if k == 2 {
			c[7] ^= 1
		}
		d.Add(1000+k, c)
	}
	got, ok := d.Message()
	if !ok || bytes.Equal(got, msg) {
		t.Fatalf("tampered chunk: ok %v, message unchanged %v", ok, bytes.Equal(got, msg))
	}
}

// TestLongAndShortPolynomials checks a message whose polynomials have 3
// and 2 points (size 70: 35 elements): with 2 chunks the short ones are
// complete but not the long ones.
func TestLongAndShortPolynomials(t *testing.T) {
	msg := randomMessage(rand.New(rand.NewPCG(21, 22)), 70)
	e := mustEncoder(t, msg)
	d := mustDecoder(t, 70)
	d.Add(500, e.Chunk(500))
	d.Add(3, e.Chunk(3))
	if _, ok := d.Message(); ok {
		t.Fatal("complete with 2 chunks, polynomials 0..2 need 3")
	}
	d.Add(1, e.Chunk(1))
	if got, ok := d.Message(); !ok || !bytes.Equal(got, msg) {
		t.Fatal("not rebuilt from 3 chunks")
	}
}

func TestSizeLimits(t *testing.T) {
	for _, size := range []int{-2, 0, 1, 3, 95, MaxMessageSize + 2, MaxMessageSize + 1} {
		if _, err := NewEncoder(make([]byte, max(size, 0))); size > 0 && err == nil {
			t.Errorf("NewEncoder accepted %d bytes", size)
		}
		if _, err := NewDecoder(size); err == nil {
			t.Errorf("NewDecoder accepted %d bytes", size)
		}
	}
	if _, err := NewEncoder(nil); err == nil {
		t.Error("NewEncoder accepted an empty message")
	}
	for _, size := range []int{2, MaxMessageSize} {
		if _, err := NewEncoder(make([]byte, size)); err != nil {
			t.Errorf("NewEncoder(%d bytes): %v", size, err)
		}
		if _, err := NewDecoder(size); err != nil {
			t.Errorf("NewDecoder(%d): %v", size, err)
		}
	}
}

// TestLargestMessage encodes a message of MaxMessageSize (32768 points per
// polynomial): NewEncoder stays fast (the weights cost O(n log n)), and the
// last parity chunk agrees with interpolation through each polynomial's
// points. (The decoder's O(n²) interpolation is too slow to test here.)
func TestLargestMessage(t *testing.T) {
	msg := randomMessage(rand.New(rand.NewPCG(23, 24)), MaxMessageSize)
	e := mustEncoder(t, msg)
	c := e.Chunk(65535)
	n := MaxMessageSize / ChunkSize
	logW := consecutiveWeights(n)
	for _, p := range []int{0, 15} {
		xs, ys := make([]uint16, n), make([]uint16, n)
		for i := range n {
			xs[i], ys[i] = uint16(i), binary.BigEndian.Uint16(msg[ChunkSize*i+2*p:])
		}
		if got, want := binary.BigEndian.Uint16(c[2*p:]), interpolate(xs, ys, logW, 65535); got != want {
			t.Fatalf("chunk 65535, polynomial %d: %#x, want %#x", p, got, want)
		}
	}
	if got := e.Chunk(uint16(n - 1)); !bytes.Equal(got[:], msg[len(msg)-ChunkSize:]) {
		t.Fatal("last systematic chunk is not the end of the message")
	}
}

func TestCloneIsIndependent(t *testing.T) {
	msg := randomMessage(rand.New(rand.NewPCG(25, 26)), 96)
	e := mustEncoder(t, msg)
	d := mustDecoder(t, 96)
	d.Add(0, e.Chunk(0))
	c := d.Clone()
	c.Add(1, e.Chunk(1))
	c.Add(2, e.Chunk(2))
	if _, ok := d.Message(); ok {
		t.Fatal("adding to the clone completed the original")
	}
	if got, ok := c.Message(); !ok || !bytes.Equal(got, msg) {
		t.Fatal("clone does not decode")
	}
	if c.Size() != d.Size() || d.Size() != 96 {
		t.Fatal("sizes differ")
	}
}

func TestEncoderKeepsOwnCopy(t *testing.T) {
	msg := []byte{1, 2, 3, 4}
	e := mustEncoder(t, msg)
	msg[0] = 9
	if c := e.Chunk(0); c[0] != 1 {
		t.Fatal("encoder shares the caller's message")
	}
}

func TestZeroDecoder(t *testing.T) {
	var d Decoder
	d.Add(0, [ChunkSize]byte{1})
	if _, ok := d.Message(); ok {
		t.Fatal("zero Decoder completed")
	}
	if _, err := d.MarshalBinary(); err == nil {
		t.Fatal("zero Decoder marshalled")
	}
}

// TestPolynomialsWithDifferentPoints decodes from states where each
// polynomial holds points at other x (as a restored state may), so that
// the weights shared between polynomials must be recomputed.
func TestPolynomialsWithDifferentPoints(t *testing.T) {
	r := rand.New(rand.NewPCG(29, 30))
	for _, size := range []int{96, 1152, 70} {
		msg := randomMessage(r, size)
		e := mustEncoder(t, msg)
		for range 10 {
			d := mustDecoder(t, size)
			for p := range polys {
				xs := r.Perm(80)[:d.needed(p)]
				if p%3 == 0 && p > 0 { // same nodes as the previous polynomial
					xs = nil
					for _, pt := range d.pts[p-1][:min(len(d.pts[p-1]), d.needed(p))] {
						xs = append(xs, int(pt.x))
					}
				}
				slices.Sort(xs)
				for _, x := range xs {
					c := e.Chunk(uint16(x))
					d.pts[p] = append(d.pts[p], point{uint16(x), binary.BigEndian.Uint16(c[2*p:])})
				}
			}
			if got, ok := d.Message(); !ok || !bytes.Equal(got, msg) {
				t.Fatalf("size %d: not rebuilt", size)
			}
		}
	}
}
