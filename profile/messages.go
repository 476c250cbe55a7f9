package profile

import (
	"bytes"

	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/blindpost/blindpost/session"
)

// Status of an outgoing message.
const (
	StatusQueued    = "queued"    // encrypted, not yet acknowledged by the relay
	StatusSent      = "sent"      // stored by the relay
	StatusDelivered = "delivered" // the recipient's client sent a receipt
)

// Message is one entry of a conversation's history.
type Message struct {
	Seq          uint64    `json:"seq"`
	ID           string    `json:"id"` // chosen by the sender, carried inside the ciphertext
	Conversation string    `json:"conversation"`
	From         string    `json:"from"`
	Text         string    `json:"text"`
	SentAt       time.Time `json:"sent_at"`
	ReceivedAt   time.Time `json:"received_at,omitzero"`
	Outgoing     bool      `json:"outgoing"`
	Status       string    `json:"status,omitempty"`
}

// Outgoing is an encrypted message waiting for the relay's acknowledgement.
// Sending the same ciphertext twice is harmless: the recipient's session
// refuses the second copy as a duplicate.
type Outgoing struct {
	Seq        uint64 `json:"seq"`
	To         string `json:"to"`
	DeviceID   uint32 `json:"device_id"`
	Type       int    `json:"type"`
	Ciphertext []byte `json:"ciphertext"`
}

func msgKey(conversation string, seq uint64) []byte {
	return append(append([]byte(conversation), 0), u64key(seq)...)
}

// RecordIncoming writes, in one transaction: the session commit of the
// decryption, the message (if any: receipts carry none), the relay
// envelope id as processed, and an unread mark. A crash before it leaves
// nothing; after it, the envelope is known and is only acknowledged again.
func (p *Profile) RecordIncoming(c *session.Commit, envelopeID string, m *Message) error {
	return p.db.Update(func(tx *bolt.Tx) error {
		if c != nil {
			if err := p.applyCommit(tx, c); err != nil {
				return err
			}
		}
		if m != nil {
			cnt, err := p.updateCounters(tx, func(c *counters) { c.NextMessageSeq++ })
			if err != nil {
				return err
			}
			m.Seq = cnt.NextMessageSeq
			if err := p.put(tx, bucketMessages, msgKey(m.Conversation, m.Seq), m); err != nil {
				return err
			}
			if err := p.updateContact(tx, m.Conversation, func(ct *Contact) {
				ct.Unread++
				if ct.Added.IsZero() {
					ct.Added = m.ReceivedAt
				}
			}); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketEnvelopes).Put([]byte(envelopeID), []byte{1})
	})
}

// EnvelopeSeen reports whether a relay envelope was already processed.
func (p *Profile) EnvelopeSeen(envelopeID string) (bool, error) {
	seen := false
	err := p.db.View(func(tx *bolt.Tx) error {
		seen = tx.Bucket(bucketEnvelopes).Get([]byte(envelopeID)) != nil
		return nil
	})
	return seen, err
}

// RecordOutgoing writes, in one transaction: the session commit of the
// encryption, the message as queued (if m is not nil) and the ciphertext
// in the outbox. It returns the outbox entry.
func (p *Profile) RecordOutgoing(c *session.Commit, m *Message, out Outgoing) (Outgoing, error) {
	err := p.db.Update(func(tx *bolt.Tx) error {
		if err := p.applyCommit(tx, c); err != nil {
			return err
		}
		cnt, err := p.updateCounters(tx, func(c *counters) { c.NextMessageSeq++ })
		if err != nil {
			return err
		}
		out.Seq = cnt.NextMessageSeq
		if m != nil {
			m.Seq, m.Status, m.Outgoing = out.Seq, StatusQueued, true
			if err := p.put(tx, bucketMessages, msgKey(m.Conversation, m.Seq), m); err != nil {
				return err
			}
		}
		return p.put(tx, bucketOutbox, u64key(out.Seq), out)
	})
	return out, err
}

// Outbox returns the messages not yet acknowledged by the relay, oldest
// first.
func (p *Profile) Outbox() ([]Outgoing, error) {
	var out []Outgoing
	err := p.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketOutbox).ForEach(func(k, _ []byte) error {
			var o Outgoing
			if _, err := p.get(tx, bucketOutbox, k, &o); err != nil {
				return err
			}
			out = append(out, o)
			return nil
		})
	})
	return out, err
}

// MarkSent removes an entry from the outbox once the relay stored it, and
// marks its message sent.
func (p *Profile) MarkSent(o Outgoing) error {
	return p.db.Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketOutbox).Delete(u64key(o.Seq)); err != nil {
			return err
		}
		return p.setStatus(tx, o.To, o.Seq, StatusSent, false)
	})
}

// MarkDelivered records a delivery receipt for the message with the given
// id in a conversation.
func (p *Profile) MarkDelivered(conversation, id string) error {
	return p.db.Update(func(tx *bolt.Tx) error {
		m, ok, err := p.findByID(tx, conversation, id)
		if err != nil || !ok {
			return err
		}
		return p.setStatus(tx, conversation, m.Seq, StatusDelivered, true)
	})
}

func (p *Profile) setStatus(tx *bolt.Tx, conversation string, seq uint64, status string, force bool) error {
	var m Message
	ok, err := p.get(tx, bucketMessages, msgKey(conversation, seq), &m)
	if err != nil || !ok {
		return err
	}
	if m.Status == StatusDelivered && !force {
		return nil // a receipt overtook the relay's acknowledgement
	}
	m.Status = status
	return p.put(tx, bucketMessages, msgKey(conversation, seq), m)
}

func (p *Profile) findByID(tx *bolt.Tx, conversation, id string) (Message, bool, error) {
	prefix := append([]byte(conversation), 0)
	c := tx.Bucket(bucketMessages).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		var m Message
		if _, err := p.get(tx, bucketMessages, k, &m); err != nil {
			return m, false, err
		}
		if m.ID == id {
			return m, true, nil
		}
	}
	return Message{}, false, nil
}

// History returns a conversation's messages, oldest first.
func (p *Profile) History(conversation string) ([]Message, error) {
	var out []Message
	prefix := append([]byte(conversation), 0)
	err := p.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketMessages).Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			var m Message
			if _, err := p.get(tx, bucketMessages, k, &m); err != nil {
				return err
			}
			out = append(out, m)
		}
		return nil
	})
	return out, err
}

// MarkRead clears a contact's unread count.
func (p *Profile) MarkRead(name string) error {
	return p.UpdateContact(name, func(c *Contact) { c.Unread = 0 })
}
