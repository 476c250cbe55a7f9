package wire

import (
	"errors"
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/blindpost/blindpost/identity"
)

// ErrMalformed is wrapped by every parse error.
var ErrMalformed = errors.New("wire: malformed message")

// ErrVersion is wrapped when the version byte names an unknown version.
var ErrVersion = errors.New("wire: unsupported message version")

// SignalMessage is a Double Ratchet message:
//
//	version (1) || protobuf || MAC (8)
//
// The version byte's high nibble is the session version (3 or 4), its low
// nibble the sender's current version; receivers check only the high nibble.
type SignalMessage struct {
	Version         byte // the whole version byte as sent
	RatchetKey      identity.PublicKey
	Counter         uint32
	PreviousCounter uint32
	Ciphertext      []byte
	PQRatchet       []byte // SPQR data (field 5), empty for version 3
	Addresses       []byte // optional sender/recipient binding (field 6)
	MAC             [MACSize]byte

	// raw is the exact serialization (as received, or as built).
	raw []byte
}

// SessionVersion is the high nibble of the version byte.
func (m *SignalMessage) SessionVersion() int { return int(m.Version >> 4) }

// Bytes returns the serialized message: the bytes as received for a parsed
// message, or as built by Seal.
func (m *SignalMessage) Bytes() []byte { return m.raw }

// MACInput returns the authenticated part of the serialization: the
// version byte and protobuf, as received.
func (m *SignalMessage) MACInput() []byte { return m.raw[:len(m.raw)-MACSize] }

// VersionByte returns the byte blindpost sends for a session version:
// 0x33 for version 3 (accepted by every libsignal generation) and 0x44 for
// version 4.
func VersionByte(sessionVersion int) byte {
	return byte(sessionVersion<<4 | sessionVersion)
}

// EncodeUnsigned serializes everything but the MAC: version byte and
// protobuf, fields in field-number order as libsignal writes them. The
// caller computes the MAC over the result and passes both to Seal.
func (m *SignalMessage) EncodeUnsigned() []byte {
	b := make([]byte, 0, 1+2+identity.SerializedPublicKeySize+12+3+len(m.Ciphertext)+len(m.PQRatchet)+len(m.Addresses)+8+MACSize)
	b = append(b, m.Version)
	b = appendBytes(b, fieldRatchetKey, m.RatchetKey.Bytes())
	b = appendUint(b, fieldCounter, m.Counter)
	b = appendUint(b, fieldPreviousCounter, m.PreviousCounter)
	b = appendBytes(b, fieldCiphertext, m.Ciphertext)
	if len(m.PQRatchet) > 0 {
		b = appendBytes(b, fieldPQRatchet, m.PQRatchet)
	}
	if len(m.Addresses) > 0 {
		b = appendBytes(b, fieldAddresses, m.Addresses)
	}
	return b
}

// Seal completes a message built with EncodeUnsigned by appending the MAC;
// Bytes then returns the full serialization.
func (m *SignalMessage) Seal(unsigned []byte, mac [MACSize]byte) {
	m.MAC = mac
	m.raw = append(unsigned, mac[:]...)
}

