package spqr

import (
	"encoding/binary"
	"fmt"
	"io"
)

// Observation API, for the teaching labs (blindpost lab pqxdh) and tests:
// Describe decodes what travels, Phase names the braid's state, the traced
// calls report the values a Send or Recv computed, and the KDF* functions
// are the key schedule's formulas, so that a lab can recompute every key
// it prints and check it against the one the protocol returned. None of
// them changes a State; Send and Recv are SendTraced and RecvTraced with
// no trace.

// MessageType is the kind of an SPQR message: the type byte of the
// pq_ratchet field.
type MessageType uint8

// The message types (SPQR crate src/v1/chunked/states.rs, MessagePayload).
const (
	TypeNone     = MessageType(payloadNone)     // nothing to say this message
	TypeHeader   = MessageType(payloadHeader)   // a chunk of header || header MAC
	TypeEK       = MessageType(payloadEK)       // a chunk of the encapsulation key vector
	TypeEKCt1Ack = MessageType(payloadEKCt1Ack) // a key vector chunk, and "ct1 received"
	TypeCt1Ack   = MessageType(payloadCt1Ack)   // "ct1 received", no chunk
	TypeCt1      = MessageType(payloadCt1)      // a chunk of ct1
	TypeCt2      = MessageType(payloadCt2)      // a chunk of ct2 || ciphertext MAC
)

// String is the type's short name: none, hdr, ek, ek+ct1-ack, ct1-ack,
// ct1, ct2.
func (t MessageType) String() string { return payloadType(t).String() }

// Sizes of the data the braid sends in chunks, one chunk per message: any
// Size/ChunkSize distinct chunks rebuild it.
const (
	HeaderDataSize    = headerMsgSize // ML-KEM-768 header (64) || header MAC (32)
	KeyVectorDataSize = keyVectorSize // the encapsulation key vector
	Ct1DataSize       = ct1Size       // the first ciphertext half
	Ct2DataSize       = ct2MsgSize    // ct2 (128) || ciphertext MAC (32)
)

// Info is one pq_ratchet field, decoded.
type Info struct {
	// Epoch is the sender's braid epoch. The message key, if any, comes
	// from the SPQR chain of epoch Epoch-1.
	Epoch uint64
	// Index is the sender's chain index: the key is the Index-th of its
	// sending chain in that epoch; 0 means the message uses no SPQR key.
	Index uint32
	Type  MessageType
	// HasChunk is set for the types that carry a chunk.
	HasChunk   bool
	ChunkIndex uint16
	Chunk      [ChunkSize]byte
	// Data names what the chunk is a piece of ("header", "key vector",
	// "ct1", "ct2"), DataSize is its size in bytes; empty and 0 for a
	// type without a chunk.
	Data     string
	DataSize int
}

// Describe decodes the pq_ratchet field of a SignalMessage, strictly as
// Recv parses it. Empty data (no SPQR) and versions other than 1 are
// errors.
func Describe(b []byte) (Info, error) {
	m, err := parseMessage(b)
	if err != nil {
		return Info{}, err
	}
	return m.info(), nil
}

func (m *message) info() Info {
	in := Info{Epoch: m.epoch, Index: m.index, Type: MessageType(m.typ), HasChunk: m.typ.hasChunk()}
	if !in.HasChunk {
		return in
	}
	in.ChunkIndex, in.Chunk = m.chunkIndex, m.chunk
	switch m.typ {
	case payloadHeader:
		in.Data, in.DataSize = "header", headerMsgSize
	case payloadEK, payloadEKCt1Ack:
		in.Data, in.DataSize = "key vector", keyVectorSize
	case payloadCt1:
		in.Data, in.DataSize = "ct1", ct1Size
	case payloadCt2:
		in.Data, in.DataSize = "ct2", ct2MsgSize
	}
	return in
}

// Phase is the braid's state, by its name in the ML-KEM Braid
// specification: KeysUnsampled, KeysSampled, HeaderSent, Ct1Received,
// EkSentCt1Received (the send_ek role: this side sends an encapsulation
// key), NoHeaderReceived, HeaderReceived, Ct1Sampled, EkReceivedCt1Sampled,
// Ct1Acknowledged, Ct2Sampled (the send_ct role: this side encapsulates).
// It is "off" when SPQR is off.
func (s State) Phase() string {
	if s.live == nil {
		return "off"
	}
	return s.braid.phase.String()
}

var phaseNames = [...]string{
	keysUnsampled:        "KeysUnsampled",
	keysSampled:          "KeysSampled",
	headerSent:           "HeaderSent",
	ct1Received:          "Ct1Received",
	ekSentCt1Received:    "EkSentCt1Received",
	noHeaderReceived:     "NoHeaderReceived",
	headerReceived:       "HeaderReceived",
	ct1Sampled:           "Ct1Sampled",
	ekReceivedCt1Sampled: "EkReceivedCt1Sampled",
	ct1Acknowledged:      "Ct1Acknowledged",
	ct2Sampled:           "Ct2Sampled",
}

func (p phase) String() string {
	if p >= keysUnsampled && p <= maxPhase {
		return phaseNames[p]
	}
	return fmt.Sprintf("phase(%d)", uint8(p))
}

