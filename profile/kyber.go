package profile

import (
	"fmt"
	"io"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/blindpost/blindpost/identity"
	"github.com/blindpost/blindpost/kem"
)

// Kyber prekeys are PQXDH's post-quantum prekeys, each signed by the
// identity key. A profile holds two kinds:
//
//   - one-time Kyber prekeys (bucket kyber_prekeys): the relay hands each
//     out once, and the commit of the session that uses one deletes it;
//   - last-resort Kyber prekeys (bucket kyber_last_resort): the relay hands
//     out the newest when no one-time key is left, and using it deletes
//     nothing. Older ones are kept for a grace period after a rotation,
//     like signed prekeys, then pruned.
//
// Both kinds take their ids from one counter, because a PreKeySignalMessage
// names a Kyber prekey by id without saying which kind it is.
//
// A one-time key becomes stale when a newer batch replaced it on the relay
// (an upload replaces a device's unused one-time keys): it can then only be
// named by a session started from a bundle fetched before the replacement,
// so it is kept for a grace period and then pruned. Kyber keys are large
// (4.7 KiB with the private half), so unlike EC prekeys they are not left
// to accumulate.
var (
	bucketKyber           = []byte("kyber_prekeys")
	bucketKyberLastResort = []byte("kyber_last_resort")
)

// kyberRecord is a Kyber prekey as stored (sealed like every value when
// the profile is encrypted).
type kyberRecord struct {
	ID        uint32 `json:"id"`
	Public    []byte `json:"public"` // 0x08 || key, as kem.PublicKey.Bytes
	Private   []byte `json:"private"`
	Signature []byte `json:"signature"`
	Created   int64  `json:"created_unix_ms"`
	// Stale is when a newer batch replaced this one-time key on the relay,
	// in Unix milliseconds; 0 while the relay may still hand it out.
	Stale int64 `json:"stale_unix_ms,omitempty"`
}

func (r kyberRecord) order() (int64, uint32) { return r.Created, r.ID }

func kyberRecordOf(k kem.PreKey) kyberRecord {
	return kyberRecord{ID: k.ID, Public: k.KeyPair.Public.Bytes(), Private: k.KeyPair.Private[:],
		Signature: k.Signature[:], Created: k.Created}
}

// preKey parses a stored record with exact lengths. It clears the record's
// copy of the private key (Go may still hold others: the decoded JSON, the
// opened value).
func (r kyberRecord) preKey() (kem.PreKey, error) {
	pub, err := kem.ParsePublicKey(r.Public)
	if err != nil {
		return kem.PreKey{}, fmt.Errorf("%w: kyber prekey %d: %w", ErrCorrupt, r.ID, err)
	}
	if len(r.Private) != kem.PrivateKeySize || len(r.Signature) != identity.SignatureSize {
		return kem.PreKey{}, fmt.Errorf("%w: kyber prekey %d", ErrCorrupt, r.ID)
	}
	k := kem.PreKey{ID: r.ID, KeyPair: kem.KeyPair{Public: pub, Private: kem.PrivateKey(r.Private)},
		Signature: [identity.SignatureSize]byte(r.Signature), Created: r.Created}
	clear(r.Private)
	return k, nil
}

// newKyber generates n Kyber prekeys signed by the account's identity key
// and stores them in bucket, in one transaction that also raises the
// profile's schema.
func (p *Profile) newKyber(bucket []byte, rand io.Reader, n int, now time.Time) ([]kem.PreKey, error) {
	acct, err := p.Account()
	if err != nil {
		return nil, err
	}
	var keys []kem.PreKey
	err = p.db.Update(func(tx *bolt.Tx) error {
		ids, err := p.kyberIDs(tx, n)
		if err != nil {
			return err
		}
		for _, id := range ids {
			k, err := kem.GeneratePreKey(rand, acct.Identity, id, now.UnixMilli())
			if err != nil {
				return fmt.Errorf("profile: %w", err)
			}
			if err := p.put(tx, bucket, u32key(id), kyberRecordOf(k)); err != nil {
				return err
			}
			keys = append(keys, k)
		}
		return p.upgradeSchema(tx)
	})
	if err != nil {
		return nil, err
	}
	return keys, nil
}

// kyberIDs reserves n Kyber prekey ids inside tx, skipping any id still in
// use (possible only after the counter wrapped).
func (p *Profile) kyberIDs(tx *bolt.Tx, n int) ([]uint32, error) {
	inUse := func(id uint32) bool {
		return tx.Bucket(bucketKyber).Get(u32key(id)) != nil || tx.Bucket(bucketKyberLastResort).Get(u32key(id)) != nil
	}
	var ids []uint32
	_, err := p.updateCounters(tx, func(c *counters) {
		for tries := 0; len(ids) < n && tries < n+maxKyberSkips; tries++ {
			id := c.NextKyberPreKeyID
			if id == 0 || id >= 1<<24 {
				id = 1
			}
			c.NextKyberPreKeyID = nextID(id)
			if !inUse(id) {
				ids = append(ids, id)
			}
		}
	})
	if err == nil && len(ids) < n {
		err = fmt.Errorf("profile: no free kyber prekey id")
	}
	return ids, err
}

