package store

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/blindpost/blindpost/identity"
	"github.com/blindpost/blindpost/relay/store/storepb"
)

// UploadPreKeys implements Store. The device must exist.
func (s *Bolt) UploadPreKeys(ctx context.Context, addr Address, u PreKeyUpload) error {
	err := s.updateSized(ctx, u.size(), func(tx *bolt.Tx) error {
		if tx.Bucket([]byte(bucketDevices)).Get(deviceKey(addr)) == nil {
			return refuse(ErrNotFound)
		}
		return putPreKeys(tx, addr, u)
	})
	if err != nil {
		return fmt.Errorf("store: upload prekeys: %w", err)
	}
	return nil
}

func putPreKeys(tx *bolt.Tx, addr Address, u PreKeyUpload) error {
	if u.Signed != nil {
		rec := &storepb.SignedPreKey{Id: u.Signed.ID, PublicKey: u.Signed.Key.Bytes(), Signature: u.Signed.Signature[:]}
		if err := putRecord(tx.Bucket([]byte(bucketSignedPreKeys)), deviceKey(addr), rec); err != nil {
			return err
		}
	}
	if u.KEMLastResort != nil {
		if err := putRecord(tx.Bucket([]byte(bucketKEMLastResort)), deviceKey(addr), kemRecord(*u.KEMLastResort)); err != nil {
			return err
		}
	}
	if len(u.PreKeys) > 0 {
		b := tx.Bucket([]byte(bucketPreKeys))
		if err := deletePrefix(b, deviceKey(addr)); err != nil {
			return err
		}
		for _, k := range u.PreKeys {
			rec := &storepb.PreKey{Id: k.ID, PublicKey: k.Key.Bytes()}
			if err := putRecord(b, devicePreKey(addr, k.ID), rec); err != nil {
				return err
			}
		}
	}
	if len(u.KEMPreKeys) > 0 {
		b := tx.Bucket([]byte(bucketKEMPreKeys))
		if err := deletePrefix(b, deviceKey(addr)); err != nil {
			return err
		}
		for _, k := range u.KEMPreKeys {
			if err := putRecord(b, devicePreKey(addr, k.ID), kemRecord(k)); err != nil {
				return err
			}
		}
	}
	return nil
}

func kemRecord(k KEMPreKey) *storepb.KemPreKey {
	return &storepb.KemPreKey{Id: k.ID, PublicKey: k.Key, Signature: k.Signature[:]}
}

// deleteDevicePreKeys drops every prekey of a device.
func deleteDevicePreKeys(tx *bolt.Tx, addr Address) error {
	for _, name := range []string{bucketSignedPreKeys, bucketKEMLastResort} {
		if err := tx.Bucket([]byte(name)).Delete(deviceKey(addr)); err != nil {
			return err
		}
	}
	for _, name := range []string{bucketPreKeys, bucketKEMPreKeys} {
		if err := deletePrefix(tx.Bucket([]byte(name)), deviceKey(addr)); err != nil {
			return err
		}
	}
	return nil
}

// TakeBundle implements Store. It runs in the committer, whose
// transactions are serial, so two fetches can never take the same
// one-time prekey; and it answers only after the deletion is durable, so
// a crash cannot hand a key out again.
func (s *Bolt) TakeBundle(ctx context.Context, requester, target string, device uint32) (Bundle, error) {
	var bundle Bundle
	err := s.update(ctx, func(tx *bolt.Tx) error {
		bundle = Bundle{}
		return takeBundle(tx, requester, target, device, &bundle)
	})
	if err != nil {
		return Bundle{}, fmt.Errorf("store: take bundle: %w", err)
	}
	return bundle, nil
}

func takeBundle(tx *bolt.Tx, requester, target string, device uint32, bundle *Bundle) error {
	acc, err := readAccount(tx, target)
	if errors.Is(err, ErrNotFound) {
		return refuse(ErrNotFound)
	}
	if err != nil {
		return err
	}
	bundle.IdentityKey = acc.IdentityKey
	// Read everything first, so that a refusal comes before any write.
	for _, d := range acc.Devices {
		if device != 0 && d.ID != device {
			continue
		}
		db, ok, err := readDeviceBundle(tx, Address{target, d.ID}, d.RegistrationID)
		if err != nil {
			return err
		}
		if ok {
			bundle.Devices = append(bundle.Devices, db)
		}
	}
	if len(bundle.Devices) == 0 {
		return refuse(ErrNotFound)
	}
	for _, db := range bundle.Devices {
		addr := Address{target, db.Device}
		if db.PreKey != nil {
			if err := tx.Bucket([]byte(bucketPreKeys)).Delete(devicePreKey(addr, db.PreKey.ID)); err != nil {
				return err
			}
		}
		if db.KEM != nil && !db.KEMLastResort {
			if err := tx.Bucket([]byte(bucketKEMPreKeys)).Delete(devicePreKey(addr, db.KEM.ID)); err != nil {
				return err
			}
		}
	}
	return addContacts(tx, requester, target)
}

