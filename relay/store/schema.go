package store

import (
	"encoding/binary"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	"github.com/blindpost/blindpost/relay/store/storepb"
)

// Bucket names: one flat bucket per record type.
const (
	bucketMeta            = "meta"
	bucketAccounts        = "accounts"
	bucketDevices         = "devices"
	bucketSignedPreKeys   = "signed_prekeys"
	bucketPreKeys         = "prekeys"
	bucketKEMPreKeys      = "kem_prekeys"
	bucketKEMLastResort   = "kem_last_resort"
	bucketQueues          = "queues"
	bucketQueueMeta       = "queue_meta"
	bucketContacts        = "contacts"
	bucketIdentityChanges = "identity_changes"

	keyMeta = "meta"
)

// KeyLayout describes how a bucket's keys are built. Parts are joined
// without separators except the 0x00 after the name, which no name
// contains; numbers are big-endian so that keys sort by them.
type KeyLayout int

const (
	KeyConstant  KeyLayout = iota // the literal "meta"
	KeyName                       // name
	KeyDevice                     // name 0x00 u32 device
	KeyDevicePre                  // name 0x00 u32 device u32 prekey id
	KeyDeviceSeq                  // name 0x00 u32 device u64 envelope id
	KeyPeer                       // name 0x00 peer name
	KeyNameSeq                    // name 0x00 u64 sequence
)

// KeyParts lists, for each layout, the names of the parts of a key as
// docs/relay.md spells them.
func (k KeyLayout) KeyParts() []string {
	switch k {
	case KeyConstant:
		return []string{"\"meta\""}
	case KeyName:
		return []string{"name"}
	case KeyDevice:
		return []string{"name", "device"}
	case KeyDevicePre:
		return []string{"name", "device", "prekey id"}
	case KeyDeviceSeq:
		return []string{"name", "device", "envelope id"}
	case KeyPeer:
		return []string{"name", "peer"}
	case KeyNameSeq:
		return []string{"name", "sequence"}
	}
	panic("store: internal error: unknown key layout")
}

// BucketSchema is one bucket of the database: its key layout and the record
// each value holds (nil: values are empty).
type BucketSchema struct {
	Name   string
	Key    KeyLayout
	Record proto.Message
}

// Schema returns the layout of the database: every bucket the store
// writes, its key layout and its record type. Nothing else is ever written.
func Schema() []BucketSchema {
	return []BucketSchema{
		{bucketMeta, KeyConstant, &storepb.Meta{}},
		{bucketAccounts, KeyName, &storepb.Account{}},
		{bucketDevices, KeyDevice, &storepb.Device{}},
		{bucketSignedPreKeys, KeyDevice, &storepb.SignedPreKey{}},
		{bucketPreKeys, KeyDevicePre, &storepb.PreKey{}},
		{bucketKEMPreKeys, KeyDevicePre, &storepb.KemPreKey{}},
		{bucketKEMLastResort, KeyDevice, &storepb.KemPreKey{}},
		{bucketQueues, KeyDeviceSeq, &storepb.Envelope{}},
		{bucketQueueMeta, KeyDevice, &storepb.QueueMeta{}},
		{bucketContacts, KeyPeer, nil},
		{bucketIdentityChanges, KeyNameSeq, &storepb.IdentityChange{}},
	}
}

// Key is a decoded database key. Only the parts of the bucket's layout
// are set.
type Key struct {
	Name   string
	Device uint32
	ID     uint64 // prekey id, envelope id or sequence
	Peer   string
}

// Record is one stored value as Walk reports it.
type Record struct {
	Bucket string
	Key    Key
	Value  proto.Message // nil for buckets whose values are empty
	Size   int           // bytes of the stored value
}

