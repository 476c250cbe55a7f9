package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/blindpost/blindpost/identity"
	"github.com/blindpost/blindpost/relay/store/storepb"
)

// Register implements Store.
func (s *Bolt) Register(ctx context.Context, r Registration) (RegisterResult, error) {
	var res RegisterResult
	err := s.update(ctx, func(tx *bolt.Tx) error {
		res = RegisterResult{}
		return s.register(tx, r, &res)
	})
	if err != nil {
		return RegisterResult{}, fmt.Errorf("store: register: %w", err)
	}
	return res, nil
}

func (s *Bolt) register(tx *bolt.Tx, r Registration, res *RegisterResult) error {
	accounts := tx.Bucket([]byte(bucketAccounts))
	var acc storepb.Account
	err := getRecord(accounts, nameKey(r.Name), &acc)
	switch {
	case errors.Is(err, ErrNotFound):
		res.Created = true
		acc = storepb.Account{IdentityKey: r.IdentityKey.Bytes(), CreatedUnix: r.Time.Unix()}
		setRecovery(&acc, r.Recovery)
	case err != nil:
		return err
	default:
		current, err := identity.ParsePublicKey(acc.IdentityKey)
		if err != nil {
			return fmt.Errorf("stored identity key: %w", err)
		}
		if !current.Equal(r.IdentityKey) {
			if !r.Change || !current.Equal(r.Previous) {
				return refuse(ErrIdentityMismatch)
			}
			return s.changeIdentity(tx, r, &acc, current, res)
		}
		if r.Recovery != nil {
			setRecovery(&acc, r.Recovery)
		}
		if err := s.checkDeviceLimit(tx, r); err != nil {
			return err
		}
	}
	if err := putRecord(accounts, nameKey(r.Name), &acc); err != nil {
		return err
	}
	return putDevice(tx, r)
}

// checkDeviceLimit refuses a new device beyond MaxDevices.
func (s *Bolt) checkDeviceLimit(tx *bolt.Tx, r Registration) error {
	devices := tx.Bucket([]byte(bucketDevices))
	if devices.Get(deviceKey(Address{r.Name, r.Device})) != nil || s.opts.MaxDevices == 0 {
		return nil
	}
	if countPrefix(devices, namePrefix(r.Name)) >= s.opts.MaxDevices {
		return refuse(ErrTooManyDevices)
	}
	return nil
}

// putDevice writes the registering device. A device re-registered with a
// new registration id is a new installation: the prekeys of the old one
// are dropped, since their private halves are gone.
func putDevice(tx *bolt.Tx, r Registration) error {
	addr := Address{r.Name, r.Device}
	devices := tx.Bucket([]byte(bucketDevices))
	var d storepb.Device
	err := getRecord(devices, deviceKey(addr), &d)
	switch {
	case errors.Is(err, ErrNotFound):
		d = storepb.Device{CreatedUnix: r.Time.Unix(), LastSeenDay: unixDay(r.Time)}
	case err != nil:
		return err
	case d.RegistrationId != r.RegistrationID:
		if err := deleteDevicePreKeys(tx, addr); err != nil {
			return err
		}
	}
	d.RegistrationId = r.RegistrationID
	d.LastSeenDay = unixDay(r.Time)
	d.SecretSalt, d.SecretHash = nil, nil
	if r.Secret != nil {
		d.SecretSalt, d.SecretHash = r.Secret.Salt[:], r.Secret.Sum[:]
	}
	return putRecord(devices, deviceKey(addr), &d)
}

// changeIdentity rebinds the name: it records the change, drops every
// device but the registering one with all prekeys and the other devices'
// queues (their sessions died with the old key), and queues a notice for
// every device of every contact.
func (s *Bolt) changeIdentity(tx *bolt.Tx, r Registration, acc *storepb.Account, old identity.PublicKey, res *RegisterResult) error {
	res.IdentityChanged = true
	changes := tx.Bucket([]byte(bucketIdentityChanges))
	seq, err := changes.NextSequence()
	if err != nil {
		return err
	}
	change := &storepb.IdentityChange{
		OldIdentityKey: old.Bytes(), NewIdentityKey: r.IdentityKey.Bytes(), ChangedUnix: r.Time.Unix(),
	}
	if err := putRecord(changes, nameSeqKey(r.Name, seq), change); err != nil {
		return err
	}
	acc.IdentityKey = r.IdentityKey.Bytes()
	acc.IdentityChangedUnix = r.Time.Unix()
	setRecovery(acc, r.Recovery)
	if err := putRecord(tx.Bucket([]byte(bucketAccounts)), nameKey(r.Name), acc); err != nil {
		return err
	}
	if err := s.dropOtherDevices(tx, r); err != nil {
		return err
	}
	if err := putDevice(tx, r); err != nil {
		return err
	}
	return s.notifyContacts(tx, r, res)
}