// readDeviceBundle reads a device's signed prekey and first one-time keys.
// ok is false when the device has no signed prekey yet.
func readDeviceBundle(tx *bolt.Tx, addr Address, regID uint32) (DeviceBundle, bool, error) {
	db := DeviceBundle{Device: addr.Device, RegistrationID: regID}
	v := tx.Bucket([]byte(bucketSignedPreKeys)).Get(deviceKey(addr))
	if v == nil {
		return db, false, nil
	}
	var spk storepb.SignedPreKey
	if err := unmarshal(v, &spk); err != nil {
		return db, false, err
	}
	key, err := identity.ParsePublicKey(spk.PublicKey)
	if err != nil || len(spk.Signature) != identity.SignatureSize {
		return db, false, errors.New("store: corrupt signed prekey")
	}
	db.Signed = SignedPreKey{ID: spk.Id, Key: key, Signature: [identity.SignatureSize]byte(spk.Signature)}

	if k, v := firstWithPrefix(tx.Bucket([]byte(bucketPreKeys)), deviceKey(addr)); k != nil {
		var pk storepb.PreKey
		if err := unmarshal(v, &pk); err != nil {
			return db, false, err
		}
		key, err := identity.ParsePublicKey(pk.PublicKey)
		if err != nil {
			return db, false, errors.New("store: corrupt prekey")
		}
		db.PreKey = &PreKey{ID: binary.BigEndian.Uint32(k[len(k)-4:]), Key: key}
	}

	if k, v := firstWithPrefix(tx.Bucket([]byte(bucketKEMPreKeys)), deviceKey(addr)); k != nil {
		kem, err := decodeKEM(v)
		if err != nil {
			return db, false, err
		}
		kem.ID = binary.BigEndian.Uint32(k[len(k)-4:])
		db.KEM = &kem
	} else if v := tx.Bucket([]byte(bucketKEMLastResort)).Get(deviceKey(addr)); v != nil {
		kem, err := decodeKEM(v)
		if err != nil {
			return db, false, err
		}
		db.KEM, db.KEMLastResort = &kem, true
	}
	return db, true, nil
}

func decodeKEM(v []byte) (KEMPreKey, error) {
	var rec storepb.KemPreKey
	if err := unmarshal(v, &rec); err != nil {
		return KEMPreKey{}, err
	}
	if len(rec.Signature) != identity.SignatureSize {
		return KEMPreKey{}, errors.New("store: corrupt KEM prekey")
	}
	return KEMPreKey{ID: rec.Id, Key: rec.PublicKey, Signature: [identity.SignatureSize]byte(rec.Signature)}, nil
}

// firstWithPrefix returns the first key of b with prefix and its value
// (nil, nil if none). The value is valid only within the transaction.
func firstWithPrefix(b *bolt.Bucket, prefix []byte) ([]byte, []byte) {
	k, v := b.Cursor().Seek(prefix)
	if k == nil || !hasPrefix(k, prefix) {
		return nil, nil
	}
	return k, v
}

// KEMPreKeys implements Reader: the public Kyber prekeys held for a
// device, its one-time ones not yet handed out, then its last-resort one.
func (s *Bolt) KEMPreKeys(ctx context.Context, addr Address) ([]KEMPreKey, error) {
	var out []KEMPreKey
	err := s.view(ctx, func(tx *bolt.Tx) error {
		prefix := deviceKey(addr)
		c := tx.Bucket([]byte(bucketKEMPreKeys)).Cursor()
		for k, v := c.Seek(prefix); k != nil && hasPrefix(k, prefix); k, v = c.Next() {
			kem, err := decodeKEM(v)
			if err != nil {
				return err
			}
			kem.ID = binary.BigEndian.Uint32(k[len(k)-4:])
			out = append(out, kem)
		}
		if v := tx.Bucket([]byte(bucketKEMLastResort)).Get(prefix); v != nil {
			kem, err := decodeKEM(v)
			if err != nil {
				return err
			}
			out = append(out, kem)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: KEM prekeys: %w", err)
	}
	return out, nil
}

// PreKeyCounts implements Store and Reader.
func (s *Bolt) PreKeyCounts(ctx context.Context, addr Address) (PreKeyCounts, error) {
	var c PreKeyCounts
	err := s.view(ctx, func(tx *bolt.Tx) error {
		c = PreKeyCounts{
			PreKeys:       countPrefix(tx.Bucket([]byte(bucketPreKeys)), deviceKey(addr)),
			KEMPreKeys:    countPrefix(tx.Bucket([]byte(bucketKEMPreKeys)), deviceKey(addr)),
			SignedPreKey:  tx.Bucket([]byte(bucketSignedPreKeys)).Get(deviceKey(addr)) != nil,
			KEMLastResort: tx.Bucket([]byte(bucketKEMLastResort)).Get(deviceKey(addr)) != nil,
		}
		return nil
	})
	if err != nil {
		return PreKeyCounts{}, fmt.Errorf("store: prekey counts: %w", err)
	}
	return c, nil
}
