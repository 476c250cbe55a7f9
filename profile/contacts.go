package profile

import (
	"fmt"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/blindpost/blindpost/identity"
)

// Contact is someone this profile talks to.
type Contact struct {
	Name     string
	Verified bool // the user compared safety numbers
	// PendingKey is a new identity key seen for this contact and not yet
	// approved: sending to the contact is blocked until the user decides.
	PendingKey *identity.PublicKey
	Unread     int
	Added      time.Time
}

// contactRecord is a contact as stored. The trusted identity key is kept
// in the identity store (TrustedIdentity), not here; records written before
// carry an identity_key field, which is ignored.
type contactRecord struct {
	Name       string    `json:"name"`
	Verified   bool      `json:"verified"`
	PendingKey []byte    `json:"pending_key,omitempty"`
	Unread     int       `json:"unread"`
	Added      time.Time `json:"added"`
}

func (c Contact) record() contactRecord {
	r := contactRecord{Name: c.Name, Verified: c.Verified, Unread: c.Unread, Added: c.Added}
	if c.PendingKey != nil {
		r.PendingKey = c.PendingKey[:]
	}
	return r
}

func (r contactRecord) contact() (Contact, error) {
	c := Contact{Name: r.Name, Verified: r.Verified, Unread: r.Unread, Added: r.Added}
	if r.PendingKey != nil {
		if len(r.PendingKey) != identity.PublicKeySize {
			return c, fmt.Errorf("%w: contact %s", ErrCorrupt, r.Name)
		}
		k := identity.PublicKey(r.PendingKey)
		c.PendingKey = &k
	}
	return c, nil
}

// AddContact adds a contact by name (no-op if it exists).
func (p *Profile) AddContact(name string, now time.Time) error {
	return p.db.Update(func(tx *bolt.Tx) error {
		return p.updateContact(tx, name, func(c *Contact) {
			if c.Added.IsZero() {
				c.Added = now.UTC()
			}
		})
	})
}

// Contact returns one contact, or ok = false.
func (p *Profile) Contact(name string) (Contact, bool, error) {
	var c Contact
	found := false
	err := p.db.View(func(tx *bolt.Tx) error {
		var r contactRecord
		ok, err := p.get(tx, bucketContacts, []byte(name), &r)
		if err != nil || !ok {
			return err
		}
		c, err = r.contact()
		found = err == nil
		return err
	})
	return c, found, err
}

// Contacts returns every contact, sorted by name.
func (p *Profile) Contacts() ([]Contact, error) {
	var out []Contact
	err := p.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketContacts).ForEach(func(k, _ []byte) error {
			var r contactRecord
			if _, err := p.get(tx, bucketContacts, k, &r); err != nil {
				return err
			}
			c, err := r.contact()
			out = append(out, c)
			return err
		})
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, err
}

// UpdateContact changes a contact (creating it) in one transaction.
func (p *Profile) UpdateContact(name string, fn func(*Contact)) error {
	return p.db.Update(func(tx *bolt.Tx) error { return p.updateContact(tx, name, fn) })
}

func (p *Profile) updateContact(tx *bolt.Tx, name string, fn func(*Contact)) error {
	if name == "" {
		return fmt.Errorf("profile: contact needs a name")
	}
	var r contactRecord
	if _, err := p.get(tx, bucketContacts, []byte(name), &r); err != nil {
		return err
	}
	c, err := r.contact()
	if err != nil {
		return err
	}
	c.Name = name
	fn(&c)
	return p.put(tx, bucketContacts, []byte(name), c.record())
}
