package erasure

import (
	"cmp"
	"encoding/binary"
	"slices"
)

// Decoder collects chunks of one message of known size until it can
// rebuild it (crate PolyDecoder). Use NewDecoder or UnmarshalDecoder; the
// zero Decoder never completes.
//
// To bound what a hostile peer can make it hold, each polynomial keeps a
// point only if its x is below n, the number of points the polynomial
// needs, or if it holds fewer than n points; so at most 2n points (n with
// x < n, n others). Chunks are not authenticated here: wrong chunks yield a
// wrong message, which the caller's MAC rejects.
type Decoder struct {
	size int
	// pts[p] holds the points of polynomial p, by increasing x.
	pts [polys][]point
}

// point is a point (x, y) of one polynomial.
type point struct{ x, y uint16 }

// NewDecoder returns a decoder for a message of size bytes (crate
// PolyDecoder::new): even, positive, at most MaxMessageSize.
func NewDecoder(size int) (*Decoder, error) {
	if err := checkSize(size); err != nil {
		return nil, err
	}
	return &Decoder{size: size}, nil
}

// Size returns the size in bytes of the message being decoded.
func (d *Decoder) Size() int { return d.size }

// needed returns n_p, the number of points polynomial p needs.
func (d *Decoder) needed(p int) int {
	long, short := split(d.size)
	if p < long {
		return short + 1
	}
	return short
}

// Add takes in chunk k (crate PolyDecoder::add_chunk). A point whose x is
// already held is ignored, whatever its value.
func (d *Decoder) Add(k uint16, data [ChunkSize]byte) {
	for p := range polys {
		n := d.needed(p)
		if int(k) >= n && len(d.pts[p]) >= n {
			continue
		}
		i, found := slices.BinarySearchFunc(d.pts[p], k, cmpX)
		if !found {
			y := binary.BigEndian.Uint16(data[2*p:])
			d.pts[p] = slices.Insert(d.pts[p], i, point{k, y})
		}
	}
}

func cmpX(pt point, x uint16) int { return cmp.Compare(pt.x, x) }

// Message returns the decoded message (crate
// PolyDecoder::decoded_message) once every polynomial holds as many points
// as it needs, and false before. Each element comes from the point at its
// x when that is held, else from the polynomial through the polynomial's n
// points of smallest x, as the crate does. Each call returns a new slice.
func (d *Decoder) Message() ([]byte, bool) {
	if d.size == 0 {
		return nil, false
	}
	for p := range polys {
		if len(d.pts[p]) < d.needed(p) {
			return nil, false
		}
	}
	msg := make([]byte, d.size)
	var w weightCache
	for p := range polys {
		d.decodePoly(msg, p, &w)
	}
	return msg, true
}

// weightCache keeps the last nodes interpolated through and their weights:
// the polynomials usually hold points at the same x (each chunk brings one
// point to each), so they share the O(n²) weight computation.
type weightCache struct{ xs, logW []uint16 }

func (c *weightCache) weights(xs []uint16) []uint16 {
	if !slices.Equal(c.xs, xs) {
		c.xs, c.logW = xs, nodeWeights(xs)
	}
	return c.logW
}

// decodePoly writes the elements of polynomial p into msg.
func (d *Decoder) decodePoly(msg []byte, p int, w *weightCache) {
	n := d.needed(p)
	pts := d.pts[p]
	var xs, ys, logW []uint16 // built on the first missing element
	j := 0
	for x := range n {
		for j < len(pts) && int(pts[j].x) < x {
			j++
		}
		var y uint16
		if j < len(pts) && int(pts[j].x) == x {
			y = pts[j].y
		} else {
			if logW == nil {
				xs, ys = make([]uint16, n), make([]uint16, n)
				for i, pt := range pts[:n] {
					xs[i], ys[i] = pt.x, pt.y
				}
				logW = w.weights(xs)
			}
			y = interpolate(xs, ys, logW, uint16(x))
		}
		binary.BigEndian.PutUint16(msg[2*(polys*x+p):], y)
	}
}

// Clone returns an independent copy of d. The copy's points share one new
// array, with room after each polynomial's points for one more, so that
// the copy costs two allocations and an Add to it none. Each polynomial's
// slice is capped at its room: an Add beyond it reallocates that slice
// rather than overwrite the next one's points.
func (d *Decoder) Clone() *Decoder {
	c := &Decoder{size: d.size}
	total := 0
	for p := range polys {
		if d.pts[p] != nil {
			total += len(d.pts[p]) + 1
		}
	}
	if total == 0 {
		return c
	}
	buf := make([]point, total)
	for p := range polys {
		if d.pts[p] == nil {
			continue
		}
		n := copy(buf, d.pts[p])
		c.pts[p] = buf[: n : n+1]
		buf = buf[n+1:]
	}
	return c
}
