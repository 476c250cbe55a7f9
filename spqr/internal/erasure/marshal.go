package erasure

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// A Decoder marshals to (all integers big-endian):
//
//	| bytes | content                                                  |
//	|-------|----------------------------------------------------------|
//	| 1     | format version, 1                                        |
//	| 4     | message size in bytes                                    |
//	| then, for each polynomial p = 0 .. 15:                           |
//	| 4     | number c_p of points held                                |
//	| 4·c_p | the points, x (2 bytes) || y (2 bytes), by increasing x  |
//
// Only states Add can reach are accepted: size valid for NewDecoder,
// c_p <= 2·n_p with at most n_p points at x >= n_p, x strictly increasing,
// and no trailing bytes. The encoding of a state is unique.

// headerLen is the length of the fixed part: version and size.
const headerLen = 1 + 4

// MarshalBinary encodes d in the format above. It fails only for the zero
// Decoder, which has no size.
func (d *Decoder) MarshalBinary() ([]byte, error) {
	if d.size == 0 {
		return nil, errors.New("erasure: marshal the zero Decoder")
	}
	n := headerLen
	for p := range polys {
		n += 4 + 4*len(d.pts[p])
	}
	b := make([]byte, 0, n)
	b = append(b, formatVersion)
	b = binary.BigEndian.AppendUint32(b, uint32(d.size))
	for p := range polys {
		b = binary.BigEndian.AppendUint32(b, uint32(len(d.pts[p])))
		for _, pt := range d.pts[p] {
			b = binary.BigEndian.AppendUint16(b, pt.x)
			b = binary.BigEndian.AppendUint16(b, pt.y)
		}
	}
	return b, nil
}

// UnmarshalDecoder decodes a Decoder marshalled by MarshalBinary.
func UnmarshalDecoder(b []byte) (*Decoder, error) {
	d := new(Decoder)
	if err := d.UnmarshalBinary(b); err != nil {
		return nil, err
	}
	return d, nil
}

// UnmarshalBinary replaces d with the decoder encoded in b; on error d is
// unchanged. Allocation is bounded by len(b).
func (d *Decoder) UnmarshalBinary(b []byte) error {
	if len(b) < headerLen {
		return errors.New("erasure: decoder state: truncated")
	}
	if b[0] != formatVersion {
		return fmt.Errorf("erasure: decoder state: unknown version %d", b[0])
	}
	size := binary.BigEndian.Uint32(b[1:])
	if size > MaxMessageSize {
		return fmt.Errorf("erasure: decoder state: size %d: more than %d", size, MaxMessageSize)
	}
	nd, err := NewDecoder(int(size))
	if err != nil {
		return fmt.Errorf("erasure: decoder state: %w", err)
	}
	b = b[headerLen:]
	for p := range polys {
		if nd.pts[p], b, err = nd.parsePoints(p, b); err != nil {
			return fmt.Errorf("erasure: decoder state: polynomial %d: %w", p, err)
		}
	}
	if len(b) != 0 {
		return fmt.Errorf("erasure: decoder state: %d trailing bytes", len(b))
	}
	*d = *nd
	return nil
}

// parsePoints reads the points of polynomial p from the front of b and
// returns them with the rest of b.
func (d *Decoder) parsePoints(p int, b []byte) ([]point, []byte, error) {
	if len(b) < 4 {
		return nil, nil, errors.New("truncated count")
	}
	c := binary.BigEndian.Uint32(b)
	b = b[4:]
	n := d.needed(p)
	if c > uint32(2*n) {
		return nil, nil, fmt.Errorf("%d points, more than %d", c, 2*n)
	}
	if uint64(len(b)) < 4*uint64(c) {
		return nil, nil, errors.New("truncated points")
	}
	pts := make([]point, c)
	high := 0
	for i := range pts {
		pts[i] = point{binary.BigEndian.Uint16(b[4*i:]), binary.BigEndian.Uint16(b[4*i+2:])}
		if i > 0 && pts[i].x <= pts[i-1].x {
			return nil, nil, errors.New("points not by increasing x")
		}
		if int(pts[i].x) >= n {
			high++
		}
	}
	if high > n {
		return nil, nil, fmt.Errorf("%d points at x >= %d, more than %d", high, n, n)
	}
	if c == 0 {
		pts = nil
	}
	return pts, b[4*c:], nil
}
