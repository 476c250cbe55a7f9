// Package identity holds Curve25519 keys as the Signal protocol uses them:
// identity key pairs, signed and one-time prekeys, XEdDSA signatures and
// X25519 agreement, with libsignal's serialization.
//
// The package is pure: no I/O, no clock, no logging. Randomness enters only
// through the Generate* functions and the io.Reader given to Sign.
package identity

// Specification constants (Signal XEdDSA and VXEdDSA, revision 1; X3DH §2.1;
// RFC 7748).
const (
	// KeyTypeDJB is the type byte that prefixes a serialized Curve25519
	// public key ("DJB" keys in libsignal): 0x05 || u.
	KeyTypeDJB = 0x05

	// PublicKeySize is the length of a Curve25519 u-coordinate.
	PublicKeySize = 32
	// SerializedPublicKeySize is the type byte plus the u-coordinate.
	SerializedPublicKeySize = 1 + PublicKeySize
	// PrivateKeySize is the length of a (clamped) Curve25519 scalar.
	PrivateKeySize = 32
	// SignatureSize is the length of an XEdDSA signature: R || s.
	SignatureSize = 64
	// SharedSecretSize is the length of an X25519 output.
	SharedSecretSize = 32
	// xeddsaRandomSize is the length of the random Z in XEdDSA sign.
	xeddsaRandomSize = 64
)

// hash1Prefix is the XEdDSA domain separator for hash_1: the little-endian
// encoding of 2^256 - 1 - 1, i.e. 0xFE followed by 31 bytes of 0xFF
// ("hash_i(X) = hash(2^b - 1 - i || X)", XEdDSA §2.5).
var hash1Prefix = [32]byte{
	0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
	0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
	0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
	0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
}

// Implementation constants.
const (
	// MaxRegistrationID bounds registration ids as libsignal generates them
	// (1..16380); the value travels in 14 bits on some Signal wires.
	MaxRegistrationID = 16380
)
