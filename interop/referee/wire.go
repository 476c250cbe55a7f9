package referee

import (
	"errors"
	"fmt"
	"math/rand/v2"

	"google.golang.org/protobuf/encoding/protowire"
)

// Wire layout of the two ciphertext messages (libsignal.md, "Message framing"):
//
//	SignalMessage       = version || protobuf || mac[8]
//	PreKeySignalMessage = version || protobuf            (no outer MAC)
//
// The referee only locates fields, so that it can flip bits in place and
// read the SPQR data (spqr.go) and addresses (names.go) a sender put in; it
// never re-marshals a message.

// Specification constants: protobuf field numbers and sizes.
const (
	macSize = 8

	signalRatchetKey      protowire.Number = 1
	signalCounter         protowire.Number = 2
	signalPreviousCounter protowire.Number = 3
	signalCiphertext      protowire.Number = 4
	signalPQRatchet       protowire.Number = 5 // SPQR data, version 4 only
	signalAddresses       protowire.Number = 6 // libsignal >= 0.91, with service-id names

	preKeyBaseKey         protowire.Number = 2
	preKeyIdentityKey     protowire.Number = 3
	preKeyMessage         protowire.Number = 4
	preKeyKyberCiphertext protowire.Number = 8
)

// field is where one protobuf field's value sits inside a whole message.
type field struct {
	num        protowire.Number
	typ        protowire.Type
	start, end int // value bytes, without tag or length, as offsets into the whole message
}

// fields lists the fields of the protobuf b, which starts at offset base of
// the whole message.
func fields(b []byte, base int) ([]field, error) {
	var out []field
	for pos := 0; pos < len(b); {
		num, typ, n := protowire.ConsumeTag(b[pos:])
		if n < 0 {
			return nil, fmt.Errorf("bad tag at %d: %w", base+pos, protowire.ParseError(n))
		}
		pos += n
		m := protowire.ConsumeFieldValue(num, typ, b[pos:])
		if m < 0 {
			return nil, fmt.Errorf("bad field %d at %d: %w", num, base+pos, protowire.ParseError(m))
		}
		start, end := pos, pos+m
		if typ == protowire.BytesType {
			_, k := protowire.ConsumeVarint(b[pos:])
			start = pos + k
		}
		out = append(out, field{num: num, typ: typ, start: base + start, end: base + end})
		pos += m
	}
	return out, nil
}

func find(fs []field, num protowire.Number) (field, bool) {
	for _, f := range fs {
		if f.num == num {
			return f, true
		}
	}
	return field{}, false
}

// signalFields parses a SignalMessage that starts at offset base of msg and
// runs to its end.
func signalFields(msg []byte, base int) ([]field, error) {
	if len(msg)-base < 1+macSize {
		return nil, errors.New("signal message too short")
	}
	return fields(msg[base+1:len(msg)-macSize], base+1)
}

// preKeyFields parses a PreKeySignalMessage.
func preKeyFields(msg []byte) ([]field, error) {
	if len(msg) < 1 {
		return nil, errors.New("empty prekey message")
	}
	return fields(msg[1:], 1)
}

// embeddedSignal returns the offset and fields of the SignalMessage inside a
// PreKeySignalMessage; it ends where the prekey message's field 4 ends.
func embeddedSignal(msg []byte) (field, []field, error) {
	outer, err := preKeyFields(msg)
	if err != nil {
		return field{}, nil, err
	}
	inner, ok := find(outer, preKeyMessage)
	if !ok {
		return field{}, nil, errors.New("prekey message has no embedded message")
	}
	fs, err := signalFields(msg[:inner.end], inner.start)
	return inner, fs, err
}

// signalOf returns the fields of a ciphertext's SignalMessage: the whole
// message for type 2, the embedded one for type 3.
func signalOf(ct Ciphertext) ([]field, error) {
	switch ct.Type {
	case TypeSignal:
		return signalFields(ct.Bytes, 0)
	case TypePreKey:
		_, fs, err := embeddedSignal(ct.Bytes)
		return fs, err
	}
	return nil, fmt.Errorf("message type %d", ct.Type)
}

// extras is what a SignalMessage carries beyond the Double Ratchet fields.
type extras struct {
	spqr      spqrMessage
	hasSPQR   bool
	addresses []byte // nil when absent
}

