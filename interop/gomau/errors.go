package main

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"unicode/utf8"

	"go.mau.fi/libsignal/signalerror"
)

// Error kinds of the peer contract.
const (
	kindDuplicate         = "duplicate"
	kindInvalidMessage    = "invalid_message"
	kindUntrustedIdentity = "untrusted_identity"
	kindNoSession         = "no_session"
	kindInvalidKeyID      = "invalid_key_id"
	kindUnsupported       = "unsupported"
	kindBadRequest        = "bad_request"
	kindOther             = "other"
)

// maxErrorMessage caps the message text of an error reply. Some library errors quote the whole
// input they failed on (bytehelper.SplitThree's "Input too small: " + input).
const maxErrorMessage = 300

// peerError is an error with a contract kind.
type peerError struct {
	kind string
	err  error
}

func (e *peerError) Error() string { return e.err.Error() }
func (e *peerError) Unwrap() error { return e.err }

// fail returns a peerError of the given kind with a formatted message.
func fail(kind, format string, args ...any) error {
	return &peerError{kind: kind, err: fmt.Errorf(format, args...)}
}

// classify wraps err in a peerError of the given kind unless it already has one.
func classify(kind string, err error) error {
	if pe := (*peerError)(nil); errors.As(err, &pe) {
		return err
	}
	return &peerError{kind: kind, err: err}
}

// kindOf returns the contract kind and the message of an error reply.
func kindOf(err error) (kind, message string) {
	kind = kindOther
	if pe := (*peerError)(nil); errors.As(err, &pe) {
		kind = pe.kind
	}
	message = strings.ToValidUTF8(err.Error(), "?")
	if len(message) > maxErrorMessage {
		cut := maxErrorMessage
		for cut > 0 && !utf8.RuneStart(message[cut]) {
			cut--
		}
		message = message[:cut] + "..."
	}
	return kind, message
}

// decryptErrorKind maps an error of the library's decryption path (parsing, session building from a
// PreKeySignalMessage, ratchet, MAC, CBC) to a contract kind, by the library's sentinel errors.
//
// Everything not named below is invalid_message. That covers the sentinels ErrNoValidSessions (which
// the library returns in place of the error of each session state it tried: bad MAC, too far into
// the future, wrong version, uninitialized session), ErrOldMessageVersion, ErrUnknownMessageVersion,
// ErrIncompleteMessage and ecc.ErrBadKeyType, and the errors without a sentinel (protobuf decoding,
// a message too short to split, CBC decryption): on this path the library works only on the
// untrusted message.
func decryptErrorKind(err error) string {
	switch {
	case errors.Is(err, signalerror.ErrOldCounter):
		// A counter behind the chain with no stored key: the message was already decrypted.
		return kindDuplicate
	case errors.Is(err, signalerror.ErrUntrustedIdentity):
		return kindUntrustedIdentity
	case errors.Is(err, signalerror.ErrNoSessionForUser):
		return kindNoSession
	case errors.Is(err, signalerror.ErrNoOneTimeKeyFound),
		errors.Is(err, signalerror.ErrNoSignedPreKey):
		// The PreKeySignalMessage names a one-time or signed prekey this peer does not hold.
		return kindInvalidKeyID
	default:
		return kindInvalidMessage
	}
}

// processBundleErrorKind maps an error of the library's session.Builder.ProcessBundle.
func processBundleErrorKind(err error) string {
	switch {
	case errors.Is(err, signalerror.ErrUntrustedIdentity):
		return kindUntrustedIdentity
	case errors.Is(err, signalerror.ErrInvalidSignature):
		return kindInvalidMessage
	case errors.Is(err, signalerror.ErrNoSignedPreKey):
		return kindBadRequest
	default:
		return kindOther
	}
}

// encryptErrorKind maps an error of the library's session.Cipher.Encrypt.
func encryptErrorKind(err error) string {
	if errors.Is(err, signalerror.ErrUntrustedIdentity) {
		return kindUntrustedIdentity
	}
	return kindOther
}

// libraryPanicSite names the innermost frame inside go.mau.fi/libsignal of the panic being
// recovered, as "path/File.go:line" relative to the module, or "" if there is none. It must be
// called from the deferred function that recovers, while the panicking frames are still on the stack.
func libraryPanicSite() string {
	pcs := make([]uintptr, 64)
	n := runtime.Callers(2, pcs)
	frames := runtime.CallersFrames(pcs[:n])
	const module = "go.mau.fi/libsignal@"
	for {
		f, more := frames.Next()
		if i := strings.Index(f.File, module); i >= 0 {
			file := f.File[i+len(module):]
			if j := strings.IndexByte(file, '/'); j >= 0 {
				file = file[j+1:]
			}
			return fmt.Sprintf("%s:%d", file, f.Line)
		}
		if !more {
			return ""
		}
	}
}
