package messenger

import (
	"context"
	"errors"
	"fmt"

	"github.com/blindpost/blindpost/identity"
	"github.com/blindpost/blindpost/profile"
	"github.com/blindpost/blindpost/relay/client"
	"github.com/blindpost/blindpost/session"
	"github.com/blindpost/blindpost/wire"
)

// envelopeKey names an envelope across relay restarts: the relay's id
// alone could repeat if the relay's data were lost.
func envelopeKey(e client.Envelope) string {
	return fmt.Sprintf("%d/%d/%s.%d", e.ID, e.ServerTime.UnixMilli(), e.Sender, e.SenderDevice)
}

// HandleEnvelope processes one pushed envelope and acknowledges it to the
// relay once its outcome is saved. An error means nothing was saved and
// the envelope was not acknowledged: the relay will deliver it again.
func (m *Messenger) HandleEnvelope(ctx context.Context, c *client.Client, e client.Envelope) error {
	key := envelopeKey(e)
	seen, err := m.cfg.Profile.EnvelopeSeen(key)
	if err != nil {
		return err
	}
	if !seen && ValidName(e.Sender) != nil {
		// The relay enforces its name rules; a sender name outside them
		// comes from a relay not to be believed. Never make it a contact.
		m.emit(Event{Kind: EventDropped, Err: fmt.Errorf("messenger: envelope from an invalid sender name %q", e.Sender)})
		err = m.cfg.Profile.RecordIncoming(nil, key, nil)
		seen = true
	}
	if err != nil {
		return err
	}
	if !seen {
		switch e.Kind {
		case client.KindIdentityChange:
			err = m.identityNotice(e, key)
		case client.KindMessage:
			err = m.receive(ctx, held{key: key, from: e.Sender, device: e.SenderDevice, typ: int(e.Type), content: e.Content})
		default:
			err = m.cfg.Profile.RecordIncoming(nil, key, nil)
		}
		if err != nil {
			return err
		}
	}
	if err := c.Ack(ctx, e.ID); err != nil {
		return fmt.Errorf("messenger: %w", err)
	}
	if err := m.FlushOutbox(ctx); err != nil && !errors.Is(err, ErrNotConnected) {
		m.log.Warn("receipts not sent yet", "err", err)
	}
	return nil
}

// held is an incoming message before decryption.
type held struct {
	key     string
	from    string
	device  uint32
	typ     int
	content []byte
	retry   bool // already held once: do not hold again
}

// errStillUntrusted: a held message is still from an unapproved key.
var errStillUntrusted = errors.New("messenger: still from an unapproved identity key")

// identityNotice records the relay's notice that a contact's identity key
// changed: the contact is marked, and sending to it stops until approval.
func (m *Messenger) identityNotice(e client.Envelope, key string) error {
	m.opMu.Lock() // against an approval between the check and the mark
	defer m.opMu.Unlock()
	trusted, ok, err := m.cfg.Profile.TrustedIdentity(addr(e.Sender))
	if err != nil {
		return err
	}
	if ok && !trusted.Equal(e.IdentityKey) {
		k := e.IdentityKey
		if err := m.cfg.Profile.UpdateContact(e.Sender, func(c *profile.Contact) { c.PendingKey = &k }); err != nil {
			return err
		}
		m.emit(Event{Kind: EventIdentityChanged, Contact: e.Sender, Key: k})
	}
	return m.cfg.Profile.RecordIncoming(nil, key, nil)
}

// receive decrypts one message and saves its outcome in one transaction.
func (m *Messenger) receive(ctx context.Context, h held) error {
	m.opMu.Lock()
	defer m.opMu.Unlock()
	return m.receiveLocked(ctx, h)
}

// testHookDecrypted, when set by a test, runs between a decryption and the
// saving of its outcome.
var testHookDecrypted func()

