package spqr

import (
	"fmt"
	"io"
	"slices"

	"github.com/blindpost/blindpost/spqr/internal/erasure"
	"github.com/blindpost/blindpost/spqr/internal/kem768"
)

// phase is the ML-KEM Braid state. The two roles alternate every epoch:
// one side sends an ML-KEM-768 encapsulation key (header first, then the
// key vector), the other encapsulates to it in two halves (ct1 from the
// header alone, then ct2 once the key vector arrived).
//
//	send_ek:  KeysUnsampled -> KeysSampled -> HeaderSent -> Ct1Received
//	          -> EkSentCt1Received -> (epoch+1, send_ct) NoHeaderReceived
//	send_ct:  NoHeaderReceived -> HeaderReceived -> Ct1Sampled
//	          -> {EkReceivedCt1Sampled | Ct1Acknowledged} -> Ct2Sampled
//	          -> (epoch+1, send_ek) KeysUnsampled
type phase uint8

const (
	keysUnsampled phase = iota + 1
	keysSampled
	headerSent
	ct1Received
	ekSentCt1Received
	noHeaderReceived
	headerReceived
	ct1Sampled
	ekReceivedCt1Sampled
	ct1Acknowledged
	ct2Sampled
)

// Sizes of what travels in chunks.
const (
	macSize        = 32
	headerMsgSize  = kem768.HeaderSize + macSize // 96
	keyVectorSize  = kem768.KeyVectorSize        // 1152
	ct1Size        = kem768.Ciphertext1Size      // 960
	ct2MsgSize     = kem768.Ciphertext2Size + macSize
	maxPhase       = ct2Sampled
	firstEpoch     = 1
	decapsKeySize  = kem768.DecapsulationKeySize
	encapsStateLen = kem768.EncapsStateSize
)

// braid is one side's ML-KEM Braid state. Which fields are set depends on
// the phase (see validate). Byte slices are never modified in place, so
// copies of a braid may share them; the decoder is cloned before use.
type braid struct {
	phase phase
	epoch uint64
	auth  authenticator

	header      []byte // ours (send_ek) or theirs (send_ct)
	keyVector   []byte // ours until sent, or theirs once received
	decapsKey   []byte
	encapsState []byte
	ct1         []byte

	sending     []byte // data being sent in chunks
	sendingNext uint32 // next chunk index
	receiving   *erasure.Decoder
}

func newBraid(dir Direction, authKey []byte) (braid, error) {
	b := braid{epoch: firstEpoch, auth: newAuthenticator(authKey, firstEpoch)}
	if dir == AToB {
		b.phase = keysUnsampled
		return b, nil
	}
	b.phase = noHeaderReceived
	return b, b.expect(headerMsgSize)
}

func (b *braid) expect(size int) error {
	d, err := erasure.NewDecoder(size)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrState, err)
	}
	b.receiving = d
	return nil
}

func (b *braid) startSending(data []byte) {
	b.sending, b.sendingNext = data, 0
}

// nextChunk returns the next chunk of the data being sent.
func (b *braid) nextChunk() (uint16, [ChunkSize]byte, error) {
	idx := uint16(b.sendingNext)
	c, err := erasure.ChunkOf(b.sending, idx)
	if err != nil {
		return 0, [ChunkSize]byte{}, fmt.Errorf("%w: %w", ErrState, err)
	}
	b.sendingNext++
	return idx, c, nil
}

// epochKey is an epoch's secret, produced once per epoch on each side,
// with the ML-KEM shared secret it was derived from (kept for Trace only).
type epochKey struct {
	epoch  uint64
	secret []byte
	kem    []byte
}

