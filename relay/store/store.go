// Package store keeps what the blindpost relay must remember: accounts and
// their devices, public prekeys, and the queues of envelopes waiting for
// their recipients. Store is the interface the relay uses; Bolt implements
// it on an embedded go.etcd.io/bbolt file, and another engine (a
// distributed one) can implement it later.
//
// Nothing here can hold a private key or plaintext: the records carry
// public keys, salted hashes of secrets and opaque ciphertext. The records
// and their fields are listed in storepb/store.proto and docs/relay.md; a
// test fails if a new field appears in one but not the other.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/blindpost/blindpost/identity"
)

// Errors that callers branch on. Each refusal leaves the store unchanged.
var (
	ErrNotFound = errors.New("store: not found")
	// ErrIdentityMismatch: the name is bound to another identity key and
	// the registration is not an identity change against that key.
	ErrIdentityMismatch = errors.New("store: name is bound to another identity key")
	ErrTooManyDevices   = errors.New("store: device limit reached")
	ErrQueueFull        = errors.New("store: recipient queue is full")
	ErrClosed           = errors.New("store: closed")
	ErrReadOnly         = errors.New("store: opened read-only")
)

// Address names one device of one account.
type Address struct {
	Name   string
	Device uint32
}

// SecretHash is a salted hash of a device or recovery secret; the relay
// never stores the secret itself.
type SecretHash struct {
	Salt [16]byte
	Sum  [32]byte
}

// Account is an account's registration as stored.
type Account struct {
	Name            string
	IdentityKey     identity.PublicKey
	Created         time.Time
	IdentityChanged time.Time // zero until the first identity change
	Recovery        *SecretHash
	Devices         []Device
}

// Device is one registered device of an account.
type Device struct {
	ID             uint32
	RegistrationID uint32
	Secret         *SecretHash
	Created        time.Time
	// LastSeen is the day (UTC midnight) the device last authenticated:
	// the relay keeps no finer record of presence.
	LastSeen time.Time
}

// Device returns the account's device with the given id.
func (a *Account) Device(id uint32) (Device, bool) {
	for _, d := range a.Devices {
		if d.ID == id {
			return d, true
		}
	}
	return Device{}, false
}

// Registration is one registration request, already authenticated by the
// caller: the registrant proved possession of IdentityKey, and for an
// identity change, authority over the key Previous.
type Registration struct {
	Name           string
	IdentityKey    identity.PublicKey
	Device         uint32
	RegistrationID uint32
	Secret         *SecretHash // nil: the device authenticates by signature only
	Recovery       *SecretHash // nil: keep (same key) or clear (identity change)
	// Change rebinds an existing name to IdentityKey. The store applies it
	// only if the name is still bound to Previous.
	Change   bool
	Previous identity.PublicKey
	Time     time.Time
}

// RegisterResult says what a registration did. Notified lists the devices
// that were sent an identity-change notice.
type RegisterResult struct {
	Created         bool
	IdentityChanged bool
	Notified        []Address
}

// IdentityChange is one recorded rebinding of a name.
type IdentityChange struct {
	Old, New identity.PublicKey
	Time     time.Time
}

// SignedPreKey is a device's public signed prekey.
type SignedPreKey struct {
	ID        uint32
	Key       identity.PublicKey
	Signature [identity.SignatureSize]byte
}

// PreKey is a public one-time prekey.
type PreKey struct {
	ID  uint32
	Key identity.PublicKey
}

// KEMPreKey is a public KEM prekey: a serialized Kyber1024 key and its
// signature by the identity key.
type KEMPreKey struct {
	ID        uint32
	Key       []byte
	Signature [identity.SignatureSize]byte
}

// PreKeyUpload replaces a device's public prekeys: each non-empty field
// replaces what the store held for it.
type PreKeyUpload struct {
	Signed        *SignedPreKey
	PreKeys       []PreKey
	KEMPreKeys    []KEMPreKey
	KEMLastResort *KEMPreKey
}

// size is about how many bytes the upload writes, for the committer's
// bound on a batch: key and signature bytes.
func (u PreKeyUpload) size() int {
	n := len(u.PreKeys) * identity.PublicKeySize
	if u.Signed != nil {
		n += identity.PublicKeySize + identity.SignatureSize
	}
	for _, k := range u.KEMPreKeys {
		n += len(k.Key) + identity.SignatureSize
	}
	if u.KEMLastResort != nil {
		n += len(u.KEMLastResort.Key) + identity.SignatureSize
	}
	return n
}