// Trace receives copies of what one Send or Recv computed, for the
// teaching labs that print them. The traced calls run exactly the code of
// Send and Recv; only the copies are extra. Secrets held in a Trace are not
// cleared: never trace a real session.
type Trace struct {
	// Message is the SPQR message sent or received. It stays zero when no
	// version-1 data was sent or received (SPQR off, or negotiated down).
	Message Info
	// HasKey is set when the call returned a key; KeyEpoch and KeyIndex
	// are its place in the SPQR chain: epoch, and index in the sender's
	// chain of that epoch.
	HasKey   bool
	KeyEpoch uint64
	KeyIndex uint32
	// Epoch is set when the call produced an epoch's secret: on the
	// send_ct side when it sends the first chunk of ct1 (Encaps1), on the
	// send_ek side when the last chunk of ct2 arrives (Decaps).
	Epoch *EpochTrace
}

// EpochTrace is one side's view of an epoch's key agreement.
type EpochTrace struct {
	Epoch uint64
	// KEMSecret is the ML-KEM-768 shared secret K.
	KEMSecret [32]byte
	// Secret is KDFEpochSecret(Epoch, KEMSecret): what the epoch adds to
	// the SPQR chain (KDFChainAddEpoch) and to the authenticator.
	Secret [32]byte
}

// String redacts the secrets.
func (e EpochTrace) String() string {
	return fmt.Sprintf("spqr.EpochTrace{Epoch:%d REDACTED}", e.Epoch)
}

// GoString redacts the secrets.
func (e EpochTrace) GoString() string { return e.String() }

// Format redacts the secrets for every verb.
func (e EpochTrace) Format(f fmt.State, _ rune) { fmt.Fprint(f, e.String()) }

// SendTraced is Send, recording into tr.
func (s State) SendTraced(rand io.Reader, tr *Trace) (State, []byte, *[32]byte, error) {
	*tr = Trace{}
	return s.send(rand, tr)
}

// RecvTraced is Recv, recording into tr.
func (s State) RecvTraced(data []byte, tr *Trace) (State, *[32]byte, error) {
	*tr = Trace{}
	return s.recv(data, tr)
}

// record fills tr, when there is one, from a call's message, epoch key and
// returned key.
func (tr *Trace) record(m *message, ek *epochKey, key *[32]byte) {
	if tr == nil {
		return
	}
	tr.Message = m.info()
	if key != nil {
		tr.HasKey, tr.KeyEpoch, tr.KeyIndex = true, m.epoch-1, m.index
	}
	if ek != nil {
		e := &EpochTrace{Epoch: ek.epoch}
		copy(e.KEMSecret[:], ek.kem)
		copy(e.Secret[:], ek.secret)
		tr.Epoch = e
	}
}

// KDFEpochSecret is an epoch's secret from its ML-KEM shared secret K
// (ML-KEM Braid, "Key derivation"):
//
//	HKDF-SHA256(salt = 32 zero bytes, ikm = K,
//	            info = "Signal_PQCKA_V1_MLKEM768:SCKA Key" || BE64(epoch)) -> 32 bytes
func KDFEpochSecret(epoch uint64, kemSecret [32]byte) [32]byte {
	return [32]byte(epochSecret(epoch, kemSecret[:]))
}

// KDFChainStart is the SPQR chain of epoch 0, from the PQR key of PQXDH
// (the auth key of Params):
//
//	HKDF-SHA256(salt = 32 zero bytes, ikm = auth key,
//	            info = "Signal PQ Ratchet V1 Chain  Start") -> 96 bytes
//	= next root || A-to-B chain key || B-to-A chain key
func KDFChainStart(authKey [32]byte) (root, aToB, bToA [32]byte) {
	var gen [96]byte
	kdf(gen[:], zeroSalt[:], authKey[:], []byte(labelChainStart))
	return split96(&gen)
}

// KDFChainAddEpoch is the SPQR chain of a new epoch, from the previous
// next root and the epoch's secret:
//
//	HKDF-SHA256(salt = next root, ikm = epoch secret,
//	            info = "Signal PQ Ratchet V1 Chain Add Epoch") -> 96 bytes
//	= next root || A-to-B chain key || B-to-A chain key
func KDFChainAddEpoch(root, secret [32]byte) (nextRoot, aToB, bToA [32]byte) {
	var gen [96]byte
	kdf(gen[:], root[:], secret[:], []byte(labelChainAdd))
	return split96(&gen)
}

// KDFChainNext is one step of a sending or receiving SPQR chain: the key
// with index counter (1 for the first) and the chain key after it,
//
//	HKDF-SHA256(salt = 32 zero bytes, ikm = chain key,
//	            info = BE32(counter) || "Signal PQ Ratchet V1 Chain Next") -> 64 bytes
//	= next chain key || message key
//
// The message key is the salt of the Double Ratchet's message keys.
func KDFChainNext(chainKey [32]byte, counter uint32) (next, key [32]byte) {
	var info [maxInfo]byte
	var gen [64]byte
	kdf(gen[:], zeroSalt[:], chainKey[:], append(binary.BigEndian.AppendUint32(info[:0], counter), labelChainNext...))
	next, key = [32]byte(gen[:32]), [32]byte(gen[32:])
	clear(gen[:])
	return next, key
}

func split96(gen *[96]byte) (a, b, c [32]byte) {
	a, b, c = [32]byte(gen[:32]), [32]byte(gen[32:64]), [32]byte(gen[64:96])
	clear(gen[:])
	return a, b, c
}
