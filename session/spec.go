// Package session runs Signal sessions as libsignal does: it starts them
// from bundles (X3DH), answers PreKeySignalMessages, keeps a record of the
// current and archived Double Ratchet states per remote, and encrypts and
// decrypts libsignal's two ciphertext message types.
//
// Every operation reads what it needs from a Store, computes on copies,
// and hands the Store one Commit at the end. A message that fails for any
// reason produces no Commit, so nothing stored changes.
package session

import "time"

// Implementation constants: libsignal's (rust/protocol/src/consts.rs).
const (
	// MaxArchivedStates bounds the archived states kept per remote. Archived
	// states let late messages of a replaced session (after simultaneous
	// initiation or a re-key) still decrypt; each costs up to a full state.
	MaxArchivedStates = 40
	// MaxUnacknowledgedSessionAge: an initiator that never hears back stops
	// sending on a session after this long, so that a stale prekey message
	// is not sent forever.
	MaxUnacknowledgedSessionAge = 30 * 24 * time.Hour
)
