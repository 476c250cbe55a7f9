// Package protocol holds what the blindpost relay and its clients must agree
// on beyond the protobuf frames of proto/relay.proto: the exact bytes an
// identity key signs to authenticate, the rules for account names and
// device ids, and the accepted key encodings.
//
// The package is pure: no I/O, no clock, no randomness.
package protocol

// Protocol constants: both ends must use the same values.
const (
	// ChallengeSize is the length of the per-connection nonce the relay
	// sends first and a signature must cover.
	ChallengeSize = 32

	// SecretSize is the length of a device secret and of a recovery
	// secret. Secrets must be this long so that they carry full entropy:
	// the relay then needs only a salted hash, not a slow password hash.
	SecretSize = 32

	// MaxNameLength bounds account names, which appear in every database
	// key of the account.
	MaxNameLength = 64

	// MinDeviceID and MaxDeviceID bound device ids, as Signal does (1 is
	// the primary device).
	MinDeviceID = 1
	MaxDeviceID = 127

	// MinRegistrationID and MaxRegistrationID bound registration ids as
	// libsignal generates them.
	MinRegistrationID = 1
	MaxRegistrationID = 16380

	// KEMKeyTypeKyber1024 is the type byte of a serialized Kyber1024
	// public key, and KEMPublicKeySize the full serialized length.
	KEMKeyTypeKyber1024 = 0x08
	KEMPublicKeySize    = 1 + 1568
)

// Labels that open each signed transcript. Each names one purpose, so a
// signature made for one can never be presented for another.
const (
	labelAuthenticate   = "blindpost relay v1 authenticate"
	labelRegister       = "blindpost relay v1 register"
	labelIdentityChange = "blindpost relay v1 identity change"
)
