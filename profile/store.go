package profile

import (
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/blindpost/blindpost/identity"
	"github.com/blindpost/blindpost/session"
)

var _ session.Store = (*Profile)(nil)

func addrKey(a session.Address) []byte { return []byte(a.String()) }

// LocalIdentity implements session.Store.
func (p *Profile) LocalIdentity() (identity.IdentityKeyPair, uint32, error) {
	acct, err := p.Account()
	return acct.Identity, acct.RegistrationID, err
}

// Record implements session.Store.
func (p *Profile) Record(addr session.Address) (session.Record, bool, error) {
	var rec session.Record
	found := false
	err := p.db.View(func(tx *bolt.Tx) error {
		raw, ok, err := p.getRaw(tx, bucketSessions, addrKey(addr))
		if err != nil || !ok {
			return err
		}
		rec, err = session.UnmarshalRecord(raw)
		found = err == nil
		return err
	})
	return rec, found, err
}

// TrustedIdentity implements session.Store.
func (p *Profile) TrustedIdentity(addr session.Address) (identity.PublicKey, bool, error) {
	var k identity.PublicKey
	found := false
	err := p.db.View(func(tx *bolt.Tx) error {
		raw, ok, err := p.getRaw(tx, bucketIdentities, addrKey(addr))
		if err != nil || !ok {
			return err
		}
		if len(raw) != identity.PublicKeySize {
			return fmt.Errorf("%w: identity of %s", ErrCorrupt, addr)
		}
		k, found = identity.PublicKey(raw), true
		return nil
	})
	return k, found, err
}

// SignedPreKey implements session.Store.
func (p *Profile) SignedPreKey(id uint32) (identity.SignedPreKey, bool, error) {
	var spk identity.SignedPreKey
	found := false
	err := p.db.View(func(tx *bolt.Tx) error {
		var r preKeyRecord
		ok, err := p.get(tx, bucketSigned, u32key(id), &r)
		if err != nil || !ok {
			return err
		}
		spk, err = signedFromRecord(r)
		found = err == nil
		return err
	})
	return spk, found, err
}

// PreKey implements session.Store.
func (p *Profile) PreKey(id uint32) (identity.PreKey, bool, error) {
	var pk identity.PreKey
	found := false
	err := p.db.View(func(tx *bolt.Tx) error {
		var r preKeyRecord
		ok, err := p.get(tx, bucketPreKeys, u32key(id), &r)
		if err != nil || !ok {
			return err
		}
		kp, err := r.keyPair()
		pk, found = identity.PreKey{ID: id, KeyPair: kp}, err == nil
		return err
	})
	return pk, found, err
}

// Commit implements session.Store: one transaction.
func (p *Profile) Commit(c session.Commit) error {
	return p.db.Update(func(tx *bolt.Tx) error { return p.applyCommit(tx, &c) })
}

// applyCommit writes a session commit inside tx.
func (p *Profile) applyCommit(tx *bolt.Tx, c *session.Commit) error {
	rec, err := session.MarshalRecord(c.Record)
	if err != nil {
		return err
	}
	if err := p.putRaw(tx, bucketSessions, addrKey(c.Address), rec); err != nil {
		return err
	}
	if err := p.putRaw(tx, bucketIdentities, addrKey(c.Address), c.Identity[:]); err != nil {
		return err
	}
	if c.HasUsedPreKey {
		if err := tx.Bucket(bucketPreKeys).Delete(u32key(c.UsedPreKey)); err != nil {
			return err
		}
	}
	if c.HasUsedKyberPreKey {
		// A one-time Kyber prekey is used up; a last-resort one (the other
		// bucket, never the same id) stays.
		return tx.Bucket(bucketKyber).Delete(u32key(c.UsedKyberPreKey))
	}
	return nil
}

// Deferred is a session.Store whose Commit is held back, so that the
// caller can write it together with what the operation produced (a
// received message, an outgoing one) in one transaction with Apply.
// A Deferred serves one operation at a time.
type Deferred struct {
	*Profile
	pending *session.Commit
}

// Deferred returns a store for one operation whose commit is held back.
func (p *Profile) Deferred() *Deferred { return &Deferred{Profile: p} }

// Commit holds the commit back.
func (d *Deferred) Commit(c session.Commit) error {
	d.pending = &c
	return nil
}

// Take returns the held commit (nil if none) and forgets it.
func (d *Deferred) Take() *session.Commit {
	c := d.pending
	d.pending = nil
	return c
}

// Approve trusts key for addr from now on and clears any pending change
// for the contact of that name.
func (p *Profile) Approve(addr session.Address, key identity.PublicKey) error {
	return p.db.Update(func(tx *bolt.Tx) error {
		if err := p.putRaw(tx, bucketIdentities, addrKey(addr), key[:]); err != nil {
			return err
		}
		return p.updateContact(tx, addr.Name, func(c *Contact) {
			c.PendingKey = nil
			c.Verified = false
		})
	})
}
