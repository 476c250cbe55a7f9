package profile

import (
	"fmt"
	"io"
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
	var spk identity.SignedPreKey
	found := false
	err := p.db.View(func(tx *bolt.Tx) error {
		var best preKeyRecord
		err := tx.Bucket(bucketSigned).ForEach(func(k, _ []byte) error {
			var r preKeyRecord
			if _, err := p.get(tx, bucketSigned, k, &r); err != nil {
				return err
			}
			if !found || r.Created > best.Created || (r.Created == best.Created && r.ID > best.ID) {
				best, found = r, true
			}
			return nil
		})
		if err != nil || !found {
			return err
		}
		spk, err = signedFromRecord(best)
		return err
	})
	return spk, found, err
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

// PruneSignedPreKeys deletes signed prekeys created before cutoff, keeping
// the newest one whatever its age.
func (p *Profile) PruneSignedPreKeys(cutoff time.Time) error {
	latest, ok, err := p.LatestSignedPreKey()
	if err != nil || !ok {
		return err
	}
	return p.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketSigned)
		var old [][]byte
		err := b.ForEach(func(k, _ []byte) error {
			var r preKeyRecord
			if _, err := p.get(tx, bucketSigned, k, &r); err != nil {
				return err
			}
			if r.ID != latest.ID && r.Created < cutoff.UnixMilli() {
				old = append(old, append([]byte(nil), k...))
			}
			return nil
		})
		for _, k := range old {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		return err
	})
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