// send returns the message for the next outgoing SignalMessage, and the
// epoch's secret when this send created it. b must be a private copy.
func (b *braid) send(rand io.Reader) (message, *epochKey, error) {
	m := message{epoch: b.epoch, typ: payloadNone}
	var key *epochKey
	var err error
	switch b.phase {
	case keysUnsampled:
		var hdr [kem768.HeaderSize]byte
		var ek [kem768.KeyVectorSize]byte
		var dk [kem768.DecapsulationKeySize]byte
		hdr, ek, dk, err = kem768.GenerateKey(rand)
		if err != nil {
			return m, nil, err
		}
		b.header, b.keyVector, b.decapsKey = hdr[:], ek[:], dk[:]
		b.startSending(slices.Concat(b.header, b.auth.macHeader(b.epoch, b.header)))
		b.phase = keysSampled
		m.typ = payloadHeader
	case keysSampled:
		m.typ = payloadHeader
	case headerSent:
		m.typ = payloadEK
	case ct1Received:
		m.typ = payloadEKCt1Ack
	case ekSentCt1Received:
		m.typ = payloadCt1Ack
	case noHeaderReceived, ct1Acknowledged:
	case headerReceived:
		ct1, es, ss, err := kem768.Encaps1([kem768.HeaderSize]byte(b.header), rand)
		if err != nil {
			return m, nil, err
		}
		secret := epochSecret(b.epoch, ss[:])
		b.auth.update(b.epoch, secret)
		b.ct1, b.encapsState = ct1[:], es[:]
		b.startSending(b.ct1)
		b.phase = ct1Sampled
		key = &epochKey{b.epoch, secret, ss[:]}
		m.typ = payloadCt1
	case ct1Sampled, ekReceivedCt1Sampled:
		m.typ = payloadCt1
	case ct2Sampled:
		m.typ = payloadCt2
	default:
		return m, nil, fmt.Errorf("%w: phase %d", ErrState, b.phase)
	}
	if m.typ.hasChunk() {
		if m.chunkIndex, m.chunk, err = b.nextChunk(); err != nil {
			return m, nil, err
		}
	}
	return m, key, nil
}

// recv takes in the SPQR message of an incoming SignalMessage. Messages of
// older epochs, or that the phase has no use for, change nothing.
// b must be a private copy.
func (b *braid) recv(m *message) (*epochKey, error) {
	if m.epoch > b.epoch {
		if b.phase == ct2Sampled && m.epoch == b.epoch+1 {
			// The peer finished the epoch: roles swap.
			*b = braid{phase: keysUnsampled, epoch: m.epoch, auth: b.auth}
			return nil, nil
		}
		return nil, fmt.Errorf("%w: SPQR epoch %d, expected at most %d", ErrInvalidMessage, m.epoch, b.epoch)
	}
	if m.epoch < b.epoch {
		return nil, nil
	}
	switch b.phase {
	case keysSampled:
		if m.typ != payloadCt1 {
			return nil, nil
		}
		// The peer has the header and started ct1: send the key vector.
		if err := b.expect(ct1Size); err != nil {
			return nil, err
		}
		b.receiving.Add(m.chunkIndex, m.chunk)
		b.startSending(b.keyVector)
		b.keyVector, b.header = nil, nil
		b.phase = headerSent
	case headerSent:
		if m.typ != payloadCt1 {
			return nil, nil
		}
		if ct1, ok := b.add(m); ok {
			b.ct1 = ct1
			b.phase = ct1Received
		}
	case ct1Received:
		if m.typ != payloadCt2 {
			return nil, nil
		}
		if err := b.expect(ct2MsgSize); err != nil {
			return nil, err
		}
		b.receiving.Add(m.chunkIndex, m.chunk)
		b.sending, b.sendingNext = nil, 0
		b.phase = ekSentCt1Received
	case ekSentCt1Received:
		if m.typ != payloadCt2 {
			return nil, nil
		}
		data, ok := b.add(m)
		if !ok {
			return nil, nil
		}
		return b.finishDecaps(data)
	case noHeaderReceived:
		if m.typ != payloadHeader {
			return nil, nil
		}
		data, ok := b.add(m)
		if !ok {
			return nil, nil
		}
		hdr, tag := data[:kem768.HeaderSize], data[kem768.HeaderSize:]
		if !equal(tag, b.auth.macHeader(b.epoch, hdr)) {
			return nil, fmt.Errorf("%w: SPQR header MAC", ErrInvalidMessage)
		}
		b.header = hdr
		if err := b.expect(keyVectorSize); err != nil {
			return nil, err
		}
		b.phase = headerReceived
	case ct1Sampled:
		if m.typ != payloadEK && m.typ != payloadEKCt1Ack {
			return nil, nil
		}
		ack := m.typ == payloadEKCt1Ack
		ek, ok := b.add(m)
		switch {
		case ok:
			if err := b.takeKeyVector(ek); err != nil {
				return nil, err
			}
			if ack {
				return nil, b.sendCt2()
			}
			b.phase = ekReceivedCt1Sampled
		case ack:
			b.sending, b.sendingNext = nil, 0
			b.phase = ct1Acknowledged
		}
	case ekReceivedCt1Sampled:
		if m.typ == payloadCt1Ack || m.typ == payloadEKCt1Ack {
			return nil, b.sendCt2()
		}
	case ct1Acknowledged:
		if m.typ != payloadEK && m.typ != payloadEKCt1Ack {
			return nil, nil
		}
		if ek, ok := b.add(m); ok {
			if err := b.takeKeyVector(ek); err != nil {
				return nil, err
			}
			return nil, b.sendCt2()
		}
	case keysUnsampled, headerReceived, ct2Sampled:
	default:
		return nil, fmt.Errorf("%w: phase %d", ErrState, b.phase)
	}
	return nil, nil
}

