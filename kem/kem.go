package kem

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"

	"github.com/cloudflare/circl/kem/kyber/kyber1024"
)

// The sizes above are CIRCL's: a mismatch does not compile.
var (
	_ = [1]struct{}{}[PublicKeySize-kyber1024.PublicKeySize]
	_ = [1]struct{}{}[PrivateKeySize-kyber1024.PrivateKeySize]
	_ = [1]struct{}{}[CiphertextSize-kyber1024.CiphertextSize]
	_ = [1]struct{}{}[SharedSecretSize-kyber1024.SharedKeySize]
	_ = [1]struct{}{}[SeedSize-kyber1024.KeySeedSize]
	_ = [1]struct{}{}[EncapsulationSeedSize-kyber1024.EncapsulationSeedSize]
)

// PublicKey is a packed Kyber1024 public key. On the wire it is prefixed
// with KeyTypeKyber1024.
type PublicKey [PublicKeySize]byte

// PrivateKey is a packed Kyber1024.CCAKEM private key. It redacts itself
// when formatted.
type PrivateKey [PrivateKeySize]byte

// KeyPair is a Kyber1024 key pair: a Kyber prekey of PQXDH.
type KeyPair struct {
	Public  PublicKey
	Private PrivateKey
}

// Ciphertext is an encapsulation to a public key. On the wire it is
// prefixed with KeyTypeKyber1024.
type Ciphertext [CiphertextSize]byte

// SharedSecret is the 32-byte secret a Ciphertext carries. It redacts
// itself when formatted.
type SharedSecret [SharedSecretSize]byte

// Errors returned by the parsers. Callers that only need to know that
// input was bad can treat them alike.
var (
	ErrBadKeyType          = errors.New("kem: type byte is not 0x08 (Kyber1024)")
	ErrBadKeyLength        = errors.New("kem: public key has the wrong length")
	ErrBadCiphertextLength = errors.New("kem: ciphertext has the wrong length")
)

// ParsePublicKey parses a serialized public key: exactly 1569 bytes, the
// type byte 0x08 then the packed key. Any other type byte is refused,
// including the other KEMs libsignal knows (0x07 Kyber768, 0x0A ML-KEM-1024)
// and a Curve25519 key (0x05) in a KEM position.
func ParsePublicKey(b []byte) (PublicKey, error) {
	var k PublicKey
	if err := checkType(b); err != nil {
		return k, err
	}
	if len(b) != SerializedPublicKeySize {
		return k, fmt.Errorf("%w: %d bytes, want %d", ErrBadKeyLength, len(b), SerializedPublicKeySize)
	}
	copy(k[:], b[1:])
	return k, nil
}

// ParseCiphertext parses a serialized ciphertext: exactly 1569 bytes, the
// type byte 0x08 then the ciphertext.
func ParseCiphertext(b []byte) (Ciphertext, error) {
	var c Ciphertext
	if err := checkType(b); err != nil {
		return c, err
	}
	if len(b) != SerializedCiphertextSize {
		return c, fmt.Errorf("%w: %d bytes, want %d", ErrBadCiphertextLength, len(b), SerializedCiphertextSize)
	}
	copy(c[:], b[1:])
	return c, nil
}

// checkType refuses an empty input or a type byte other than 0x08, naming
// the type when libsignal knows it.
func checkType(b []byte) error {
	if len(b) == 0 {
		return fmt.Errorf("%w: empty input", ErrBadKeyType)
	}
	switch t := b[0]; t {
	case KeyTypeKyber1024:
		return nil
	case keyTypeKyber768:
		return fmt.Errorf("%w: 0x%02x is Kyber768", ErrBadKeyType, t)
	case keyTypeMLKEM1024:
		return fmt.Errorf("%w: 0x%02x is ML-KEM-1024 (FIPS 203)", ErrBadKeyType, t)
	case 0x05:
		return fmt.Errorf("%w: 0x05 is a Curve25519 key", ErrBadKeyType)
	default:
		return fmt.Errorf("%w: 0x%02x", ErrBadKeyType, t)
	}
}

// Bytes returns the 1569-byte serialization 0x08 || key.
func (k PublicKey) Bytes() []byte { return prefixed(k[:]) }

// Bytes returns the 1569-byte serialization 0x08 || ciphertext.
func (c Ciphertext) Bytes() []byte { return prefixed(c[:]) }

func prefixed(b []byte) []byte {
	out := make([]byte, 1+len(b))
	out[0] = KeyTypeKyber1024
	copy(out[1:], b)
	return out
}

