package profile

import (
	"fmt"
	"io"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/blindpost/blindpost/identity"
)

// Account is who this profile is.
type Account struct {
	Name           string
	DeviceID       uint32
	RegistrationID uint32
	Identity       identity.IdentityKeyPair
	Created        time.Time
}

// accountRecord is Account as stored.
type accountRecord struct {
	Schema         int       `json:"schema"`
	Name           string    `json:"name"`
	DeviceID       uint32    `json:"device_id"`
	RegistrationID uint32    `json:"registration_id"`
	IdentityKey    []byte    `json:"identity_private"`
	Created        time.Time `json:"created"`
}

// counters are the profile's id allocators.
type counters struct {
	NextSignedPreKeyID uint32 `json:"next_signed_prekey_id"`
	NextPreKeyID       uint32 `json:"next_prekey_id"`
	NextMessageSeq     uint64 `json:"next_message_seq"`
	// NextKyberPreKeyID numbers one-time and last-resort Kyber prekeys
	// alike (schema 2; zero in a version-1 profile, which nextID skips).
	NextKyberPreKeyID uint32 `json:"next_kyber_prekey_id"`
}

// Create makes the account: a fresh identity key and registration id. It
// fails if the profile already has one.
func (p *Profile) Create(name string, deviceID uint32, rand io.Reader, now time.Time) (Account, error) {
	if name == "" {
		return Account{}, fmt.Errorf("profile: an account needs a name")
	}
	ik, err := identity.GenerateIdentityKeyPair(rand)
	if err != nil {
		return Account{}, err
	}
	reg, err := identity.GenerateRegistrationID(rand)
	if err != nil {
		return Account{}, err
	}
	acct := Account{Name: name, DeviceID: deviceID, RegistrationID: reg, Identity: ik, Created: now.UTC()}
	err = p.db.Update(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketMeta).Get(keyAccount) != nil {
			return fmt.Errorf("profile: account already exists")
		}
		rec := accountRecord{Schema: schemaVersion, Name: name, DeviceID: deviceID, RegistrationID: reg,
			IdentityKey: ik.Private[:], Created: acct.Created}
		if err := p.put(tx, bucketMeta, keyAccount, rec); err != nil {
			return err
		}
		return p.put(tx, bucketMeta, keyCounter, counters{NextSignedPreKeyID: 1, NextPreKeyID: 1, NextMessageSeq: 1,
			NextKyberPreKeyID: 1})
	})
	if err != nil {
		return Account{}, err
	}
	return acct, nil
}

// Account returns the profile's account, or ErrNoAccount.
func (p *Profile) Account() (Account, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cache != nil {
		return *p.cache, nil
	}
	var rec accountRecord
	err := p.db.View(func(tx *bolt.Tx) error {
		ok, err := p.get(tx, bucketMeta, keyAccount, &rec)
		if err == nil && !ok {
			err = ErrNoAccount
		}
		return err
	})
	if err != nil {
		return Account{}, err
	}
	if rec.Schema > schemaVersion {
		return Account{}, fmt.Errorf("profile: schema %d is newer than this blindpost (%d)", rec.Schema, schemaVersion)
	}
	if len(rec.IdentityKey) != identity.PrivateKeySize {
		return Account{}, fmt.Errorf("%w: identity key", ErrCorrupt)
	}
	kp, err := identity.NewKeyPair([identity.PrivateKeySize]byte(rec.IdentityKey))
	if err != nil {
		return Account{}, err
	}
	acct := Account{Name: rec.Name, DeviceID: rec.DeviceID, RegistrationID: rec.RegistrationID,
		Identity: identity.IdentityKeyPair{KeyPair: kp}, Created: rec.Created}
	p.cache = &acct
	return acct, nil
}

// upgradeSchema raises the account record's schema to this blindpost's,
// inside tx; callers are the writes that make an older version unsafe.
func (p *Profile) upgradeSchema(tx *bolt.Tx) error {
	var rec accountRecord
	ok, err := p.get(tx, bucketMeta, keyAccount, &rec)
	if err != nil {
		return err
	}
	if !ok {
		return ErrNoAccount
	}
	switch {
	case rec.Schema > schemaVersion:
		return fmt.Errorf("profile: schema %d is newer than this blindpost (%d)", rec.Schema, schemaVersion)
	case rec.Schema == schemaVersion:
		return nil
	}
	rec.Schema = schemaVersion
	return p.put(tx, bucketMeta, keyAccount, rec)
}

// updateCounters changes the id counters inside tx and returns them as
// they were before.
func (p *Profile) updateCounters(tx *bolt.Tx, fn func(*counters)) (counters, error) {
	var c counters
	ok, err := p.get(tx, bucketMeta, keyCounter, &c)
	if err != nil {
		return c, err
	}
	if !ok {
		return c, ErrNoAccount
	}
	before := c
	fn(&c)
	return before, p.put(tx, bucketMeta, keyCounter, c)
}