// add gives the message's chunk to a copy of the decoder.
func (b *braid) add(m *message) ([]byte, bool) {
	d := b.receiving.Clone()
	d.Add(m.chunkIndex, m.chunk)
	b.receiving = d
	data, ok := d.Message()
	if ok {
		b.receiving = nil
	}
	return data, ok
}

func (b *braid) takeKeyVector(ek []byte) error {
	if !kem768.KeyVectorMatchesHeader(ek, b.header) {
		return fmt.Errorf("%w: SPQR key vector does not match its header", ErrInvalidMessage)
	}
	b.keyVector = ek
	b.receiving = nil
	return nil
}

// sendCt2 completes the encapsulation and starts sending ct2 || MAC.
func (b *braid) sendCt2() error {
	ct2, err := kem768.Encaps2([kem768.HeaderSize]byte(b.header), [kem768.KeyVectorSize]byte(b.keyVector), b.encapsState)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrState, err)
	}
	tag := b.auth.macCiphertext(b.epoch, slices.Concat(b.ct1, ct2[:]))
	*b = braid{phase: ct2Sampled, epoch: b.epoch, auth: b.auth}
	b.startSending(slices.Concat(ct2[:], tag))
	return nil
}

// finishDecaps decapsulates ct1 || ct2, updates the authenticator with the
// epoch's secret, checks the ciphertext MAC, and moves to the next epoch
// in the send_ct role.
func (b *braid) finishDecaps(data []byte) (*epochKey, error) {
	ct2, tag := data[:kem768.Ciphertext2Size], data[kem768.Ciphertext2Size:]
	ss, err := kem768.Decaps(b.decapsKey, b.ct1, ct2)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrState, err)
	}
	secret := epochSecret(b.epoch, ss[:])
	auth := b.auth
	auth.update(b.epoch, secret)
	if !equal(tag, auth.macCiphertext(b.epoch, slices.Concat(b.ct1, ct2))) {
		return nil, fmt.Errorf("%w: SPQR ciphertext MAC", ErrInvalidMessage)
	}
	ep := b.epoch
	*b = braid{phase: noHeaderReceived, epoch: ep + 1, auth: auth}
	if err := b.expect(headerMsgSize); err != nil {
		return nil, err
	}
	return &epochKey{ep, secret, ss[:]}, nil
}