// GenerateKeyPair returns a fresh key pair from SeedSize bytes read from
// rand: the same bytes give the same key pair.
func GenerateKeyPair(rand io.Reader) (KeyPair, error) {
	var seed [SeedSize]byte
	if _, err := io.ReadFull(rand, seed[:]); err != nil {
		return KeyPair{}, fmt.Errorf("kem: generate key pair: %w", err)
	}
	kp := NewKeyPair(seed)
	clear(seed[:])
	return kp, nil
}

// NewKeyPair derives a key pair from its seed d || z (Kyber round 3,
// Algorithm 7, CCAKEM.KeyGen, with the randomness given).
func NewKeyPair(seed [SeedSize]byte) KeyPair {
	pk, sk := kyber1024.NewKeyFromSeed(seed[:])
	var kp KeyPair
	pk.Pack(kp.Public[:])
	sk.Pack(kp.Private[:])
	return kp
}

// Encapsulate returns a ciphertext for k and the shared secret it carries,
// reading EncapsulationSeedSize bytes from rand (Kyber round 3,
// Algorithm 8, CCAKEM.Enc).
//
// The caller owns the returned secret and should clear it after use.
func (k PublicKey) Encapsulate(rand io.Reader) (Ciphertext, SharedSecret, error) {
	var seed [EncapsulationSeedSize]byte
	if _, err := io.ReadFull(rand, seed[:]); err != nil {
		return Ciphertext{}, SharedSecret{}, fmt.Errorf("kem: encapsulate: %w", err)
	}
	ct, ss := k.encapsulate(seed)
	clear(seed[:])
	return ct, ss, nil
}

// encapsulate is CCAKEM.Enc with the message seed m given.
func (k PublicKey) encapsulate(seed [EncapsulationSeedSize]byte) (Ciphertext, SharedSecret) {
	var pk kyber1024.PublicKey
	pk.Unpack(k[:])
	var ct Ciphertext
	var ss SharedSecret
	pk.EncapsulateTo(ct[:], ss[:], seed[:])
	return ct, ss
}

// Decapsulate returns the shared secret ct carries (Kyber round 3,
// Algorithm 9, CCAKEM.Dec). It never fails: a ciphertext that was not made
// for this key, or was changed on the way, gives a pseudorandom secret
// derived from the key's z ("implicit rejection"), which then fails the
// first MAC check of the session built on it.
//
// The caller owns the returned secret and should clear it after use.
func (k PrivateKey) Decapsulate(ct Ciphertext) SharedSecret {
	var sk kyber1024.PrivateKey
	sk.Unpack(k[:])
	var ss SharedSecret
	sk.DecapsulateTo(ss[:], ct[:])
	// CIRCL's unpacked key holds copies of the secret; Go gives no way to
	// clear them (they are behind unexported pointers) beyond dropping them
	// to the garbage collector.
	return ss
}

// Decapsulate is k.Private.Decapsulate.
func (k KeyPair) Decapsulate(ct Ciphertext) SharedSecret { return k.Private.Decapsulate(ct) }

// String identifies the key by the first bytes of its SHA-256, as the key
// itself is 1568 bytes long.
func (k PublicKey) String() string {
	h := sha256.Sum256(k[:])
	return fmt.Sprintf("kem.PublicKey{sha256:%x}", h[:8])
}

// String identifies the ciphertext by the first bytes of its SHA-256.
func (c Ciphertext) String() string {
	h := sha256.Sum256(c[:])
	return fmt.Sprintf("kem.Ciphertext{sha256:%x}", h[:8])
}

// String redacts the private key.
func (PrivateKey) String() string { return "kem.PrivateKey(REDACTED)" }

// GoString redacts the private key.
func (k PrivateKey) GoString() string { return k.String() }

// Format redacts the private key for every verb.
func (k PrivateKey) Format(f fmt.State, _ rune) { fmt.Fprint(f, k.String()) }

// String redacts the shared secret.
func (SharedSecret) String() string { return "kem.SharedSecret(REDACTED)" }

// GoString redacts the shared secret.
func (s SharedSecret) GoString() string { return s.String() }

// Format redacts the shared secret for every verb.
func (s SharedSecret) Format(f fmt.State, _ rune) { fmt.Fprint(f, s.String()) }

// String shows the public half only.
func (k KeyPair) String() string { return "kem.KeyPair{Public:" + k.Public.String() + "}" }

// GoString shows the public half only.
func (k KeyPair) GoString() string { return k.String() }

// Format shows the public half only, for every verb.
func (k KeyPair) Format(f fmt.State, _ rune) { fmt.Fprint(f, k.String()) }
