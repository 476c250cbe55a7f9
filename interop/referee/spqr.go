package referee

import (
	"errors"
	"fmt"
	"math"
)

// The SPQR data a SignalMessage carries in its pq_ratchet field (5). The
// referee reads it only to count the epochs a run crosses; it checks the
// layout strictly, so that a peer sending something else is noticed.
//
// Layout (SparsePostQuantumRatchet src/v1/chunked/states/serialize.rs,
// Message::serialize), all varints protobuf-style, little-endian base 128:
//
//	offset  size    field
//	0       1       version: 0x01 (V1)
//	1       1-10    epoch: varint, >= 1
//	.       1-5     index: varint, < 2^32
//	.       1       message type, 0..6 (spqrNone .. spqrCt2)
//	.       1-3     chunk index: varint, < 2^16      } only for types Hdr, Ek,
//	.       32      chunk data                      } EkCt1Ack, Ct1 and Ct2
//
// An empty or absent field means the sender did not use SPQR for the message
// (version V0). Stricter than the crate, which tolerates non-minimal varints
// and trailing bytes (kept for future versions): the referee rejects both,
// since every V1 sender writes neither.

// Specification constants of the SPQR message layout.
const (
	spqrVersionV1  = 0x01
	spqrChunkSize  = 32
	spqrMaxVarint  = 10 // bytes of a 64-bit varint
	spqrMaxChunkID = math.MaxUint16
)

// spqrType is the message type byte: what the message's chunk carries.
type spqrType byte

// Message types (serialize.rs, enum MessageType).
const (
	spqrNone     spqrType = 0 // no chunk
	spqrHdr      spqrType = 1 // chunk of the encapsulation key header
	spqrEk       spqrType = 2 // chunk of the encapsulation key vector
	spqrEkCt1Ack spqrType = 3 // chunk of the key vector, and ct1 received
	spqrCt1Ack   spqrType = 4 // ct1 received, no chunk
	spqrCt1      spqrType = 5 // chunk of the first ciphertext half
	spqrCt2      spqrType = 6 // chunk of the second ciphertext half
)

var spqrTypeNames = [...]string{"none", "hdr", "ek", "ek_ct1_ack", "ct1_ack", "ct1", "ct2"}

func (t spqrType) String() string {
	if int(t) < len(spqrTypeNames) {
		return spqrTypeNames[t]
	}
	return fmt.Sprintf("spqrType(%d)", byte(t))
}

// hasChunk reports whether messages of type t carry a chunk.
func (t spqrType) hasChunk() bool { return t != spqrNone && t != spqrCt1Ack }

// spqrMessage is one parsed pq_ratchet field.
type spqrMessage struct {
	epoch   uint64
	index   uint32
	typ     spqrType
	chunkID uint16 // meaningful only when typ.hasChunk()
	chunk   [spqrChunkSize]byte
}

// errSPQR is wrapped by every error of parseSPQR.
var errSPQR = errors.New("malformed SPQR message")

// parseSPQR parses a pq_ratchet field value. present is false, with no
// error, for an empty value: no SPQR data.
func parseSPQR(b []byte) (m spqrMessage, present bool, err error) {
	if len(b) == 0 {
		return m, false, nil
	}
	if b[0] != spqrVersionV1 {
		return m, true, fmt.Errorf("%w: version %#02x, want %#02x", errSPQR, b[0], spqrVersionV1)
	}
	pos := 1
	next := func(what string, limit uint64) (uint64, error) {
		v, n, err := strictVarint(b[pos:])
		if err != nil {
			return 0, fmt.Errorf("%w: %s at offset %d: %w", errSPQR, what, pos, err)
		}
		if v > limit {
			return 0, fmt.Errorf("%w: %s %d exceeds %d", errSPQR, what, v, limit)
		}
		pos += n
		return v, nil
	}
	if m.epoch, err = next("epoch", math.MaxUint64); err != nil {
		return m, true, err
	}
	if m.epoch == 0 {
		return m, true, fmt.Errorf("%w: epoch 0", errSPQR)
	}
	index, err := next("index", math.MaxUint32)
	if err != nil {
		return m, true, err
	}
	m.index = uint32(index)
	if pos >= len(b) {
		return m, true, fmt.Errorf("%w: no message type", errSPQR)
	}
	m.typ = spqrType(b[pos])
	pos++
	if m.typ > spqrCt2 {
		return m, true, fmt.Errorf("%w: message type %d", errSPQR, byte(m.typ))
	}
	if m.typ.hasChunk() {
		id, err := next("chunk index", spqrMaxChunkID)
		if err != nil {
			return m, true, err
		}
		m.chunkID = uint16(id)
		if len(b)-pos < spqrChunkSize {
			return m, true, fmt.Errorf("%w: %s chunk of %d bytes, want %d", errSPQR, m.typ, len(b)-pos, spqrChunkSize)
		}
		pos += copy(m.chunk[:], b[pos:])
	}
	if pos != len(b) {
		return m, true, fmt.Errorf("%w: %d trailing bytes after a %s message", errSPQR, len(b)-pos, m.typ)
	}
	return m, true, nil
}

// strictVarint decodes a minimally encoded varint of at most 64 bits and
// returns it with the number of bytes it took.
func strictVarint(b []byte) (uint64, int, error) {
	var v uint64
	for i := 0; i < len(b) && i < spqrMaxVarint; i++ {
		c := b[i]
		if i == spqrMaxVarint-1 && c > 1 {
			return 0, 0, errors.New("varint overflows 64 bits")
		}
		v |= uint64(c&0x7f) << (7 * i)
		if c&0x80 == 0 {
			if c == 0 && i > 0 {
				return 0, 0, errors.New("varint not minimally encoded")
			}
			return v, i + 1, nil
		}
	}
	if len(b) < spqrMaxVarint {
		return 0, 0, errors.New("truncated varint")
	}
	return 0, 0, errors.New("varint longer than 10 bytes")
}
