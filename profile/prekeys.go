package profile

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/blindpost/blindpost/identity"
)

// preKeyRecord is a prekey as stored.
type preKeyRecord struct {
	ID        uint32 `json:"id"`
	Private   []byte `json:"private"`
	Signature []byte `json:"signature,omitempty"`
	Created   int64  `json:"created_unix_ms,omitempty"`
}

func (r preKeyRecord) order() (int64, uint32) { return r.Created, r.ID }

// latest returns the record of bucket created last (the highest id among
// equals), converted by conv, or ok = false when the bucket is empty.
func latest[R interface{ order() (int64, uint32) }, K any](p *Profile, bucket []byte, conv func(R) (K, error)) (K, bool, error) {
	var k K
	found := false
	err := p.db.View(func(tx *bolt.Tx) error {
		var best R
		err := tx.Bucket(bucket).ForEach(func(key, _ []byte) error {
			var r R
			if _, err := p.get(tx, bucket, key, &r); err != nil {
				return err
			}
			bc, bid := best.order()
			if c, id := r.order(); !found || c > bc || (c == bc && id > bid) {
				best, found = r, true
			}
			return nil
		})
		if err != nil || !found {
			return err
		}
		k, err = conv(best)
		return err
	})
	return k, found, err
}

func (r preKeyRecord) keyPair() (identity.KeyPair, error) {
	if len(r.Private) != identity.PrivateKeySize {
		return identity.KeyPair{}, fmt.Errorf("%w: prekey %d", ErrCorrupt, r.ID)
	}
	return identity.NewKeyPair([identity.PrivateKeySize]byte(r.Private))
}

// NewSignedPreKey generates, stores and returns a new signed prekey.
func (p *Profile) NewSignedPreKey(rand io.Reader, now time.Time) (identity.SignedPreKey, error) {
	acct, err := p.Account()
	if err != nil {
		return identity.SignedPreKey{}, err
	}
	var spk identity.SignedPreKey
	err = p.db.Update(func(tx *bolt.Tx) error {
		c, err := p.updateCounters(tx, func(c *counters) { c.NextSignedPreKeyID = nextID(c.NextSignedPreKeyID) })
		if err != nil {
			return err
		}
		spk, err = identity.GenerateSignedPreKey(rand, acct.Identity, c.NextSignedPreKeyID, now.UnixMilli())
		if err != nil {
			return err
		}
		return p.put(tx, bucketSigned, u32key(spk.ID), preKeyRecord{
			ID: spk.ID, Private: spk.KeyPair.Private[:], Signature: spk.Signature[:], Created: spk.Created})
	})
	return spk, err
}

// LatestSignedPreKey returns the newest signed prekey, or ok = false.
func (p *Profile) LatestSignedPreKey() (identity.SignedPreKey, bool, error) {
	return latest(p, bucketSigned, signedFromRecord)
}

func signedFromRecord(r preKeyRecord) (identity.SignedPreKey, error) {
	kp, err := r.keyPair()
	if err != nil {
		return identity.SignedPreKey{}, err
	}
	if len(r.Signature) != identity.SignatureSize {
		return identity.SignedPreKey{}, fmt.Errorf("%w: signed prekey %d signature", ErrCorrupt, r.ID)
	}
	return identity.SignedPreKey{ID: r.ID, KeyPair: kp, Signature: [identity.SignatureSize]byte(r.Signature), Created: r.Created}, nil
}

// PruneSignedPreKeys deletes the signed prekeys that a newer one replaced
// before cutoff. The one that was current at cutoff stays, whatever its
// age, as does every later one: a peer may have fetched it just before it
// was replaced, and its message may wait on the relay while this device is
// offline (an age-based rule would drop the message of a peer that wrote
// during a long absence, since the key is replaced only on reconnection).
func (p *Profile) PruneSignedPreKeys(cutoff time.Time) error {
	return p.db.Update(func(tx *bolt.Tx) error { return p.pruneReplaced(tx, bucketSigned, cutoff) })
}

// stamp is the part of a prekey record that pruning reads; both
// preKeyRecord and kyberRecord decode into it (Stale is kyberRecord's).
type stamp struct {
	ID      uint32 `json:"id"`
	Created int64  `json:"created_unix_ms"`
	Stale   int64  `json:"stale_unix_ms,omitempty"`
}

// pruneReplaced deletes, inside tx, the keys of bucket replaced by a newer
// one created before cutoff (see PruneSignedPreKeys).
func (p *Profile) pruneReplaced(tx *bolt.Tx, bucket []byte, cutoff time.Time) error {
	type entry struct {
		stamp
		key []byte
	}
	b := tx.Bucket(bucket)
	var all []entry
	err := b.ForEach(func(k, _ []byte) error {
		e := entry{key: slices.Clone(k)}
		if _, err := p.get(tx, bucket, k, &e.stamp); err != nil {
			return err
		}
		all = append(all, e)
		return nil
	})
	if err != nil {
		return err
	}
	slices.SortFunc(all, func(a, b entry) int {
		return cmp.Or(cmp.Compare(a.Created, b.Created), cmp.Compare(a.ID, b.ID))
	})
	// all[current] was the newest key at cutoff; those before it were
	// replaced before cutoff.
	current := -1
	for i, e := range all {
		if e.Created < cutoff.UnixMilli() {
			current = i
		}
	}
	for _, e := range all[:max(current, 0)] {
		if err := b.Delete(e.key); err != nil {
			return err
		}
	}
	return nil
}

// NewPreKeys generates, stores and returns n one-time prekeys.
func (p *Profile) NewPreKeys(rand io.Reader, n int) ([]identity.PreKey, error) {
	var keys []identity.PreKey
	err := p.db.Update(func(tx *bolt.Tx) error {
		c, err := p.updateCounters(tx, func(c *counters) {
			for range n {
				c.NextPreKeyID = nextID(c.NextPreKeyID)
			}
		})
		if err != nil {
			return err
		}
		keys, err = identity.GeneratePreKeys(rand, c.NextPreKeyID, n)
		if err != nil {
			return err
		}
		for _, k := range keys {
			if err := p.put(tx, bucketPreKeys, u32key(k.ID), preKeyRecord{ID: k.ID, Private: k.KeyPair.Private[:]}); err != nil {
				return err
			}
		}
		return nil
	})
	return keys, err
}

// PreKeyCount returns how many one-time prekeys are unused.
func (p *Profile) PreKeyCount() (int, error) {
	n := 0
	err := p.db.View(func(tx *bolt.Tx) error {
		n = tx.Bucket(bucketPreKeys).Stats().KeyN
		return nil
	})
	return n, err
}

// nextID advances a prekey id within 1..2^24-1, skipping 0.
func nextID(id uint32) uint32 {
	id++
	if id == 0 || id >= 1<<24 {
		return 1
	}
	return id
}
