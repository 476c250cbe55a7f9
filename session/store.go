package session

import (
	"fmt"

	"github.com/blindpost/blindpost/identity"
	"github.com/blindpost/blindpost/kem"
)

// Address names one device of a remote: libsignal's ProtocolAddress.
type Address struct {
	Name     string
	DeviceID uint32
}

// String is "name.device", as libsignal prints addresses.
func (a Address) String() string { return fmt.Sprintf("%s.%d", a.Name, a.DeviceID) }

// Store is what the session layer reads, and the one place it writes.
//
// Loads may return the store's own values: the session layer never changes
// what it loads. Commit must apply all of its parts or none.
type Store interface {
	// LocalIdentity returns our identity key pair and registration id.
	LocalIdentity() (identity.IdentityKeyPair, uint32, error)
	// Record returns the session record for addr, or ok = false.
	Record(addr Address) (rec Record, ok bool, err error)
	// TrustedIdentity returns the identity key trusted for addr, or
	// ok = false when none is known yet (trust on first use).
	TrustedIdentity(addr Address) (key identity.PublicKey, ok bool, err error)
	// SignedPreKey and PreKey return our prekeys by id, or ok = false.
	SignedPreKey(id uint32) (spk identity.SignedPreKey, ok bool, err error)
	PreKey(id uint32) (pk identity.PreKey, ok bool, err error)
	// KyberPreKey returns our Kyber prekey by id (one-time or last
	// resort), or ok = false.
	KyberPreKey(id uint32) (kpk kem.PreKey, ok bool, err error)
	// Commit applies the outcome of one operation atomically.
	Commit(c Commit) error
}

// Commit is the outcome of one successful operation.
type Commit struct {
	Address Address
	// Record replaces the session record for Address.
	Record Record
	// Identity is the remote identity key to remember as trusted for
	// Address (trust on first use, or the same key again).
	Identity identity.PublicKey
	// UsedPreKey is the one-time prekey to delete, when HasUsedPreKey.
	UsedPreKey    uint32
	HasUsedPreKey bool
	// UsedKyberPreKey is the Kyber prekey a new PQXDH session used, when
	// HasUsedKyberPreKey: the store deletes it if it is a one-time key and
	// keeps it if it is a last-resort key.
	UsedKyberPreKey    uint32
	HasUsedKyberPreKey bool
}
