package messenger

import (
	"context"
	"errors"
	"fmt"

	"github.com/blindpost/blindpost/profile"
	"github.com/blindpost/blindpost/session"
)

// Send encrypts text for name, saves it, and hands it to the relay. It
// returns once the relay has stored it durably (the message is then
// "sent"); if the relay cannot be reached the message stays queued in the
// outbox and is sent on the next connection, and the error says so.
func (m *Messenger) Send(ctx context.Context, name, text string) (profile.Message, error) {
	if len(text) > MaxTextSize {
		return profile.Message{}, fmt.Errorf("messenger: message of %d bytes is over %d", len(text), MaxTextSize)
	}
	id, err := m.newID()
	if err != nil {
		return profile.Message{}, err
	}
	now := m.cfg.Now().UTC()
	msg := profile.Message{ID: id, Conversation: name, From: m.acct.Name, Text: text, SentAt: now}
	if err := m.queue(ctx, name, payload{Kind: kindText, ID: id, Text: text, SentAt: now}, &msg); err != nil {
		return profile.Message{}, err
	}
	if err := m.FlushOutbox(ctx); err != nil {
		return msg, fmt.Errorf("messenger: queued, not yet sent: %w", err)
	}
	msg.Status = profile.StatusSent
	return msg, nil
}

// queue encrypts a payload for name and writes it to the outbox with its
// session commit (and msg, when not nil) in one transaction.
func (m *Messenger) queue(ctx context.Context, name string, p payload, msg *profile.Message) error {
	if err := ValidName(name); err != nil {
		return err
	}
	m.opMu.Lock()
	defer m.opMu.Unlock()
	return m.queueLocked(ctx, name, p, msg)
}

// queueLocked is queue with opMu held.
func (m *Messenger) queueLocked(ctx context.Context, name string, p payload, msg *profile.Message) error {
	c, ok, err := m.cfg.Profile.Contact(name)
	if err != nil {
		return err
	}
	if ok && c.PendingKey != nil {
		return fmt.Errorf("%w (%s)", ErrIdentityChanged, name)
	}
	if err := m.ensureSession(ctx, name); err != nil {
		return err
	}
	pt, err := encodePayload(p)
	if err != nil {
		return err
	}
	d := m.cfg.Profile.Deferred()
	typ, ct, err := m.cipher(d).Encrypt(addr(name), pt)
	if errors.Is(err, session.ErrUntrustedIdentity) {
		return fmt.Errorf("%w (%s)", ErrIdentityChanged, name)
	}
	if err != nil {
		return fmt.Errorf("messenger: encrypt for %s: %w", name, err)
	}
	_, err = m.cfg.Profile.RecordOutgoing(d.Take(), msg, profile.Outgoing{To: name, DeviceID: DeviceID, Type: typ, Ciphertext: ct})
	return err
}

// StartSession makes sure a session with name exists, fetching its bundle
// from the relay if needed, so that its safety number can be shown before
// the first message.
func (m *Messenger) StartSession(ctx context.Context, name string) error {
	if err := ValidName(name); err != nil {
		return err
	}
	m.opMu.Lock()
	defer m.opMu.Unlock()
	return m.ensureSession(ctx, name)
}

// ensureSession starts a session with name from its bundle if there is
// none. A bundle whose identity key differs from the trusted one marks the
// contact as changed and sends nothing.
func (m *Messenger) ensureSession(ctx context.Context, name string) error {
	rec, ok, err := m.cfg.Profile.Record(addr(name))
	if err != nil {
		return err
	}
	if ok && rec.Current != nil {
		return nil
	}
	c, err := m.current()
	if err != nil {
		return err
	}
	rb, err := c.FetchBundle(ctx, name, DeviceID)
	if err != nil {
		return fmt.Errorf("messenger: fetch %s's keys: %w", name, err)
	}
	b, err := X3DHBundle(rb, DeviceID)
	if err != nil {
		return err
	}
	err = m.cipher(m.cfg.Profile).ProcessBundle(addr(name), b)
	if errors.Is(err, session.ErrUntrustedIdentity) {
		key := b.IdentityKey
		if uerr := m.cfg.Profile.UpdateContact(name, func(c *profile.Contact) { c.PendingKey = &key }); uerr != nil {
			return uerr
		}
		m.emit(Event{Kind: EventIdentityChanged, Contact: name, Key: key})
		return fmt.Errorf("%w (%s)", ErrIdentityChanged, name)
	}
	if err != nil {
		return fmt.Errorf("messenger: start a session with %s: %w", name, err)
	}
	// The session's commit stored the trusted identity key.
	return m.cfg.Profile.UpdateContact(name, func(c *profile.Contact) {
		if c.Added.IsZero() {
			c.Added = m.cfg.Now().UTC()
		}
	})
}

// FlushOutbox hands every queued ciphertext to the relay, oldest first,
// and marks each sent once the relay has stored it.
func (m *Messenger) FlushOutbox(ctx context.Context) error {
	m.flushMu.Lock()
	defer m.flushMu.Unlock()
	c, err := m.current()
	if err != nil {
		return err
	}
	box, err := m.cfg.Profile.Outbox()
	if err != nil {
		return err
	}
	for _, o := range box {
		if _, err := c.Send(ctx, o.To, o.DeviceID, uint32(o.Type), o.Ciphertext); err != nil {
			return fmt.Errorf("messenger: send to %s: %w", o.To, err)
		}
		if err := m.cfg.Profile.MarkSent(o); err != nil {
			return err
		}
		m.emit(Event{Kind: EventSent, Contact: o.To})
	}
	return nil
}
