// Package profile is a client's local state in one embedded database
// (go.etcd.io/bbolt, file mode 0600): the account and its keys, prekeys
// (EC and Kyber), session records, trusted identities, contacts and
// message history.
//
// It implements session.Store. Operations that must happen together (a
// session update, the message it decrypted and the relay envelope it came
// in) are written in one transaction, so a crash at any point neither loses
// a message nor shows it twice.
//
// With a passphrase, every value is sealed with XChaCha20-Poly1305 under a
// key derived by Argon2id; bucket keys (contact names, ids) stay readable.
package profile

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Bucket names.
var (
	bucketMeta       = []byte("meta")
	bucketSigned     = []byte("signed_prekeys")
	bucketPreKeys    = []byte("prekeys")
	bucketSessions   = []byte("sessions")
	bucketIdentities = []byte("identities")
	bucketContacts   = []byte("contacts")
	bucketMessages   = []byte("messages")
	bucketEnvelopes  = []byte("envelopes")
	bucketOutbox     = []byte("outbox")
	allBuckets       = [][]byte{bucketMeta, bucketSigned, bucketPreKeys, bucketSessions,
		bucketIdentities, bucketContacts, bucketMessages, bucketEnvelopes, bucketOutbox, bucketHeld,
		bucketKyber, bucketKyberLastResort}
)

// Meta keys.
var (
	keyAccount = []byte("account")
	keyKDF     = []byte("kdf")
	keyCounter = []byte("counters")
)

// schemaVersion is written into the account record; Account refuses a
// newer one, so an older blindpost never runs on a profile it does not
// understand. Versions:
//
//	1  the first format.
//	2  Kyber prekeys: buckets kyber_prekeys and kyber_last_resort, counter
//	   next_kyber_prekey_id. A version-1 profile opens as it is (Open adds
//	   the empty buckets; the missing counter reads as zero) and becomes
//	   version 2 in the transaction that stores its first Kyber prekey.
//	   From then on the relay may hand out that prekey, and a blindpost
//	   without Kyber prekeys would drop every message sent to it, so an
//	   older blindpost must refuse the profile.
const schemaVersion = 2

// Errors callers branch on.
var (
	ErrNoAccount     = errors.New("profile: no account yet (first use needs --name)")
	ErrBadPassphrase = errors.New("profile: wrong passphrase")
	ErrNeedPassword  = errors.New("profile: profile is encrypted: a passphrase is needed")
	ErrCorrupt       = errors.New("profile: corrupt value")
)

// Profile is an open profile database. It is safe for concurrent use.
type Profile struct {
	db    *bolt.DB
	seal  *sealer // nil when not encrypted
	mu    sync.Mutex
	cache *Account
}

// Open opens (creating if needed) the profile database at path with file
// mode 0600. passphrase may be nil for an unencrypted profile; a new
// profile opened with a passphrase is encrypted from then on.
func Open(path string, passphrase []byte) (*Profile, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("profile: open %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		db.Close()
		return nil, fmt.Errorf("profile: %w", err)
	}
	p := &Profile{db: db}
	if err := db.Update(func(tx *bolt.Tx) error {
		for _, b := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		s, err := setupSealer(tx.Bucket(bucketMeta), passphrase)
		p.seal = s
		return err
	}); err != nil {
		db.Close()
		return nil, err
	}
	return p, nil
}

// Close closes the database.
func (p *Profile) Close() error { return p.db.Close() }

// put writes a sealed JSON value into bucket name.
func (p *Profile) put(tx *bolt.Tx, name, key []byte, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("profile: internal error: %w", err)
	}
	return p.putRaw(tx, name, key, raw)
}

// putRaw writes a sealed byte value into bucket name.
func (p *Profile) putRaw(tx *bolt.Tx, name, key, raw []byte) error {
	sealed, err := p.seal.seal(name, key, raw)
	if err != nil {
		return err
	}
	return tx.Bucket(name).Put(key, sealed)
}

// get reads a sealed JSON value; ok is false when absent.
func (p *Profile) get(tx *bolt.Tx, name, key []byte, v any) (bool, error) {
	plain, ok, err := p.getRaw(tx, name, key)
	if !ok || err != nil {
		return false, err
	}
	if err := json.Unmarshal(plain, v); err != nil {
		return false, fmt.Errorf("%w: %s/%x: %w", ErrCorrupt, name, key, err)
	}
	return true, nil
}

// getRaw reads a sealed byte value; ok is false when absent.
func (p *Profile) getRaw(tx *bolt.Tx, name, key []byte) ([]byte, bool, error) {
	raw := tx.Bucket(name).Get(key)
	if raw == nil {
		return nil, false, nil
	}
	plain, err := p.seal.open(name, key, raw)
	if err != nil {
		return nil, false, err
	}
	return plain, true, nil
}

func u32key(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

func u64key(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }
