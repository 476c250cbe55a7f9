// Package wire holds the two ciphertext messages of the Signal protocol in
// libsignal's byte layout: SignalMessage and PreKeySignalMessage. It parses
// strictly and keeps the exact bytes received, so that the MAC is checked
// over what arrived and never over a re-encoding.
//
// The package knows nothing of keys beyond their encoding; the ratchet
// computes and checks the MAC.
package wire

// Specification constants: libsignal's wire format (rust/protocol/src/
// protocol.rs and proto/wire.proto).
const (
	// VersionX3DH is the session version of classic X3DH sessions.
	VersionX3DH = 3
	// VersionPQXDH is the session version of PQXDH sessions.
	VersionPQXDH = 4

	// MACSize is the length of the truncated HMAC-SHA256 that ends a
	// SignalMessage.
	MACSize = 8

	// TypeSignal and TypePreKey are the ciphertext message types
	// (libsignal's CiphertextMessageType Whisper = 2, PreKey = 3).
	TypeSignal = 2
	TypePreKey = 3

	// AddressesSize is the length of the optional addresses field: sender
	// service id (17) || sender device (1) || recipient service id (17) ||
	// recipient device (1).
	AddressesSize = 36
)

// SignalMessage protobuf field numbers.
const (
	fieldRatchetKey      = 1
	fieldCounter         = 2
	fieldPreviousCounter = 3
	fieldCiphertext      = 4
	fieldPQRatchet       = 5
	fieldAddresses       = 6
)

// PreKeySignalMessage protobuf field numbers.
const (
	fieldPreKeyID        = 1
	fieldBaseKey         = 2
	fieldIdentityKey     = 3
	fieldMessage         = 4
	fieldRegistrationID  = 5
	fieldSignedPreKeyID  = 6
	fieldKyberPreKeyID   = 7
	fieldKyberCiphertext = 8
)

// Implementation constants.
const (
	// MaxMessageSize bounds a serialized message before it is parsed. The
	// relay caps message content at 96 KiB; 256 KiB leaves room for any
	// peer's framing without letting input size the parser's allocations.
	MaxMessageSize = 256 << 10
)