// DeviceBundle is what a bundle fetch hands out for one device. PreKey is
// nil when none is left; KEM is a one-time key, or the last-resort key
// when KEMLastResort is set, or nil when the device uploaded neither.
type DeviceBundle struct {
	Device         uint32
	RegistrationID uint32
	Signed         SignedPreKey
	PreKey         *PreKey
	KEM            *KEMPreKey
	KEMLastResort  bool
}

// Bundle is the prekey bundle of an account.
type Bundle struct {
	IdentityKey identity.PublicKey
	Devices     []DeviceBundle
}

// PreKeyCounts tells a device what it has left on the relay.
type PreKeyCounts struct {
	PreKeys, KEMPreKeys         int
	SignedPreKey, KEMLastResort bool
}

// Kind is the kind of an envelope.
type Kind uint32

// Envelope kinds; the values are those of relaypb.EnvelopeKind.
const (
	KindMessage        Kind = 1
	KindIdentityChange Kind = 2
)

// Envelope is one queued delivery. Content is opaque ciphertext.
type Envelope struct {
	ID          uint64 // assigned by Enqueue, unique within the recipient's queue
	Kind        Kind
	Sender      Address
	Recipient   Address
	Type        uint32
	Content     []byte
	ServerTime  time.Time
	IdentityKey identity.PublicKey // KindIdentityChange only
}

// Store is what the relay needs from storage. Every method that changes
// state returns only once the change is durable. Implementations must be
// safe for concurrent use.
type Store interface {
	// Register applies a registration; see Registration. It returns
	// ErrIdentityMismatch or ErrTooManyDevices and changes nothing when
	// the registration is refused.
	Register(ctx context.Context, r Registration) (RegisterResult, error)
	// Account returns an account and its devices, or ErrNotFound.
	Account(ctx context.Context, name string) (Account, error)
	// Touch records that a device was seen on the given day.
	Touch(ctx context.Context, addr Address, day time.Time) error

	// UploadPreKeys stores a device's public prekeys.
	UploadPreKeys(ctx context.Context, addr Address, u PreKeyUpload) error
	// TakeBundle returns the bundle of target's device (0: all devices),
	// deleting every one-time prekey it hands out, so that each is handed
	// out once even under concurrent calls. It records requester and
	// target as contacts.
	TakeBundle(ctx context.Context, requester string, target string, device uint32) (Bundle, error)
	// PreKeyCounts counts a device's remaining prekeys.
	PreKeyCounts(ctx context.Context, addr Address) (PreKeyCounts, error)

	// Enqueue stores an envelope for its recipient and returns its id;
	// ErrNotFound if the recipient device does not exist, ErrQueueFull at
	// the queue cap. Sender and recipient are recorded as contacts.
	Enqueue(ctx context.Context, e Envelope) (uint64, error)
	// Pending returns up to limit envelopes of addr's queue with ids above
	// after, in id order, leaving out those stored before notBefore.
	Pending(ctx context.Context, addr Address, after uint64, limit int, notBefore time.Time) ([]Envelope, error)
	// Ack deletes envelopes from addr's queue; unknown ids are ignored.
	Ack(ctx context.Context, addr Address, ids []uint64) error
	// Expire deletes up to limit envelopes stored before the given time
	// and returns how many it deleted.
	Expire(ctx context.Context, before time.Time, limit int) (int, error)

	Close() error
}

// Reader is the read-only view of everything the relay holds about an
// account, for an operator's export.
type Reader interface {
	Accounts(ctx context.Context) ([]string, error)
	Account(ctx context.Context, name string) (Account, error)
	PreKeyCounts(ctx context.Context, addr Address) (PreKeyCounts, error)
	KEMPreKeys(ctx context.Context, addr Address) ([]KEMPreKey, error)
	Pending(ctx context.Context, addr Address, after uint64, limit int, notBefore time.Time) ([]Envelope, error)
	Contacts(ctx context.Context, name string) ([]string, error)
	IdentityChanges(ctx context.Context, name string) ([]IdentityChange, error)
	Close() error
}