// receiveLocked is receive with opMu held.
func (m *Messenger) receiveLocked(ctx context.Context, h held) error {
	p := m.cfg.Profile
	d := p.Deferred()
	pt, err := m.cipher(d).Decrypt(session.Address{Name: h.from, DeviceID: h.device}, h.typ, h.content)
	if testHookDecrypted != nil {
		testHookDecrypted()
	}
	switch {
	case errors.Is(err, session.ErrUntrustedIdentity) && h.retry:
		return errStillUntrusted
	case errors.Is(err, session.ErrUntrustedIdentity):
		return m.hold(h)
	case errors.Is(err, session.ErrDuplicate):
		// Already processed (a re-sent ciphertext): nothing new.
		return p.RecordIncoming(nil, h.key, nil)
	case err != nil && isMessageFault(err):
		m.emit(Event{Kind: EventDropped, Contact: h.from, Err: err})
		m.log.Info("message dropped", "from", h.from, "err", err)
		return p.RecordIncoming(nil, h.key, nil)
	case err != nil:
		return err
	}
	commit := d.Take()
	pl, err := decodePayload(pt)
	if err != nil {
		// The session moved on; the content is unusable.
		m.emit(Event{Kind: EventDropped, Contact: h.from, Err: err})
		return p.RecordIncoming(commit, h.key, nil)
	}
	switch pl.Kind {
	case kindReceipt:
		if err := p.RecordIncoming(commit, h.key, nil); err != nil {
			return err
		}
		if err := p.MarkDelivered(h.from, pl.For); err != nil {
			return err
		}
		m.emit(Event{Kind: EventDelivered, Contact: h.from, Message: &profile.Message{ID: pl.For, Conversation: h.from}})
		return nil
	default:
		msg := &profile.Message{ID: pl.ID, Conversation: h.from, From: h.from, Text: pl.Text,
			SentAt: pl.SentAt, ReceivedAt: m.cfg.Now().UTC()}
		if err := p.RecordIncoming(commit, h.key, msg); err != nil {
			return err
		}
		m.emit(Event{Kind: EventMessage, Contact: h.from, Message: msg})
		// A delivery receipt travels as an encrypted message too. It is
		// queued after the message is saved; losing it costs only a mark.
		rid, err := m.newID()
		if err == nil {
			err = m.queueLocked(ctx, h.from, payload{Kind: kindReceipt, ID: rid, For: pl.ID, SentAt: m.cfg.Now().UTC()}, nil)
		}
		if err != nil {
			m.log.Info("receipt not queued", "to", h.from, "err", err)
		}
		return nil
	}
}

// hold keeps a message from a contact whose identity key changed, and
// marks the contact, so that the user decides before anything is read or
// sent.
func (m *Messenger) hold(h held) error {
	var newKey *identity.PublicKey
	if h.typ == wire.TypePreKey {
		if pm, err := wire.ParsePreKeySignalMessage(h.content); err == nil {
			newKey = &pm.IdentityKey
		}
	}
	err := m.cfg.Profile.Hold(profile.Held{Key: h.key, From: h.from, Device: h.device, Type: h.typ, Content: h.content})
	if err != nil {
		return err
	}
	if newKey != nil {
		if err := m.cfg.Profile.UpdateContact(h.from, func(c *profile.Contact) { c.PendingKey = newKey }); err != nil {
			return err
		}
		m.emit(Event{Kind: EventIdentityChanged, Contact: h.from, Key: *newKey})
	}
	return nil
}

// Approve trusts the new identity key of name (the one a warning showed),
// then decrypts the messages held while it was unapproved. It holds opMu
// throughout: a message being decrypted under the old trust cannot be held
// after the approval and so escape the release below.
func (m *Messenger) Approve(ctx context.Context, name string) error {
	m.opMu.Lock()
	defer m.opMu.Unlock()
	c, ok, err := m.cfg.Profile.Contact(name)
	if err != nil {
		return err
	}
	if !ok || c.PendingKey == nil {
		return fmt.Errorf("messenger: no identity change to approve for %s", name)
	}
	if err := m.cfg.Profile.Approve(addr(name), *c.PendingKey); err != nil {
		return err
	}
	heldMsgs, err := m.cfg.Profile.HeldFrom(name)
	if err != nil {
		return err
	}
	for _, hm := range heldMsgs {
		h := held{key: hm.Key, from: hm.From, device: hm.Device, typ: hm.Type, content: hm.Content, retry: true}
		if err := m.receiveLocked(ctx, h); errors.Is(err, errStillUntrusted) {
			continue // from yet another key: stays held
		} else if err != nil {
			return err
		}
		if err := m.cfg.Profile.Release(hm.Key); err != nil {
			return err
		}
	}
	return nil
}
