package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"

	"go.mau.fi/libsignal/keys/identity"
	"go.mau.fi/libsignal/protocol"
	"go.mau.fi/libsignal/serialize"
	"go.mau.fi/libsignal/state/record"
	"go.mau.fi/libsignal/state/store"
)

// memStore holds one peer's state for the library: its identity, the identities it trusts, its
// sessions and its prekeys.
//
// It behaves like a persistent store. Records are kept serialized; every load deserializes a fresh
// copy and every store serializes what it is given. The library changes the loaded session record
// while it decrypts, before it has checked the MAC, and writes it back only on success; with copies,
// a decryption that fails before that write leaves the stored session untouched. (The library's own
// test store hands out the live record, so there one forged message changes the session for good.)
// Nothing else about the library's behaviour is corrected here.
type memStore struct {
	identityKeyPair *identity.KeyPair
	registrationID  uint32
	serializer      *serialize.Serializer

	trusted       map[addressKey][]byte // serialized identity key (0x05 || 32 bytes) per remote
	sessions      map[addressKey][]byte // serialized record.Session
	preKeys       map[uint32][]byte     // serialized record.PreKey
	signedPreKeys map[uint32][]byte     // serialized record.SignedPreKey
}

var (
	_ store.IdentityKey  = (*memStore)(nil)
	_ store.Session      = (*memStore)(nil)
	_ store.PreKey       = (*memStore)(nil)
	_ store.SignedPreKey = (*memStore)(nil)
)

// addressKey is a remote device as a map key.
type addressKey struct {
	name     string
	deviceID uint32
}

func keyOf(a *protocol.SignalAddress) addressKey {
	return addressKey{name: a.Name(), deviceID: a.DeviceID()}
}

func newMemStore(identityKeyPair *identity.KeyPair, registrationID uint32, serializer *serialize.Serializer) *memStore {
	return &memStore{
		identityKeyPair: identityKeyPair,
		registrationID:  registrationID,
		serializer:      serializer,
		trusted:         make(map[addressKey][]byte),
		sessions:        make(map[addressKey][]byte),
		preKeys:         make(map[uint32][]byte),
		signedPreKeys:   make(map[uint32][]byte),
	}
}

// errEmptyRecord reports a record the library serialized to nothing: its serializers log encoding
// errors and return what they have.
var errEmptyRecord = errors.New("record serialized to no bytes")

// --- store.IdentityKey ---

func (s *memStore) GetIdentityKeyPair() *identity.KeyPair { return s.identityKeyPair }

func (s *memStore) GetLocalRegistrationID() uint32 { return s.registrationID }

// SaveIdentity records identityKey as the trusted key of address. The library calls it only after
// IsTrustedIdentity has accepted the key.
func (s *memStore) SaveIdentity(_ context.Context, address *protocol.SignalAddress, identityKey *identity.Key) error {
	s.trusted[keyOf(address)] = bytes.Clone(identityKey.Serialize())
	return nil
}

// IsTrustedIdentity implements trust on first use: a remote with no recorded key is trusted, and
// afterwards only the recorded key is.
func (s *memStore) IsTrustedIdentity(_ context.Context, address *protocol.SignalAddress, identityKey *identity.Key) (bool, error) {
	known, ok := s.trusted[keyOf(address)]
	return !ok || bytes.Equal(known, identityKey.Serialize()), nil
}

// trustedIdentity returns the recorded identity key of a remote, serialized, or nil.
func (s *memStore) trustedIdentity(a addressKey) []byte { return s.trusted[a] }

// approveIdentity makes key (serialized) the trusted identity key of a remote.
func (s *memStore) approveIdentity(a addressKey, key []byte) { s.trusted[a] = bytes.Clone(key) }

// --- store.Session ---

// LoadSession returns a fresh copy of the stored session record, or a new empty ("fresh") record if
// there is none; the library expects the latter.
func (s *memStore) LoadSession(_ context.Context, address *protocol.SignalAddress) (*record.Session, error) {
	serialized, ok := s.sessions[keyOf(address)]
	if !ok {
		return record.NewSession(s.serializer.Session, s.serializer.State), nil
	}
	r, err := record.NewSessionFromBytes(serialized, s.serializer.Session, s.serializer.State)
	if err != nil {
		return nil, fmt.Errorf("store: load session %s: %w", address, err)
	}
	return r, nil
}