// maxKyberSkips bounds the ids in use skipped by one allocation; a profile
// holds a few hundred Kyber prekeys at most.
const maxKyberSkips = 4096

// NewKyberPreKeys generates, stores and returns n one-time Kyber prekeys.
func (p *Profile) NewKyberPreKeys(rand io.Reader, n int, now time.Time) ([]kem.PreKey, error) {
	return p.newKyber(bucketKyber, rand, n, now)
}

// NewKyberLastResort generates, stores and returns a new last-resort Kyber
// prekey. Older ones stay until PruneKyberLastResort.
func (p *Profile) NewKyberLastResort(rand io.Reader, now time.Time) (kem.PreKey, error) {
	keys, err := p.newKyber(bucketKyberLastResort, rand, 1, now)
	if err != nil {
		return kem.PreKey{}, err
	}
	return keys[0], nil
}

// KyberPreKey implements session.Store: a one-time or a last-resort Kyber
// prekey by id.
func (p *Profile) KyberPreKey(id uint32) (kem.PreKey, bool, error) {
	var k kem.PreKey
	found := false
	err := p.db.View(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketKyber, bucketKyberLastResort} {
			var r kyberRecord
			ok, err := p.get(tx, b, u32key(id), &r)
			if err != nil {
				return err
			}
			if ok {
				k, err = r.preKey()
				found = err == nil
				return err
			}
		}
		return nil
	})
	return k, found, err
}

// LatestKyberLastResort returns the newest last-resort Kyber prekey, or
// ok = false.
func (p *Profile) LatestKyberLastResort() (kem.PreKey, bool, error) {
	return latest(p, bucketKyberLastResort, kyberRecord.preKey)
}

// PruneKyberLastResort deletes the last-resort Kyber prekeys that a newer
// one replaced before cutoff, by the rule of PruneSignedPreKeys.
func (p *Profile) PruneKyberLastResort(cutoff time.Time) error {
	return p.db.Update(func(tx *bolt.Tx) error { return p.pruneReplaced(tx, bucketKyberLastResort, cutoff) })
}

// RetireKyberPreKeys records that the relay now holds the one-time Kyber
// prekeys live and no other: every other one-time key not yet stale
// becomes stale at now.
func (p *Profile) RetireKyberPreKeys(live []uint32, now time.Time) error {
	return p.db.Update(func(tx *bolt.Tx) error {
		var retired []kyberRecord
		err := tx.Bucket(bucketKyber).ForEach(func(key, _ []byte) error {
			var r kyberRecord
			if _, err := p.get(tx, bucketKyber, key, &r); err != nil {
				return err
			}
			if r.Stale == 0 && !slices.Contains(live, r.ID) {
				r.Stale = now.UnixMilli()
				retired = append(retired, r)
			} else {
				clear(r.Private)
			}
			return nil
		})
		if err != nil {
			return err
		}
		// Written after the walk: a bucket must not change during ForEach.
		for _, r := range retired {
			err := p.put(tx, bucketKyber, u32key(r.ID), r)
			clear(r.Private)
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// PruneKyberPreKeys deletes the one-time Kyber prekeys that became stale
// before cutoff. It reads only each record's stamp (no private key is
// decoded), and writes only when something is to be deleted: it runs on
// every connection.
func (p *Profile) PruneKyberPreKeys(cutoff time.Time) error {
	var doomed [][]byte
	err := p.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketKyber).ForEach(func(key, _ []byte) error {
			var st stamp
			if _, err := p.get(tx, bucketKyber, key, &st); err != nil {
				return err
			}
			if st.Stale != 0 && st.Stale < cutoff.UnixMilli() {
				doomed = append(doomed, slices.Clone(key))
			}
			return nil
		})
	})
	if err != nil || len(doomed) == 0 {
		return err
	}
	// A key once stale stays stale: what the View found may be deleted.
	return p.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketKyber)
		for _, key := range doomed {
			if err := b.Delete(key); err != nil {
				return err
			}
		}
		return nil
	})
}

// KyberPreKeyCount returns how many one-time Kyber prekeys the profile
// holds, stale ones included.
func (p *Profile) KyberPreKeyCount() (int, error) {
	n := 0
	err := p.db.View(func(tx *bolt.Tx) error {
		n = tx.Bucket(bucketKyber).Stats().KeyN
		return nil
	})
	return n, err
}