func (s *Bolt) dropOtherDevices(tx *bolt.Tx, r Registration) error {
	ids, err := deviceIDs(tx, r.Name)
	if err != nil {
		return err
	}
	for _, id := range ids {
		addr := Address{r.Name, id}
		if err := deleteDevicePreKeys(tx, addr); err != nil {
			return err
		}
		if id == r.Device {
			continue
		}
		for _, b := range []string{bucketDevices, bucketQueueMeta} {
			if err := tx.Bucket([]byte(b)).Delete(deviceKey(addr)); err != nil {
				return err
			}
		}
		if err := deletePrefix(tx.Bucket([]byte(bucketQueues)), deviceKey(addr)); err != nil {
			return err
		}
	}
	return nil
}

// notifyContacts queues an identity-change notice for every device of
// every contact of r.Name. A contact whose queue is full misses the notice;
// its client still sees the new key in the next session it starts.
func (s *Bolt) notifyContacts(tx *bolt.Tx, r Registration, res *RegisterResult) error {
	peers := prefixSuffixes(tx.Bucket([]byte(bucketContacts)), namePrefix(r.Name))
	for _, peer := range peers {
		ids, err := deviceIDs(tx, peer)
		if err != nil {
			return err
		}
		for _, id := range ids {
			e := Envelope{
				Kind:        KindIdentityChange,
				Sender:      Address{r.Name, r.Device},
				Recipient:   Address{peer, id},
				ServerTime:  r.Time,
				IdentityKey: r.IdentityKey,
			}
			if _, err := s.enqueue(tx, e); err != nil {
				if errors.Is(err, ErrQueueFull) {
					s.log.Warn("store: identity-change notice dropped: queue full")
					continue
				}
				return unwrapRefusal(err)
			}
			res.Notified = append(res.Notified, e.Recipient)
		}
	}
	return nil
}

func setRecovery(acc *storepb.Account, h *SecretHash) {
	acc.RecoverySalt, acc.RecoveryHash = nil, nil
	if h != nil {
		acc.RecoverySalt, acc.RecoveryHash = h.Salt[:], h.Sum[:]
	}
}

// deviceIDs lists the device ids of an account.
func deviceIDs(tx *bolt.Tx, name string) ([]uint32, error) {
	var ids []uint32
	prefix := namePrefix(name)
	c := tx.Bucket([]byte(bucketDevices)).Cursor()
	for k, _ := c.Seek(prefix); k != nil && hasPrefix(k, prefix); k, _ = c.Next() {
		key, err := decodeKey(KeyDevice, k)
		if err != nil {
			return nil, err
		}
		ids = append(ids, key.Device)
	}
	return ids, nil
}

// prefixSuffixes returns what follows prefix in every key that has it.
func prefixSuffixes(b *bolt.Bucket, prefix []byte) []string {
	var out []string
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && hasPrefix(k, prefix); k, _ = c.Next() {
		out = append(out, string(k[len(prefix):]))
	}
	return out
}

// addContacts records a and b as contacts of each other. It writes only
// when the pair is new.
func addContacts(tx *bolt.Tx, a, b string) error {
	if a == b {
		return nil
	}
	contacts := tx.Bucket([]byte(bucketContacts))
	for _, k := range [][]byte{peerKey(a, b), peerKey(b, a)} {
		if contacts.Get(k) != nil {
			continue
		}
		if err := contacts.Put(k, []byte{}); err != nil {
			return err
		}
	}
	return nil
}

// Account implements Store and Reader.
func (s *Bolt) Account(ctx context.Context, name string) (Account, error) {
	var a Account
	err := s.view(ctx, func(tx *bolt.Tx) error {
		var err error
		a, err = readAccount(tx, name)
		return err
	})
	if err != nil {
		return Account{}, fmt.Errorf("store: account: %w", err)
	}
	return a, nil
}

