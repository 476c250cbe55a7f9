package protocol

import (
	"errors"
	"fmt"
)

// Errors for input that breaks the rules below.
var (
	ErrBadName   = errors.New("protocol: bad account name")
	ErrBadDevice = errors.New("protocol: device id out of range")
	ErrBadRegID  = errors.New("protocol: registration id out of range")
	ErrBadKEMKey = errors.New("protocol: bad KEM public key")
	ErrBadSecret = errors.New("protocol: secret is not 32 bytes")
	ErrBadNonce  = errors.New("protocol: nonce is not 32 bytes")
)

// CheckName accepts 1 to MaxNameLength bytes of lowercase ASCII letters,
// digits, '.', '_' and '-'. The set is small on purpose: no two names look
// alike, UUIDs fit, and no name contains the 0x00 that separates the parts
// of a database key.
func CheckName(name string) error {
	if len(name) == 0 || len(name) > MaxNameLength {
		return fmt.Errorf("%w: length %d", ErrBadName, len(name))
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '.', c == '_', c == '-':
		default:
			return fmt.Errorf("%w: byte %d is not allowed", ErrBadName, i)
		}
	}
	return nil
}

// CheckDevice accepts device ids MinDeviceID..MaxDeviceID.
func CheckDevice(id uint32) error {
	if id < MinDeviceID || id > MaxDeviceID {
		return fmt.Errorf("%w: %d", ErrBadDevice, id)
	}
	return nil
}

// CheckRegistrationID accepts MinRegistrationID..MaxRegistrationID.
func CheckRegistrationID(id uint32) error {
	if id < MinRegistrationID || id > MaxRegistrationID {
		return fmt.Errorf("%w: %d", ErrBadRegID, id)
	}
	return nil
}

// CheckKEMPublicKey accepts a serialized Kyber1024 public key: the type
// byte 0x08 and 1568 bytes, the only KEM key libsignal clients accept.
func CheckKEMPublicKey(b []byte) error {
	if len(b) != KEMPublicKeySize || b[0] != KEMKeyTypeKyber1024 {
		return fmt.Errorf("%w: %d bytes", ErrBadKEMKey, len(b))
	}
	return nil
}

// CheckSecret accepts a device or recovery secret of exactly SecretSize
// bytes.
func CheckSecret(b []byte) error {
	if len(b) != SecretSize {
		return ErrBadSecret
	}
	return nil
}

// CheckNonce accepts a challenge nonce of exactly ChallengeSize bytes.
func CheckNonce(b []byte) error {
	if len(b) != ChallengeSize {
		return ErrBadNonce
	}
	return nil
}
