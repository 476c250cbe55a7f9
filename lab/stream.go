package lab

import (
	"crypto/sha256"
	"encoding/binary"
	"io"
)

// Stream is the labs' only source of randomness: a deterministic io.Reader
// that every Generate*, Sign and Decrypt call of a lab reads from. Each
// party has its own stream, so one party's draws never shift another's:
//
//	block i = SHA-256(streamDomain || seed (8, big-endian) || len(label) (1) ||
//	                  label || i (8, big-endian))
//
// and the stream is block 0 || block 1 || ... Never use a Stream for real
// keys: anyone who knows the seed knows every key.
type Stream struct {
	seed   uint64
	prefix []byte
	block  uint64
	buf    [sha256.Size]byte
	off    int
}

var _ io.Reader = (*Stream)(nil)

// NewStream returns the stream of the party named label under seed. The
// label must be shorter than 256 bytes.
func NewStream(seed uint64, label string) *Stream {
	if len(label) > 255 {
		panic("lab: internal error: stream label too long")
	}
	p := make([]byte, 0, len(streamDomain)+8+1+len(label))
	p = append(p, streamDomain...)
	p = binary.BigEndian.AppendUint64(p, seed)
	p = append(p, byte(len(label)))
	p = append(p, label...)
	return &Stream{seed: seed, prefix: p, off: sha256.Size}
}

// Read fills b from the stream. It never fails.
func (s *Stream) Read(b []byte) (int, error) {
	n := 0
	for n < len(b) {
		if s.off == sha256.Size {
			h := sha256.New()
			h.Write(s.prefix)
			h.Write(binary.BigEndian.AppendUint64(nil, s.block))
			h.Sum(s.buf[:0])
			s.block++
			s.off = 0
		}
		c := copy(b[n:], s.buf[s.off:])
		s.off += c
		n += c
	}
	return n, nil
}

// clone returns a copy of s at the same position: what the copy reads, s
// would read next. The labs use it to replay a call that read s.
func (s *Stream) clone() *Stream {
	c := *s
	return &c
}