// Walk calls fn for every record in the database, bucket by bucket in
// schema order, decoding each key and value. It fails on a bucket or key
// the schema does not describe, and on a value with fields its record type
// does not have: what Walk reports is everything the file holds.
func (s *Bolt) Walk(fn func(Record) error) error {
	return s.db.View(func(tx *bolt.Tx) error {
		schema := Schema()
		known := make(map[string]BucketSchema, len(schema))
		for _, b := range schema {
			known[b.Name] = b
		}
		err := tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
			if _, ok := known[string(name)]; !ok {
				return fmt.Errorf("store: walk: bucket %q is not in the schema", name)
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, b := range schema {
			bucket := tx.Bucket([]byte(b.Name))
			if bucket == nil {
				continue
			}
			err := bucket.ForEach(func(k, v []byte) error {
				return walkOne(b, k, v, fn)
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
}

func walkOne(b BucketSchema, k, v []byte, fn func(Record) error) error {
	key, err := decodeKey(b.Key, k)
	if err != nil {
		return fmt.Errorf("store: walk %s: %w", b.Name, err)
	}
	rec := Record{Bucket: b.Name, Key: key, Size: len(v)}
	if b.Record == nil {
		if len(v) != 0 {
			return fmt.Errorf("store: walk %s: unexpected value", b.Name)
		}
		return fn(rec)
	}
	m := b.Record.ProtoReflect().New().Interface()
	if err := proto.Unmarshal(v, m); err != nil {
		return fmt.Errorf("store: walk %s: %w", b.Name, err)
	}
	if len(m.ProtoReflect().GetUnknown()) != 0 {
		return fmt.Errorf("store: walk %s: value has fields outside the schema", b.Name)
	}
	rec.Value = m
	return fn(rec)
}

var errBadKey = errors.New("malformed key")

func decodeKey(layout KeyLayout, k []byte) (Key, error) {
	var key Key
	if layout == KeyConstant {
		if string(k) != keyMeta {
			return key, errBadKey
		}
		return key, nil
	}
	name, rest, found := cutName(k)
	key.Name = name
	switch layout {
	case KeyName:
		if found {
			return key, errBadKey
		}
		return key, nil
	case KeyPeer:
		if !found || len(rest) == 0 {
			return key, errBadKey
		}
		key.Peer = string(rest)
		return key, nil
	case KeyNameSeq:
		if !found || len(rest) != 8 {
			return key, errBadKey
		}
		key.ID = binary.BigEndian.Uint64(rest)
		return key, nil
	}
	if !found || len(rest) < 4 {
		return key, errBadKey
	}
	key.Device = binary.BigEndian.Uint32(rest)
	rest = rest[4:]
	switch {
	case layout == KeyDevice && len(rest) == 0:
	case layout == KeyDevicePre && len(rest) == 4:
		key.ID = uint64(binary.BigEndian.Uint32(rest))
	case layout == KeyDeviceSeq && len(rest) == 8:
		key.ID = binary.BigEndian.Uint64(rest)
	default:
		return key, errBadKey
	}
	return key, nil
}

// cutName splits a key at its first 0x00.
func cutName(k []byte) (name string, rest []byte, found bool) {
	for i, c := range k {
		if c == 0 {
			return string(k[:i]), k[i+1:], true
		}
	}
	return string(k), nil, false
}

// Key builders. The caller has validated names (no 0x00).

func nameKey(name string) []byte { return []byte(name) }

func namePrefix(name string) []byte {
	b := make([]byte, 0, len(name)+1)
	return append(append(b, name...), 0)
}

func deviceKey(a Address) []byte {
	b := make([]byte, 0, len(a.Name)+1+4+8)
	b = append(append(b, a.Name...), 0)
	return binary.BigEndian.AppendUint32(b, a.Device)
}

func devicePreKey(a Address, id uint32) []byte {
	return binary.BigEndian.AppendUint32(deviceKey(a), id)
}

func deviceSeqKey(a Address, id uint64) []byte {
	return binary.BigEndian.AppendUint64(deviceKey(a), id)
}

func peerKey(name, peer string) []byte {
	return append(namePrefix(name), peer...)
}

func nameSeqKey(name string, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(namePrefix(name), seq)
}

// putRecord marshals m under k. Deterministic marshalling keeps equal
// records byte-identical on disk.
func putRecord(b *bolt.Bucket, k []byte, m proto.Message) error {
	v, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return fmt.Errorf("store: marshal: %w", err)
	}
	return b.Put(k, v)
}

// getRecord reads k into m: ErrNotFound if absent.
func getRecord(b *bolt.Bucket, k []byte, m proto.Message) error {
	v := b.Get(k)
	if v == nil {
		return ErrNotFound
	}
	return unmarshal(v, m)
}

// unmarshal decodes a stored value.
func unmarshal(v []byte, m proto.Message) error {
	if err := proto.Unmarshal(v, m); err != nil {
		return fmt.Errorf("store: corrupt record: %w", err)
	}
	return nil
}

// deletePrefix deletes every key of b that starts with prefix.
func deletePrefix(b *bolt.Bucket, prefix []byte) error {
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && hasPrefix(k, prefix); k, _ = c.Seek(prefix) {
		if err := c.Delete(); err != nil {
			return err
		}
	}
	return nil
}

// countPrefix counts the keys of b that start with prefix.
func countPrefix(b *bolt.Bucket, prefix []byte) int {
	n := 0
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && hasPrefix(k, prefix); k, _ = c.Next() {
		n++
	}
	return n
}

func hasPrefix(k, prefix []byte) bool {
	return len(k) >= len(prefix) && string(k[:len(prefix)]) == string(prefix)
}
