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

// Enqueue implements Store.
func (s *Bolt) Enqueue(ctx context.Context, e Envelope) (uint64, error) {
	var id uint64
	err := s.updateSized(ctx, len(e.Content), func(tx *bolt.Tx) error {
		var err error
		id, err = s.enqueue(tx, e)
		if err != nil {
			return err
		}
		if e.Kind == KindMessage {
			return addContacts(tx, e.Sender.Name, e.Recipient.Name)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: enqueue: %w", err)
	}
	return id, nil
}

// enqueue appends e to its recipient's queue. It refuses (before writing)
// an unknown recipient device and a full queue.
func (s *Bolt) enqueue(tx *bolt.Tx, e Envelope) (uint64, error) {
	key := deviceKey(e.Recipient)
	if tx.Bucket([]byte(bucketDevices)).Get(key) == nil {
		return 0, refuse(ErrNotFound)
	}
	metas := tx.Bucket([]byte(bucketQueueMeta))
	var meta storepb.QueueMeta
	if err := getRecord(metas, key, &meta); err != nil && !errors.Is(err, ErrNotFound) {
		return 0, err
	}
	if s.opts.QueueCap > 0 && meta.Count >= uint64(s.opts.QueueCap) {
		return 0, refuse(ErrQueueFull)
	}
	meta.LastId++
	meta.Count++
	rec := &storepb.Envelope{
		Kind:         uint32(e.Kind),
		Sender:       e.Sender.Name,
		SenderDevice: e.Sender.Device,
		Type:         e.Type,
		Content:      e.Content,
		ServerTimeMs: e.ServerTime.UnixMilli(),
	}
	if e.Kind == KindIdentityChange {
		rec.IdentityKey = e.IdentityKey.Bytes()
	}
	if err := putRecord(tx.Bucket([]byte(bucketQueues)), deviceSeqKey(e.Recipient, meta.LastId), rec); err != nil {
		return 0, err
	}
	if err := putRecord(metas, key, &meta); err != nil {
		return 0, err
	}
	return meta.LastId, nil
}

// Pending implements Store and Reader.
func (s *Bolt) Pending(ctx context.Context, addr Address, after uint64, limit int, notBefore time.Time) ([]Envelope, error) {
	var out []Envelope
	err := s.view(ctx, func(tx *bolt.Tx) error {
		out = out[:0]
		prefix := deviceKey(addr)
		c := tx.Bucket([]byte(bucketQueues)).Cursor()
		for k, v := c.Seek(deviceSeqKey(addr, after+1)); k != nil && hasPrefix(k, prefix); k, v = c.Next() {
			if limit > 0 && len(out) >= limit {
				break
			}
			e, err := decodeEnvelope(addr, k, v)
			if err != nil {
				return err
			}
			if e.ServerTime.Before(notBefore) {
				continue
			}
			out = append(out, e)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: pending: %w", err)
	}
	return out, nil
}

func decodeEnvelope(recipient Address, k, v []byte) (Envelope, error) {
	key, err := decodeKey(KeyDeviceSeq, k)
	if err != nil {
		return Envelope{}, err
	}
	var rec storepb.Envelope
	if err := unmarshal(v, &rec); err != nil {
		return Envelope{}, err
	}
	e := Envelope{
		ID:         key.ID,
		Kind:       Kind(rec.Kind),
		Sender:     Address{rec.Sender, rec.SenderDevice},
		Recipient:  recipient,
		Type:       rec.Type,
		Content:    rec.Content,
		ServerTime: time.UnixMilli(rec.ServerTimeMs),
	}
	if e.Kind == KindIdentityChange {
		if e.IdentityKey, err = identity.ParsePublicKey(rec.IdentityKey); err != nil {
			return Envelope{}, fmt.Errorf("store: corrupt identity-change notice: %w", err)
		}
	}
	return e, nil
}

// Ack implements Store.
func (s *Bolt) Ack(ctx context.Context, addr Address, ids []uint64) error {
	err := s.update(ctx, func(tx *bolt.Tx) error {
		queues := tx.Bucket([]byte(bucketQueues))
		n := 0
		for _, id := range ids {
			k := deviceSeqKey(addr, id)
			if queues.Get(k) == nil {
				continue
			}
			if err := queues.Delete(k); err != nil {
				return err
			}
			n++
		}
		return s.adjustCount(tx, addr, n)
	})
	if err != nil {
		return fmt.Errorf("store: ack: %w", err)
	}
	return nil
}

// adjustCount lowers a queue's count by n deletions.
func (s *Bolt) adjustCount(tx *bolt.Tx, addr Address, n int) error {
	if n == 0 {
		return nil
	}
	metas := tx.Bucket([]byte(bucketQueueMeta))
	var meta storepb.QueueMeta
	if err := getRecord(metas, deviceKey(addr), &meta); err != nil {
		return err
	}
	if meta.Count < uint64(n) {
		meta.Count = 0
	} else {
		meta.Count -= uint64(n)
	}
	return putRecord(metas, deviceKey(addr), &meta)
}

// Expire implements Store. Each queue is scanned from its oldest envelope
// and left at its first unexpired one, so the cost is the number of
// queues plus the number of envelopes deleted.
func (s *Bolt) Expire(ctx context.Context, before time.Time, limit int) (int, error) {
	var deleted int
	err := s.update(ctx, func(tx *bolt.Tx) error {
		deleted = 0
		var addrs []Address
		err := tx.Bucket([]byte(bucketQueueMeta)).ForEach(func(k, _ []byte) error {
			key, err := decodeKey(KeyDevice, k)
			addrs = append(addrs, Address{key.Name, key.Device})
			return err
		})
		if err != nil {
			return err
		}
		for _, addr := range addrs {
			if deleted >= limit {
				break
			}
			n, err := expireQueue(tx, addr, before, limit-deleted)
			if err != nil {
				return err
			}
			if err := s.adjustCount(tx, addr, n); err != nil {
				return err
			}
			deleted += n
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: expire: %w", err)
	}
	return deleted, nil
}

func expireQueue(tx *bolt.Tx, addr Address, before time.Time, limit int) (int, error) {
	prefix := deviceKey(addr)
	c := tx.Bucket([]byte(bucketQueues)).Cursor()
	n := 0
	for k, v := c.Seek(prefix); k != nil && hasPrefix(k, prefix) && n < limit; k, v = c.Seek(prefix) {
		var rec storepb.Envelope
		if err := unmarshal(v, &rec); err != nil {
			return n, err
		}
		if !time.UnixMilli(rec.ServerTimeMs).Before(before) {
			break
		}
		if err := c.Delete(); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
