package erasure

import (
	"encoding/binary"
	"fmt"
	"sync"
)

// Encoder produces the chunks of one message (crate PolyEncoder). It keeps
// a copy of the message and the interpolation weights derived from its
// length, nothing else: to persist an encoder, store the message (and the
// caller's next chunk index) and call NewEncoder again.
//
// An Encoder is immutable after NewEncoder, so Chunk is safe for
// concurrent use.
type Encoder struct {
	msg []byte
	// long is the number of polynomials with short+1 points (0 .. long-1);
	// the others (long .. 15) have short points.
	long, short int
	// logWLong and logWShort are the log barycentric weights of the nodes
	// 0 .. short and 0 .. short-1. They may be shared with other encoders
	// (encoderWeights) and are only read.
	logWLong, logWShort []uint16
}

// NewEncoder returns an encoder for msg (crate PolyEncoder::encode_bytes),
// which must have an even length of at most MaxMessageSize bytes. The
// encoder keeps its own copy of msg.
func NewEncoder(msg []byte) (*Encoder, error) {
	if err := checkSize(len(msg)); err != nil {
		return nil, err
	}
	e := newEncoder(append([]byte(nil), msg...))
	return &e, nil
}

// ChunkOf returns chunk k of msg, as NewEncoder(msg) then Chunk(k) would,
// but without copying msg, and without allocating once the weights for its
// length are cached (encoderWeights): for a caller that keeps msg and asks
// for one chunk at a time.
func ChunkOf(msg []byte, k uint16) ([ChunkSize]byte, error) {
	if err := checkSize(len(msg)); err != nil {
		return [ChunkSize]byte{}, err
	}
	e := newEncoder(msg)
	return e.Chunk(k), nil
}

// newEncoder returns the encoder of msg, a message of valid size, which it
// keeps without copying.
func newEncoder(msg []byte) Encoder {
	long, short := split(len(msg))
	e := Encoder{
		msg:       msg,
		long:      long,
		short:     short,
		logWShort: encoderWeights(short),
	}
	if long > 0 {
		e.logWLong = encoderWeights(short + 1)
	}
	return e
}

// maxCachedWeights is the largest point count whose weights are kept for
// reuse (SPQR's largest message, the 1152-byte key vector, has 36 points).
// The table holds at most 2·(1 + 2 + ... + 256) = 65,792 bytes of weights.
const maxCachedWeights = 256

// weightTable holds consecutiveWeights(n) for n <= maxCachedWeights,
// each computed on first use.
var weightTable [maxCachedWeights + 1]struct {
	once sync.Once
	logW []uint16
}

// encoderWeights returns consecutiveWeights(n). For n <= maxCachedWeights
// the slice is shared by every caller: it must never be written to.
func encoderWeights(n int) []uint16 {
	if n > maxCachedWeights {
		return consecutiveWeights(n)
	}
	t := &weightTable[n]
	t.once.Do(func() { t.logW = consecutiveWeights(n) })
	return t.logW
}

// checkSize checks a message size for the encoder and the decoder.
func checkSize(size int) error {
	switch {
	case size <= 0:
		return fmt.Errorf("erasure: message of %d bytes: empty", size)
	case size%2 != 0:
		return fmt.Errorf("erasure: message of %d bytes: odd length", size)
	case size > MaxMessageSize:
		return fmt.Errorf("erasure: message of %d bytes: more than %d", size, MaxMessageSize)
	}
	return nil
}

// split returns, for a message of size bytes, how many polynomials have one
// point more than the others, and how many points the others have.
func split(size int) (long, short int) {
	elems := size / 2
	return elems % polys, elems / polys
}

// Chunk returns chunk k (crate PolyEncoder::chunk_at): for j = 0 .. 15,
// bytes 2j and 2j+1 are the big-endian value at x = k of polynomial j.
// Chunks 0 .. n-1 are the message itself; the others are parity.
func (e *Encoder) Chunk(k uint16) [ChunkSize]byte {
	var f [polys]uint16
	e.evaluate(&f, 0, e.long, e.short+1, e.logWLong, int(k))
	e.evaluate(&f, e.long, polys, e.short, e.logWShort, int(k))
	var out [ChunkSize]byte
	for j, v := range f {
		binary.BigEndian.PutUint16(out[2*j:], v)
	}
	return out
}

// evaluate sets f[lo:hi] to the values at x of polynomials lo .. hi-1,
// which all have the n points (i, e_{16i+p}) for i < n, with log weights
// logW. A polynomial with no points is zero.
func (e *Encoder) evaluate(f *[polys]uint16, lo, hi, n int, logW []uint16, x int) {
	if lo >= hi || n == 0 {
		return
	}
	if x < n { // systematic: the element itself
		row := e.msg[2*polys*x:]
		for p := lo; p < hi; p++ {
			f[p] = binary.BigEndian.Uint16(row[2*p:])
		}
		return
	}
	// x >= n, so x is no node and x - j != 0 below.
	var logL uint32
	for j := range n {
		logL = addLog(logL, uint32(logTable[x^j]))
	}
	for i := range n {
		c := subLog(addLog(logL, uint32(logW[i])), uint32(logTable[x^i]))
		row := e.msg[2*polys*i:]
		for p := lo; p < hi; p++ {
			if y := binary.BigEndian.Uint16(row[2*p:]); y != 0 {
				f[p] ^= expTable[c+uint32(logTable[y])]
			}
		}
	}
}