// GetSubDeviceSessions lists the device ids other than 1 that have a session with name.
func (s *memStore) GetSubDeviceSessions(_ context.Context, name string) ([]uint32, error) {
	var ids []uint32
	for a := range s.sessions {
		if a.name == name && a.deviceID != 1 {
			ids = append(ids, a.deviceID)
		}
	}
	slices.Sort(ids)
	return ids, nil
}

func (s *memStore) StoreSession(_ context.Context, address *protocol.SignalAddress, r *record.Session) error {
	serialized := r.Serialize()
	if len(serialized) == 0 {
		return fmt.Errorf("store: save session %s: %w", address, errEmptyRecord)
	}
	s.sessions[keyOf(address)] = serialized
	return nil
}

func (s *memStore) ContainsSession(_ context.Context, address *protocol.SignalAddress) (bool, error) {
	_, ok := s.sessions[keyOf(address)]
	return ok, nil
}

func (s *memStore) DeleteSession(_ context.Context, address *protocol.SignalAddress) error {
	delete(s.sessions, keyOf(address))
	return nil
}

func (s *memStore) DeleteAllSessions(context.Context) error {
	clear(s.sessions)
	return nil
}

// --- store.PreKey ---

// LoadPreKey returns a fresh copy of a one-time prekey, or nil if it is not held; the library turns
// nil into signalerror.ErrNoOneTimeKeyFound.
func (s *memStore) LoadPreKey(_ context.Context, id uint32) (*record.PreKey, error) {
	serialized, ok := s.preKeys[id]
	if !ok {
		return nil, nil
	}
	r, err := record.NewPreKeyFromBytes(serialized, s.serializer.PreKeyRecord)
	if err != nil {
		return nil, fmt.Errorf("store: load prekey %d: %w", id, err)
	}
	return r, nil
}

func (s *memStore) StorePreKey(_ context.Context, id uint32, r *record.PreKey) error {
	serialized := r.Serialize()
	if len(serialized) == 0 {
		return fmt.Errorf("store: save prekey %d: %w", id, errEmptyRecord)
	}
	s.preKeys[id] = serialized
	return nil
}

func (s *memStore) ContainsPreKey(_ context.Context, id uint32) (bool, error) {
	_, ok := s.preKeys[id]
	return ok, nil
}

// RemovePreKey deletes a one-time prekey; the library calls it after the first message that used it
// has decrypted.
func (s *memStore) RemovePreKey(_ context.Context, id uint32) error {
	delete(s.preKeys, id)
	return nil
}

// --- store.SignedPreKey ---

// LoadSignedPreKey returns a fresh copy of a signed prekey, or nil if it is not held; the library
// turns nil into signalerror.ErrNoSignedPreKey.
func (s *memStore) LoadSignedPreKey(_ context.Context, id uint32) (*record.SignedPreKey, error) {
	serialized, ok := s.signedPreKeys[id]
	if !ok {
		return nil, nil
	}
	r, err := record.NewSignedPreKeyFromBytes(serialized, s.serializer.SignedPreKeyRecord)
	if err != nil {
		return nil, fmt.Errorf("store: load signed prekey %d: %w", id, err)
	}
	return r, nil
}

// LoadSignedPreKeys returns fresh copies of all signed prekeys, in id order.
func (s *memStore) LoadSignedPreKeys(ctx context.Context) ([]*record.SignedPreKey, error) {
	ids := make([]uint32, 0, len(s.signedPreKeys))
	for id := range s.signedPreKeys {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	records := make([]*record.SignedPreKey, 0, len(ids))
	for _, id := range ids {
		r, err := s.LoadSignedPreKey(ctx, id)
		if err != nil {
			return nil, err
		}
		records = append(records, r)
	}
	return records, nil
}

func (s *memStore) StoreSignedPreKey(_ context.Context, id uint32, r *record.SignedPreKey) error {
	serialized := r.Serialize()
	if len(serialized) == 0 {
		return fmt.Errorf("store: save signed prekey %d: %w", id, errEmptyRecord)
	}
	s.signedPreKeys[id] = serialized
	return nil
}

func (s *memStore) ContainsSignedPreKey(_ context.Context, id uint32) (bool, error) {
	_, ok := s.signedPreKeys[id]
	return ok, nil
}

func (s *memStore) RemoveSignedPreKey(_ context.Context, id uint32) error {
	delete(s.signedPreKeys, id)
	return nil
}
