package session

import (
	"crypto/subtle"
	"fmt"
	"slices"

	"github.com/blindpost/blindpost/identity"
	"github.com/blindpost/blindpost/ratchet"
)

// State is one session with a remote: its Double Ratchet plus what the
// session layer needs around it.
type State struct {
	Ratchet ratchet.State
	// BaseKey is the initiator's base (ephemeral) key: it names the session,
	// so a re-delivered PreKeySignalMessage finds the session it created.
	BaseKey              identity.PublicKey
	LocalRegistrationID  uint32
	RemoteRegistrationID uint32
	// Pending is set on the initiator until the first reply arrives: every
	// message is then wrapped in a PreKeySignalMessage.
	Pending *PendingPreKey
}

// PendingPreKey is what the initiator repeats in each PreKeySignalMessage.
type PendingPreKey struct {
	PreKeyID       uint32
	HasPreKeyID    bool
	SignedPreKeyID uint32
	BaseKey        identity.PublicKey
	// CreatedMillis is when the session was started (Unix milliseconds).
	CreatedMillis int64
	// Kyber fields, for version 4 sessions.
	HasKyber        bool
	KyberPreKeyID   uint32
	KyberCiphertext []byte
}

// Record is everything kept about one remote: the current state and up to
// MaxArchivedStates previous ones, newest first.
//
// Record is handled as a value: its methods return a new Record and never
// change the one they are called on, so a Store may hand out the record it
// holds.
type Record struct {
	Current  *State
	Previous []State
}

// promote makes s the current state, archiving the old current one.
func (r Record) promote(s State) Record {
	if r.Current != nil {
		old := *r.Current
		old.Pending = nil // an archived state never starts a new session
		r.Previous = slices.Insert(slices.Clone(r.Previous), 0, old)
		if len(r.Previous) > MaxArchivedStates {
			r.Previous = r.Previous[:MaxArchivedStates]
		}
	}
	r.Current = &s
	return r
}

// promoteArchived replaces archived state i by s and makes it current.
func (r Record) promoteArchived(i int, s State) Record {
	r.Previous = slices.Delete(slices.Clone(r.Previous), i, i+1)
	return r.promote(s)
}

// withCurrent replaces the current state.
func (r Record) withCurrent(s State) Record {
	r.Current = &s
	return r
}

// findBaseKey returns the state started by base key k at the given
// version: -1 for the current state, its archive index, or ok = false.
func (r Record) findBaseKey(version int, k identity.PublicKey) (int, bool) {
	match := func(s *State) bool {
		return s.Ratchet.Version == version && subtle.ConstantTimeCompare(s.BaseKey[:], k[:]) == 1
	}
	if r.Current != nil && match(r.Current) {
		return -1, true
	}
	for i := range r.Previous {
		if match(&r.Previous[i]) {
			return i, true
		}
	}
	return 0, false
}

// String describes the record without secrets.
func (r Record) String() string {
	cur := "none"
	if r.Current != nil {
		cur = r.Current.Ratchet.String()
	}
	return fmt.Sprintf("session.Record{Current:%s Previous:%d}", cur, len(r.Previous))
}