func readAccount(tx *bolt.Tx, name string) (Account, error) {
	var rec storepb.Account
	if err := getRecord(tx.Bucket([]byte(bucketAccounts)), nameKey(name), &rec); err != nil {
		return Account{}, err
	}
	key, err := identity.ParsePublicKey(rec.IdentityKey)
	if err != nil {
		return Account{}, fmt.Errorf("stored identity key: %w", err)
	}
	a := Account{
		Name:        name,
		IdentityKey: key,
		Created:     time.Unix(rec.CreatedUnix, 0),
		Recovery:    secretHash(rec.RecoverySalt, rec.RecoveryHash),
	}
	if rec.IdentityChangedUnix != 0 {
		a.IdentityChanged = time.Unix(rec.IdentityChangedUnix, 0)
	}
	prefix := namePrefix(name)
	c := tx.Bucket([]byte(bucketDevices)).Cursor()
	for k, v := c.Seek(prefix); k != nil && hasPrefix(k, prefix); k, v = c.Next() {
		d, err := decodeDevice(k, v)
		if err != nil {
			return Account{}, err
		}
		a.Devices = append(a.Devices, d)
	}
	return a, nil
}

func decodeDevice(k, v []byte) (Device, error) {
	key, err := decodeKey(KeyDevice, k)
	if err != nil {
		return Device{}, err
	}
	var rec storepb.Device
	if err := unmarshal(v, &rec); err != nil {
		return Device{}, err
	}
	return Device{
		ID:             key.Device,
		RegistrationID: rec.RegistrationId,
		Secret:         secretHash(rec.SecretSalt, rec.SecretHash),
		Created:        time.Unix(rec.CreatedUnix, 0),
		LastSeen:       time.Unix(rec.LastSeenDay*secondsPerDay, 0).UTC(),
	}, nil
}

// secretHash rebuilds a stored hash; a missing or malformed one reads as
// no secret, which no presented secret can match.
func secretHash(salt, sum []byte) *SecretHash {
	var h SecretHash
	if len(salt) != len(h.Salt) || len(sum) != len(h.Sum) {
		return nil
	}
	copy(h.Salt[:], salt)
	copy(h.Sum[:], sum)
	return &h
}

// Touch implements Store. It writes only when the day changed.
func (s *Bolt) Touch(ctx context.Context, addr Address, day time.Time) error {
	err := s.update(ctx, func(tx *bolt.Tx) error {
		devices := tx.Bucket([]byte(bucketDevices))
		var d storepb.Device
		if err := getRecord(devices, deviceKey(addr), &d); err != nil {
			if errors.Is(err, ErrNotFound) {
				return refuse(err)
			}
			return err
		}
		if d.LastSeenDay == unixDay(day) {
			return nil
		}
		d.LastSeenDay = unixDay(day)
		return putRecord(devices, deviceKey(addr), &d)
	})
	if err != nil {
		return fmt.Errorf("store: touch: %w", err)
	}
	return nil
}

const secondsPerDay = 24 * 60 * 60

func unixDay(t time.Time) int64 {
	return t.Unix() / secondsPerDay
}

// Accounts implements Reader.
func (s *Bolt) Accounts(ctx context.Context) ([]string, error) {
	var names []string
	err := s.view(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket([]byte(bucketAccounts)).ForEach(func(k, _ []byte) error {
			names = append(names, string(k))
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("store: accounts: %w", err)
	}
	return names, nil
}

// Contacts implements Reader.
func (s *Bolt) Contacts(ctx context.Context, name string) ([]string, error) {
	var peers []string
	err := s.view(ctx, func(tx *bolt.Tx) error {
		peers = prefixSuffixes(tx.Bucket([]byte(bucketContacts)), namePrefix(name))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: contacts: %w", err)
	}
	return peers, nil
}

// IdentityChanges implements Reader.
func (s *Bolt) IdentityChanges(ctx context.Context, name string) ([]IdentityChange, error) {
	var out []IdentityChange
	err := s.view(ctx, func(tx *bolt.Tx) error {
		prefix := namePrefix(name)
		c := tx.Bucket([]byte(bucketIdentityChanges)).Cursor()
		for k, v := c.Seek(prefix); k != nil && hasPrefix(k, prefix); k, v = c.Next() {
			var rec storepb.IdentityChange
			if err := unmarshal(v, &rec); err != nil {
				return err
			}
			oldKey, err1 := identity.ParsePublicKey(rec.OldIdentityKey)
			newKey, err2 := identity.ParsePublicKey(rec.NewIdentityKey)
			if err1 != nil || err2 != nil {
				return fmt.Errorf("stored identity change: bad key")
			}
			out = append(out, IdentityChange{Old: oldKey, New: newKey, Time: time.Unix(rec.ChangedUnix, 0)})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: identity changes: %w", err)
	}
	return out, nil
}
