package identity

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
)

// PublicKey is a Curve25519 public key: the 32-byte little-endian
// u-coordinate. On the wire it is prefixed with KeyTypeDJB.
type PublicKey [PublicKeySize]byte

// PrivateKey is a clamped Curve25519 scalar. It redacts itself when
// formatted.
type PrivateKey [PrivateKeySize]byte

// KeyPair is a Curve25519 key pair used for agreement (prekeys, ratchet
// keys, base keys). Identity keys use IdentityKeyPair, which can also sign.
type KeyPair struct {
	Public  PublicKey
	Private PrivateKey
}

// Errors returned when parsing or using public keys. Callers that only need
// to know that input was bad can treat them all alike.
var (
	ErrBadKeyType     = errors.New("identity: public key type is not 0x05")
	ErrBadKeyLength   = errors.New("identity: public key has the wrong length")
	ErrNonCanonical   = errors.New("identity: public key is not canonically encoded")
	ErrLowOrder       = errors.New("identity: agreement with a low-order point")
	ErrNotTorsionFree = errors.New("identity: public key has a torsion component")
)

// ParsePublicKey parses a serialized public key: exactly 33 bytes, the type
// byte 0x05 then the u-coordinate. Unlike libsignal it refuses trailing
// bytes: no honest implementation sends them.
func ParsePublicKey(b []byte) (PublicKey, error) {
	var k PublicKey
	if len(b) != SerializedPublicKeySize {
		return k, fmt.Errorf("%w: %d bytes", ErrBadKeyLength, len(b))
	}
	if b[0] != KeyTypeDJB {
		return k, fmt.Errorf("%w: 0x%02x", ErrBadKeyType, b[0])
	}
	copy(k[:], b[1:])
	return k, nil
}

// Bytes returns the 33-byte serialization 0x05 || u.
func (k PublicKey) Bytes() []byte {
	b := make([]byte, SerializedPublicKeySize)
	b[0] = KeyTypeDJB
	copy(b[1:], k[:])
	return b
}

// Equal reports whether two public keys are the same, in constant time.
func (k PublicKey) Equal(o PublicKey) bool {
	return subtle.ConstantTimeCompare(k[:], o[:]) == 1
}

// String returns the key in hex, as it is public.
func (k PublicKey) String() string { return fmt.Sprintf("%x", k[:]) }

// IsCanonical reports whether u is a canonical encoding: the high bit clear
// and u < 2^255 - 19. X25519 ignores the high bit and reduces u, so a
// non-canonical encoding names the same point as another key would.
func (k PublicKey) IsCanonical() bool {
	if k[31]&0x80 != 0 {
		return false
	}
	// u >= p iff the top 247 bits are all ones and the low byte >= 0xED.
	if k[31] != 0x7F || k[0] < 0xED {
		return true
	}
	for _, b := range k[1:31] {
		if b != 0xFF {
			return true
		}
	}
	return false
}

// GenerateKeyPair returns a fresh key pair read from rand.
func GenerateKeyPair(rand io.Reader) (KeyPair, error) {
	var seed [PrivateKeySize]byte
	if _, err := io.ReadFull(rand, seed[:]); err != nil {
		return KeyPair{}, fmt.Errorf("identity: generate key pair: %w", err)
	}
	kp, err := NewKeyPair(seed)
	clear(seed[:])
	return kp, err
}

// NewKeyPair derives a key pair from 32 bytes of private key material. The
// scalar is clamped as RFC 7748 §5 does, so the stored private key is the
// one libsignal would store.
func NewKeyPair(private [PrivateKeySize]byte) (KeyPair, error) {
	priv := clamp(private)
	return KeyPair{Public: basepointMul(&priv), Private: priv}, nil
}

func clamp(k [PrivateKeySize]byte) PrivateKey {
	k[0] &= 248
	k[31] &= 127
	k[31] |= 64
	return PrivateKey(k)
}

// DH computes X25519(private, public) (RFC 7748 §5), as the specifications'
// DH(PK1, PK2). It refuses a non-canonical encoding of the peer's key and an
// all-zero output (a low-order peer key, RFC 7748 §6.1).
//
// The caller owns the returned secret and should clear it after use.
func (k KeyPair) DH(peer PublicKey) ([SharedSecretSize]byte, error) {
	return k.Private.DH(peer)
}

// DH computes X25519(k, peer); see KeyPair.DH.
func (k PrivateKey) DH(peer PublicKey) ([SharedSecretSize]byte, error) {
	if !peer.IsCanonical() {
		return [SharedSecretSize]byte{}, ErrNonCanonical
	}
	out, ok := x25519(&k, &peer)
	if !ok {
		// A low-order peer key (RFC 7748 §6.1).
		return out, ErrLowOrder
	}
	return out, nil
}

// String redacts the private key.
func (PrivateKey) String() string { return "identity.PrivateKey(REDACTED)" }

// GoString redacts the private key.
func (k PrivateKey) GoString() string { return k.String() }

// Format redacts the private key for every verb.
func (k PrivateKey) Format(f fmt.State, _ rune) { fmt.Fprint(f, k.String()) }

// String shows the public half only.
func (k KeyPair) String() string { return "identity.KeyPair{Public:" + k.Public.String() + "}" }

// GoString shows the public half only.
func (k KeyPair) GoString() string { return k.String() }

// Format shows the public half only, for every verb.
func (k KeyPair) Format(f fmt.State, _ rune) { fmt.Fprint(f, k.String()) }