// ParseSignalMessage parses a serialized SignalMessage strictly: a known
// version, required fields present with their exact wire types, a 33-byte
// ratchet key of type 0x05, and no trailing garbage inside the protobuf.
// Unknown fields are skipped, as protobuf requires. The message keeps b.
func ParseSignalMessage(b []byte) (*SignalMessage, error) {
	if len(b) < 1+MACSize {
		return nil, fmt.Errorf("%w: %d bytes is too short for a signal message", ErrMalformed, len(b))
	}
	if len(b) > MaxMessageSize {
		return nil, fmt.Errorf("%w: %d bytes is too long", ErrMalformed, len(b))
	}
	if err := checkVersion(b[0]); err != nil {
		return nil, err
	}
	m := &SignalMessage{Version: b[0], raw: b}
	copy(m.MAC[:], b[len(b)-MACSize:])
	var seen fieldSet
	err := walk(b[1:len(b)-MACSize], func(num protowire.Number, typ protowire.Type, v []byte, n uint64) error {
		switch num {
		case fieldRatchetKey:
			k, err := bytesField(typ, v, &seen, num)
			if err != nil {
				return err
			}
			m.RatchetKey, err = identity.ParsePublicKey(k)
			return err
		case fieldCounter:
			return uint32Field(typ, n, &seen, num, &m.Counter)
		case fieldPreviousCounter:
			return uint32Field(typ, n, &seen, num, &m.PreviousCounter)
		case fieldCiphertext:
			c, err := bytesField(typ, v, &seen, num)
			m.Ciphertext = c
			return err
		case fieldPQRatchet:
			p, err := bytesField(typ, v, &seen, num)
			m.PQRatchet = p
			return err
		case fieldAddresses:
			a, err := bytesField(typ, v, &seen, num)
			if err == nil && len(a) != AddressesSize {
				err = fmt.Errorf("addresses field has %d bytes, want %d", len(a), AddressesSize)
			}
			m.Addresses = a
			return err
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w: signal message: %w", ErrMalformed, err)
	}
	for _, f := range []protowire.Number{fieldRatchetKey, fieldCounter, fieldCiphertext} {
		if !seen.has(f) {
			return nil, fmt.Errorf("%w: signal message: field %d missing", ErrMalformed, f)
		}
	}
	return m, nil
}

func checkVersion(v byte) error {
	switch v >> 4 {
	case VersionX3DH, VersionPQXDH:
		return nil
	}
	return fmt.Errorf("%w: 0x%02x", ErrVersion, v)
}

// PreKeySignalMessage starts a session: it carries what the responder needs
// to run X3DH (or PQXDH) and the first SignalMessage. It has no MAC of its
// own; the embedded SignalMessage's MAC covers the session it creates.
//
//	version (1) || protobuf
type PreKeySignalMessage struct {
	Version         byte
	RegistrationID  uint32
	PreKeyID        uint32 // valid when HasPreKeyID
	HasPreKeyID     bool
	SignedPreKeyID  uint32
	KyberPreKeyID   uint32 // valid when KyberCiphertext is set
	KyberCiphertext []byte
	BaseKey         identity.PublicKey
	IdentityKey     identity.PublicKey
	Message         *SignalMessage

	raw []byte
}

// SessionVersion is the high nibble of the version byte.
func (m *PreKeySignalMessage) SessionVersion() int { return int(m.Version >> 4) }

// Bytes returns the serialization as received or as built by Encode.
func (m *PreKeySignalMessage) Bytes() []byte { return m.raw }

// Encode serializes the message (fields in field-number order) and
// returns the bytes; Bytes returns them too from then on.
func (m *PreKeySignalMessage) Encode() []byte {
	inner := m.Message.Bytes()
	b := make([]byte, 0, 1+6+2*(2+identity.SerializedPublicKeySize)+4+len(inner)+12+len(m.KyberCiphertext)+8)
	b = append(b, m.Version)
	if m.HasPreKeyID {
		b = appendUint(b, fieldPreKeyID, m.PreKeyID)
	}
	b = appendBytes(b, fieldBaseKey, m.BaseKey.Bytes())
	b = appendBytes(b, fieldIdentityKey, m.IdentityKey.Bytes())
	b = appendBytes(b, fieldMessage, inner)
	b = appendUint(b, fieldRegistrationID, m.RegistrationID)
	b = appendUint(b, fieldSignedPreKeyID, m.SignedPreKeyID)
	if m.KyberCiphertext != nil {
		b = appendUint(b, fieldKyberPreKeyID, m.KyberPreKeyID)
		b = appendBytes(b, fieldKyberCiphertext, m.KyberCiphertext)
	}
	m.raw = b
	return b
}

// ParsePreKeySignalMessage parses a serialized PreKeySignalMessage
// strictly, including the embedded SignalMessage, whose version must match.
// Version 4 requires the Kyber fields; version 3 refuses them. Both Kyber
// fields are present or neither is.
func ParsePreKeySignalMessage(b []byte) (*PreKeySignalMessage, error) {
	if len(b) < 2 {
		return nil, fmt.Errorf("%w: %d bytes is too short for a prekey message", ErrMalformed, len(b))
	}
	if len(b) > MaxMessageSize {
		return nil, fmt.Errorf("%w: %d bytes is too long", ErrMalformed, len(b))
	}
	if err := checkVersion(b[0]); err != nil {
		return nil, err
	}
	m := &PreKeySignalMessage{Version: b[0], raw: b}
	var seen fieldSet
	var inner []byte
	err := walk(b[1:], func(num protowire.Number, typ protowire.Type, v []byte, n uint64) error {
		var err error
		switch num {
		case fieldPreKeyID:
			m.HasPreKeyID = true
			return uint32Field(typ, n, &seen, num, &m.PreKeyID)
		case fieldBaseKey:
			return keyField(typ, v, &seen, num, &m.BaseKey)
		case fieldIdentityKey:
			return keyField(typ, v, &seen, num, &m.IdentityKey)
		case fieldMessage:
			inner, err = bytesField(typ, v, &seen, num)
			return err
		case fieldRegistrationID:
			return uint32Field(typ, n, &seen, num, &m.RegistrationID)
		case fieldSignedPreKeyID:
			return uint32Field(typ, n, &seen, num, &m.SignedPreKeyID)
		case fieldKyberPreKeyID:
			return uint32Field(typ, n, &seen, num, &m.KyberPreKeyID)
		case fieldKyberCiphertext:
			m.KyberCiphertext, err = bytesField(typ, v, &seen, num)
			if err == nil && m.KyberCiphertext == nil {
				m.KyberCiphertext = []byte{}
			}
			return err
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w: prekey message: %w", ErrMalformed, err)
	}
	for _, f := range []protowire.Number{fieldBaseKey, fieldIdentityKey, fieldMessage, fieldSignedPreKeyID} {
		if !seen.has(f) {
			return nil, fmt.Errorf("%w: prekey message: field %d missing", ErrMalformed, f)
		}
	}
	if seen.has(fieldKyberPreKeyID) != seen.has(fieldKyberCiphertext) {
		return nil, fmt.Errorf("%w: prekey message: kyber id and ciphertext must come together", ErrMalformed)
	}
	hasKyber := seen.has(fieldKyberCiphertext)
	if v := m.SessionVersion(); (v >= VersionPQXDH) != hasKyber {
		return nil, fmt.Errorf("%w: prekey message: version %d with kyber fields %t", ErrMalformed, v, hasKyber)
	}
	if m.Message, err = ParseSignalMessage(inner); err != nil {
		return nil, fmt.Errorf("wire: prekey message: embedded: %w", err)
	}
	if m.Message.SessionVersion() != m.SessionVersion() {
		return nil, fmt.Errorf("%w: prekey message version %d wraps a version %d message", ErrMalformed, m.SessionVersion(), m.Message.SessionVersion())
	}
	return m, nil
}