// readExtras parses the pq_ratchet and addresses fields of a ciphertext's
// SignalMessage. Each may appear at most once, as a bytes field; the
// addresses are returned unchecked (see checkAddresses).
func readExtras(ct Ciphertext) (extras, error) {
	var x extras
	fs, err := signalOf(ct)
	if err != nil {
		return x, err
	}
	var seen [2]bool
	for _, f := range fs {
		if f.num != signalPQRatchet && f.num != signalAddresses {
			continue
		}
		i := int(f.num - signalPQRatchet)
		switch {
		case f.typ != protowire.BytesType:
			return x, fmt.Errorf("field %d has wire type %d, want bytes", f.num, f.typ)
		case seen[i]:
			return x, fmt.Errorf("field %d appears twice", f.num)
		}
		seen[i] = true
		value := ct.Bytes[f.start:f.end]
		if f.num == signalAddresses {
			x.addresses = append([]byte{}, value...)
			continue
		}
		if x.spqr, x.hasSPQR, err = parseSPQR(value); err != nil {
			return x, err
		}
	}
	return x, nil
}

// tamper is one single-bit change to an authenticated part of a message.
type tamper struct {
	what string
	// kinds are the error kinds a receiver may answer with; the first one
	// is what PEER.md asks for.
	kinds []string
	// apply returns a changed copy of msg, or false when msg lacks the part.
	apply func(msg []byte, rng *rand.Rand) ([]byte, bool)
}

// signalTampers lists the tampers of a SignalMessage (type 2). The SPQR
// data and the addresses are covered by the MAC like the other fields; a
// tamper of a field the message lacks does not apply.
func signalTampers() []tamper {
	at := func(msg []byte) ([]field, bool) {
		fs, err := signalFields(msg, 0)
		return fs, err == nil
	}
	return []tamper{
		{"version high nibble ^0x10", invalid(), flipVersion(0x10)},
		{"version high nibble ^0x40", invalid(), flipVersion(0x40)},
		{"ratchet key", invalid(), flipInKey(at, signalRatchetKey)},
		{"counter", invalid(), raiseVarint(at, signalCounter)},
		{"previous counter", invalid(), raiseVarint(at, signalPreviousCounter)},
		{"ciphertext", invalid(), flipInField(at, signalCiphertext)},
		{"pq_ratchet", invalid(), flipInField(at, signalPQRatchet)},
		{"addresses", invalid(), flipInField(at, signalAddresses)},
		{"mac", invalid(), flipInMAC(func([]byte) (int, bool) { return 0, true })},
	}
}

// preKeyTampers lists the tampers of a PreKeySignalMessage (type 3).
// sessionKnown says whether the receiver has already decrypted a message of
// this session, so that its one-time prekey is used up.
//
// Accepted kinds, per field:
//   - identity key: the receiver cannot tell a flipped identity key from a
//     new identity. If it already trusts the sender's key it refuses with
//     untrusted_identity before any decryption (libsignal checks trust
//     first); otherwise the key agreement differs and the MAC fails, which
//     is invalid_message. Both are accepted in both cases.
//   - base key: a flipped base key starts a different session. The first
//     time, the key agreement differs and the MAC fails: invalid_message
//     only. Once the real message has used up the one-time prekey, libsignal
//     looks that prekey up before deriving keys and answers invalid_key_id,
//     which PEER.md also allows ("or already used").
//   - kyber ciphertext: flipped only in the first message. Once the session
//     exists, libsignal finds it by base key and never decapsulates again,
//     so it leaves the field unauthenticated in later messages (seen with
//     0.72.1), which PEER.md does not count as tampering.
//   - everything else: invalid_message only.
func preKeyTampers(sessionKnown bool) []tamper {
	outer := func(msg []byte) ([]field, bool) {
		fs, err := preKeyFields(msg)
		return fs, err == nil
	}
	inner := func(msg []byte) ([]field, bool) {
		_, fs, err := embeddedSignal(msg)
		return fs, err == nil
	}
	innerStart := func(msg []byte) (int, bool) {
		f, _, err := embeddedSignal(msg)
		return f.start, err == nil
	}
	baseKinds := invalid()
	if sessionKnown {
		baseKinds = []string{KindInvalidMessage, KindInvalidKeyID}
	}
	ts := []tamper{
		{"version high nibble ^0x10", invalid(), flipVersion(0x10)},
		{"version high nibble ^0x40", invalid(), flipVersion(0x40)},
		{"base key", baseKinds, flipInKey(outer, preKeyBaseKey)},
		{"identity key", []string{KindInvalidMessage, KindUntrustedIdentity}, flipInKey(outer, preKeyIdentityKey)},
		{"embedded version high nibble", invalid(), flipEmbeddedVersion(innerStart)},
		{"embedded ratchet key", invalid(), flipInKey(inner, signalRatchetKey)},
		{"embedded ciphertext", invalid(), flipInField(inner, signalCiphertext)},
		{"embedded pq_ratchet", invalid(), flipInField(inner, signalPQRatchet)},
		{"embedded addresses", invalid(), flipInField(inner, signalAddresses)},
		{"embedded mac", invalid(), flipInMAC(innerStart)},
	}
	if !sessionKnown {
		ts = append(ts, tamper{"kyber ciphertext", invalid(), flipInKey(outer, preKeyKyberCiphertext)})
	}
	return ts
}

