package spqr

import (
	"encoding/binary"
	"fmt"
)

// payloadType is the kind of SPQR message (one byte on the wire).
type payloadType uint8

const (
	payloadNone     payloadType = 0 // nothing to say this message
	payloadHeader   payloadType = 1 // a chunk of header || header MAC
	payloadEK       payloadType = 2 // a chunk of the encapsulation key vector
	payloadEKCt1Ack payloadType = 3 // a chunk of the key vector, and "ct1 received"
	payloadCt1Ack   payloadType = 4 // "ct1 received", no chunk
	payloadCt1      payloadType = 5 // a chunk of the first ciphertext half
	payloadCt2      payloadType = 6 // a chunk of ct2 || ciphertext MAC
)

func (t payloadType) hasChunk() bool {
	switch t {
	case payloadHeader, payloadEK, payloadEKCt1Ack, payloadCt1, payloadCt2:
		return true
	}
	return false
}

func (t payloadType) String() string {
	switch t {
	case payloadNone:
		return "none"
	case payloadHeader:
		return "hdr"
	case payloadEK:
		return "ek"
	case payloadEKCt1Ack:
		return "ek+ct1-ack"
	case payloadCt1Ack:
		return "ct1-ack"
	case payloadCt1:
		return "ct1"
	case payloadCt2:
		return "ct2"
	}
	return fmt.Sprintf("type(%d)", uint8(t))
}

// ChunkSize is the size of one erasure-coded chunk.
const ChunkSize = 32

// message is one SPQR message, carried in a SignalMessage's pq_ratchet
// field:
//
//	version (1 byte, 0x01) | epoch (varint) | index (varint) | type (1 byte)
//	[ chunk index (varint) | chunk (32 bytes) ]   for types with a chunk
//
// index is the sender's SPQR chain index (0 when no key is used). Trailing
// bytes are allowed, for later versions of the protocol.
type message struct {
	epoch      uint64
	index      uint32
	typ        payloadType
	chunkIndex uint16
	chunk      [ChunkSize]byte
}

// wireVersion1 is the first byte of every version-1 SPQR message.
const wireVersion1 = 0x01

func (m *message) marshal() []byte {
	b := make([]byte, 0, 48)
	b = append(b, wireVersion1)
	b = binary.AppendUvarint(b, m.epoch)
	b = binary.AppendUvarint(b, uint64(m.index))
	b = append(b, byte(m.typ))
	if m.typ.hasChunk() {
		b = binary.AppendUvarint(b, uint64(m.chunkIndex))
		b = append(b, m.chunk[:]...)
	}
	return b
}

// parseMessage reads a version-1 SPQR message.
func parseMessage(b []byte) (message, error) {
	var m message
	if len(b) == 0 || b[0] != wireVersion1 {
		return m, fmt.Errorf("%w: SPQR message is not version 1", ErrInvalidMessage)
	}
	r := b[1:]
	ep, r, err := uvarint(r)
	if err != nil {
		return m, err
	}
	if ep == 0 {
		return m, fmt.Errorf("%w: SPQR epoch 0", ErrInvalidMessage)
	}
	idx, r, err := uvarint(r)
	if err != nil {
		return m, err
	}
	if idx > uint64(^uint32(0)) {
		return m, fmt.Errorf("%w: SPQR index %d overflows", ErrInvalidMessage, idx)
	}
	if len(r) == 0 {
		return m, fmt.Errorf("%w: SPQR message without a type", ErrInvalidMessage)
	}
	m.epoch, m.index, m.typ = ep, uint32(idx), payloadType(r[0])
	r = r[1:]
	if m.typ > payloadCt2 {
		return m, fmt.Errorf("%w: SPQR message type %d", ErrInvalidMessage, m.typ)
	}
	if m.typ.hasChunk() {
		ci, rest, err := uvarint(r)
		if err != nil {
			return m, err
		}
		if ci > 0xFFFF || len(rest) < ChunkSize {
			return m, fmt.Errorf("%w: bad SPQR chunk", ErrInvalidMessage)
		}
		m.chunkIndex = uint16(ci)
		copy(m.chunk[:], rest[:ChunkSize])
	}
	return m, nil
}

// uvarint reads a varint of at most 10 bytes. Like libsignal's SPQR it
// accepts non-minimal encodings and ignores bits above 64.
func uvarint(b []byte) (uint64, []byte, error) {
	var v uint64
	for i := 0; i < 10 && i < len(b); i++ {
		v |= uint64(b[i]&0x7f) << (7 * i)
		if b[i] < 0x80 {
			return v, b[i+1:], nil
		}
	}
	return 0, nil, fmt.Errorf("%w: bad varint in SPQR message", ErrInvalidMessage)
}
