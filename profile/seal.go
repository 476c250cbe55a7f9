package profile

import (
	"crypto/cipher"
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/chacha20poly1305"
)

// Argon2id parameters for new encrypted profiles (RFC 9106 §4's second
// recommended option, "if much less memory is available": t=3, 64 MiB).
// They are stored with the profile, so they can be raised later.
const (
	argonTime    = 3
	argonMemory  = 64 * 1024 // KiB
	argonThreads = 2
	saltSize     = 16
)

// verifierText is sealed under the derived key so that a wrong passphrase
// is told apart from a corrupt value.
var verifierText = []byte("blindpost profile key check v1")

// kdfRecord is stored in plain in the meta bucket.
type kdfRecord struct {
	Salt     []byte `json:"salt"`
	Time     uint32 `json:"time"`
	MemoryKB uint32 `json:"memory_kib"`
	Threads  uint8  `json:"threads"`
	Verifier []byte `json:"verifier"`
}

// sealer seals values with XChaCha20-Poly1305. A nil sealer stores values
// as they are (an unencrypted profile).
type sealer struct {
	aead cipher.AEAD
}

// setupSealer reads or creates the key-derivation record.
func setupSealer(meta *bolt.Bucket, passphrase []byte) (*sealer, error) {
	raw := meta.Get(keyKDF)
	if raw == nil {
		if len(passphrase) == 0 {
			return nil, nil
		}
		if meta.Get(keyAccount) != nil {
			return nil, fmt.Errorf("profile: this profile is not encrypted; it cannot be encrypted in place")
		}
		rec := kdfRecord{Salt: make([]byte, saltSize), Time: argonTime, MemoryKB: argonMemory, Threads: argonThreads}
		if _, err := rand.Read(rec.Salt); err != nil {
			return nil, fmt.Errorf("profile: %w", err)
		}
		s := deriveSealer(passphrase, &rec)
		v, err := s.seal(bucketMeta, keyKDF, verifierText)
		if err != nil {
			return nil, err
		}
		rec.Verifier = v
		b, err := json.Marshal(rec)
		if err != nil {
			return nil, fmt.Errorf("profile: internal error: %w", err)
		}
		return s, meta.Put(keyKDF, b)
	}
	if len(passphrase) == 0 {
		return nil, ErrNeedPassword
	}
	var rec kdfRecord
	if err := json.Unmarshal(raw, &rec); err != nil || len(rec.Salt) != saltSize || rec.Threads == 0 {
		return nil, fmt.Errorf("%w: key derivation record", ErrCorrupt)
	}
	s := deriveSealer(passphrase, &rec)
	got, err := s.open(bucketMeta, keyKDF, rec.Verifier)
	if err != nil || subtle.ConstantTimeCompare(got, verifierText) != 1 {
		return nil, ErrBadPassphrase
	}
	return s, nil
}

func deriveSealer(passphrase []byte, rec *kdfRecord) *sealer {
	key := argon2.IDKey(passphrase, rec.Salt, rec.Time, rec.MemoryKB, rec.Threads, chacha20poly1305.KeySize)
	aead, err := chacha20poly1305.NewX(key)
	clear(key)
	if err != nil {
		panic("profile: internal error: " + err.Error())
	}
	return &sealer{aead: aead}
}

// seal encrypts a value, binding it to its bucket and key so that values
// cannot be swapped between places.
func (s *sealer) seal(bucket, key, plain []byte) ([]byte, error) {
	if s == nil {
		return append([]byte(nil), plain...), nil
	}
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(plain)+s.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	return s.aead.Seal(nonce, nonce, plain, additionalData(bucket, key)), nil
}

// open decrypts a value sealed by seal.
func (s *sealer) open(bucket, key, sealed []byte) ([]byte, error) {
	if s == nil {
		return append([]byte(nil), sealed...), nil
	}
	n := s.aead.NonceSize()
	if len(sealed) < n+s.aead.Overhead() {
		return nil, fmt.Errorf("%w: %s/%x: too short", ErrCorrupt, bucket, key)
	}
	plain, err := s.aead.Open(nil, sealed[:n], sealed[n:], additionalData(bucket, key))
	if err != nil {
		return nil, fmt.Errorf("%w: %s/%x: does not authenticate", ErrCorrupt, bucket, key)
	}
	return plain, nil
}

func additionalData(bucket, key []byte) []byte {
	ad := make([]byte, 0, len(bucket)+1+len(key))
	ad = append(ad, bucket...)
	ad = append(ad, 0)
	return append(ad, key...)
}
