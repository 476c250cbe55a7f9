package session

import (
	"maps"
	"sync"

	"github.com/blindpost/blindpost/identity"
	"github.com/blindpost/blindpost/kem"
)

// MemoryStore is a Store held in memory, safe for concurrent use. It trusts
// on first use: the first identity key committed for an address is trusted
// until Approve names another.
type MemoryStore struct {
	mu         sync.Mutex
	identity   identity.IdentityKeyPair
	regID      uint32
	records    map[Address]Record
	identities map[Address]identity.PublicKey
	signed     map[uint32]identity.SignedPreKey
	prekeys    map[uint32]identity.PreKey
	kyber      map[uint32]kyberEntry
}

// kyberEntry is a stored Kyber prekey and whether it survives use.
type kyberEntry struct {
	key        kem.PreKey
	lastResort bool
}

var _ Store = (*MemoryStore)(nil)

// NewMemoryStore returns an empty store for the given local identity.
func NewMemoryStore(ik identity.IdentityKeyPair, registrationID uint32) *MemoryStore {
	return &MemoryStore{
		identity:   ik,
		regID:      registrationID,
		records:    map[Address]Record{},
		identities: map[Address]identity.PublicKey{},
		signed:     map[uint32]identity.SignedPreKey{},
		prekeys:    map[uint32]identity.PreKey{},
		kyber:      map[uint32]kyberEntry{},
	}
}

// LocalIdentity implements Store.
func (s *MemoryStore) LocalIdentity() (identity.IdentityKeyPair, uint32, error) {
	return s.identity, s.regID, nil
}

// Record implements Store.
func (s *MemoryStore) Record(addr Address) (Record, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.records[addr]
	return r, ok, nil
}

// TrustedIdentity implements Store.
func (s *MemoryStore) TrustedIdentity(addr Address) (identity.PublicKey, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.identities[addr]
	return k, ok, nil
}

// SignedPreKey implements Store.
func (s *MemoryStore) SignedPreKey(id uint32) (identity.SignedPreKey, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.signed[id]
	return k, ok, nil
}

// PreKey implements Store.
func (s *MemoryStore) PreKey(id uint32) (identity.PreKey, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.prekeys[id]
	return k, ok, nil
}

// KyberPreKey implements Store.
func (s *MemoryStore) KyberPreKey(id uint32) (kem.PreKey, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.kyber[id]
	return e.key, ok, nil
}

// Commit implements Store. It cannot fail, so it is trivially atomic.
func (s *MemoryStore) Commit(c Commit) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.records[c.Address] = c.Record
	s.identities[c.Address] = c.Identity
	if c.HasUsedPreKey {
		delete(s.prekeys, c.UsedPreKey)
	}
	if e, ok := s.kyber[c.UsedKyberPreKey]; c.HasUsedKyberPreKey && ok && !e.lastResort {
		delete(s.kyber, c.UsedKyberPreKey)
	}
	return nil
}

// AddSignedPreKey stores a signed prekey.
func (s *MemoryStore) AddSignedPreKey(k identity.SignedPreKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.signed[k.ID] = k
}

// AddPreKey stores a one-time prekey.
func (s *MemoryStore) AddPreKey(k identity.PreKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.prekeys[k.ID] = k
}

// AddKyberPreKey stores a Kyber prekey: a one-time key, deleted by the
// Commit of the session that uses it, or, with lastResort, a key that stays
// usable until replaced (PQXDH's PQSPK_B, used when no one-time Kyber
// prekey is left).
func (s *MemoryStore) AddKyberPreKey(k kem.PreKey, lastResort bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.kyber[k.ID] = kyberEntry{key: k, lastResort: lastResort}
}

// Approve trusts key for addr from now on, replacing any earlier key.
func (s *MemoryStore) Approve(addr Address, key identity.PublicKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.identities[addr] = key
}

// Snapshot returns a copy of the stored records, for tests that check that
// a failed operation changed nothing.
func (s *MemoryStore) Snapshot() map[Address]Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.records)
}