func invalid() []string { return []string{KindInvalidMessage} }

type locate func(msg []byte) ([]field, bool)

func flipped(msg []byte, i int, mask byte) []byte {
	out := append([]byte(nil), msg...)
	out[i] ^= mask
	return out
}

func flipVersion(mask byte) func([]byte, *rand.Rand) ([]byte, bool) {
	return func(msg []byte, _ *rand.Rand) ([]byte, bool) {
		if len(msg) == 0 {
			return nil, false
		}
		return flipped(msg, 0, mask), true
	}
}

func flipEmbeddedVersion(start func([]byte) (int, bool)) func([]byte, *rand.Rand) ([]byte, bool) {
	return func(msg []byte, _ *rand.Rand) ([]byte, bool) {
		i, ok := start(msg)
		if !ok {
			return nil, false
		}
		return flipped(msg, i, 0x10), true
	}
}

// flipInKey flips one bit of a typed key (type byte, then key bytes),
// leaving the type byte and the last byte alone: the type byte would make a
// different error, and the top bit of a Curve25519 u-coordinate is ignored.
func flipInKey(at locate, num protowire.Number) func([]byte, *rand.Rand) ([]byte, bool) {
	return func(msg []byte, rng *rand.Rand) ([]byte, bool) {
		fs, ok := at(msg)
		if !ok {
			return nil, false
		}
		f, ok := find(fs, num)
		if !ok || f.typ != protowire.BytesType || f.end-f.start < 3 {
			return nil, false
		}
		i := f.start + 1 + rng.IntN(f.end-f.start-2)
		return flipped(msg, i, 1<<rng.IntN(8)), true
	}
}

// flipInField flips one bit anywhere in a bytes field's value.
func flipInField(at locate, num protowire.Number) func([]byte, *rand.Rand) ([]byte, bool) {
	return func(msg []byte, rng *rand.Rand) ([]byte, bool) {
		fs, ok := at(msg)
		if !ok {
			return nil, false
		}
		f, ok := find(fs, num)
		if !ok || f.typ != protowire.BytesType || f.end == f.start {
			return nil, false
		}
		i := f.start + rng.IntN(f.end-f.start)
		return flipped(msg, i, 1<<rng.IntN(8)), true
	}
}

// raiseVarint sets the lowest clear payload bit of a varint field, so the
// value grows: a smaller counter could name a used-up key, which a receiver
// may rightly call a duplicate before checking the MAC.
func raiseVarint(at locate, num protowire.Number) func([]byte, *rand.Rand) ([]byte, bool) {
	return func(msg []byte, _ *rand.Rand) ([]byte, bool) {
		fs, ok := at(msg)
		if !ok {
			return nil, false
		}
		f, ok := find(fs, num)
		if !ok || f.typ != protowire.VarintType {
			return nil, false
		}
		for i := f.start; i < f.end; i++ {
			for bit := range 7 {
				if msg[i]&(1<<bit) == 0 {
					return flipped(msg, i, 1<<bit), true
				}
			}
		}
		return nil, false
	}
}

// flipInMAC flips one bit of the 8-byte MAC at the end of the SignalMessage
// that starts at the offset start returns (and ends with the message or with
// the enclosing field, which for an embedded message is the same place).
func flipInMAC(start func([]byte) (int, bool)) func([]byte, *rand.Rand) ([]byte, bool) {
	return func(msg []byte, rng *rand.Rand) ([]byte, bool) {
		s, ok := start(msg)
		if !ok {
			return nil, false
		}
		end := len(msg)
		if s > 0 {
			f, _, err := embeddedSignal(msg)
			if err != nil {
				return nil, false
			}
			end = f.end
		}
		if end-s < 1+macSize {
			return nil, false
		}
		i := end - macSize + rng.IntN(macSize)
		return flipped(msg, i, 1<<rng.IntN(8)), true
	}
}

// messageVersion is the high nibble of a message's version byte.
func messageVersion(msg []byte) int {
	if len(msg) == 0 {
		return 0
	}
	return int(msg[0] >> 4)
}
