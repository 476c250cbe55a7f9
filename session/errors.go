package session

import (
	"errors"

	"github.com/blindpost/blindpost/ratchet"
	"github.com/blindpost/blindpost/x3dh"
)

// Errors callers branch on (errors.Is). Anything else is a store failure or
// an internal error.
var (
	// ErrDuplicate: the message was already decrypted.
	ErrDuplicate = ratchet.ErrDuplicate
	// ErrInvalidMessage: malformed, unauthenticated, of the wrong version,
	// or too far ahead.
	ErrInvalidMessage = ratchet.ErrInvalidMessage
	// ErrBadSignature: a bundle's signed prekey signature does not verify.
	ErrBadSignature = x3dh.ErrBadSignature
	// ErrUntrustedIdentity: the remote's identity key differs from the one
	// trusted for its address.
	ErrUntrustedIdentity = errors.New("session: untrusted identity")
	// ErrNoSession: no usable session with the remote.
	ErrNoSession = errors.New("session: no session")
	// ErrInvalidPreKeyID: a PreKeySignalMessage names a prekey we do not
	// hold (never had it, or already used it).
	ErrInvalidPreKeyID = errors.New("session: invalid prekey id")
)
