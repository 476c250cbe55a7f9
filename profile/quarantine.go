package profile

import (
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

var bucketHeld = []byte("held")

// Held is a message that arrived from a contact whose identity key changed
// and was not yet approved. It is kept, not decrypted, until the user
// approves the new key or the contact is removed.
type Held struct {
	Key        string    `json:"key"` // the envelope key
	From       string    `json:"from"`
	Device     uint32    `json:"device"`
	Type       int       `json:"type"`
	Content    []byte    `json:"content"`
	ServerTime time.Time `json:"server_time"`
}

// Hold stores a message for later and marks its envelope processed, in
// one transaction.
func (p *Profile) Hold(h Held) error {
	return p.db.Update(func(tx *bolt.Tx) error {
		if err := p.put(tx, bucketHeld, []byte(h.Key), h); err != nil {
			return err
		}
		return tx.Bucket(bucketEnvelopes).Put([]byte(h.Key), []byte{1})
	})
}

// HeldFrom returns the messages held for a contact, oldest first.
func (p *Profile) HeldFrom(name string) ([]Held, error) {
	var out []Held
	err := p.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketHeld).ForEach(func(k, _ []byte) error {
			var h Held
			if _, err := p.get(tx, bucketHeld, k, &h); err != nil {
				return err
			}
			if h.From == name {
				out = append(out, h)
			}
			return nil
		})
	})
	sortHeld(out)
	return out, err
}

// Release forgets a held message (after it was processed).
func (p *Profile) Release(key string) error {
	return p.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketHeld).Delete([]byte(key)) })
}

func sortHeld(h []Held) {
	slices.SortStableFunc(h, func(a, b Held) int { return a.ServerTime.Compare(b.ServerTime) })
}
