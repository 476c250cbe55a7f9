package messenger

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/blindpost/blindpost/relay/client"
)

// Connect dials the relay, registers this device (which also authenticates
// the connection; registering again with the same identity key is
// harmless), keeps the prekeys on the relay topped up, and sends whatever
// the outbox holds. The connection stays in use until Close or until it
// drops.
func (m *Messenger) Connect(ctx context.Context) (*client.Client, error) {
	c, err := client.Dial(ctx, m.cfg.Relay, client.Options{Rand: m.cfg.Rand, Logger: m.log})
	if err != nil {
		return nil, fmt.Errorf("messenger: connect %s: %w", m.cfg.Relay, err)
	}
	if _, err := c.Register(ctx, client.Registration{
		Name: m.acct.Name, DeviceID: DeviceID, RegistrationID: m.acct.RegistrationID, IdentityKey: m.acct.Identity,
	}); err != nil {
		c.Close()
		return nil, fmt.Errorf("messenger: register as %s: %w", m.acct.Name, err)
	}
	if err := m.maintainKeys(ctx, c); err != nil {
		c.Close()
		return nil, err
	}
	m.connMu.Lock()
	old := m.conn
	m.conn = c
	m.connMu.Unlock()
	if old != nil {
		old.Close()
	}
	m.emit(Event{Kind: EventConnected})
	if err := m.FlushOutbox(ctx); err != nil {
		m.log.Warn("outbox not flushed", "err", err)
	}
	return c, nil
}

// Close closes the relay connection, if any.
func (m *Messenger) Close() error {
	m.connMu.Lock()
	c := m.conn
	m.conn = nil
	m.connMu.Unlock()
	if c != nil {
		return c.Close()
	}
	return nil
}

func (m *Messenger) current() (*client.Client, error) {
	m.connMu.Lock()
	defer m.connMu.Unlock()
	if m.conn == nil {
		return nil, ErrNotConnected
	}
	select {
	case <-m.conn.Done():
		return nil, ErrNotConnected
	default:
	}
	return m.conn, nil
}

// maintainKeys keeps the relay's prekeys for this device current: the
// signed prekey and the last-resort Kyber prekey (uploaded when the relay
// has none, replaced together every SignedPreKeyRotation), and a batch of
// one-time prekeys of each kind, EC and Kyber, when the relay holds fewer
// than preKeyLow. A profile from before Kyber prekeys gets both kinds of
// Kyber prekey here, on its first connection.
func (m *Messenger) maintainKeys(ctx context.Context, c *client.Client) error {
	counts, err := c.CountPreKeys(ctx)
	if err != nil {
		return fmt.Errorf("messenger: %w", err)
	}
	p, now := m.cfg.Profile, m.cfg.Now()
	var up client.PreKeyUpload
	rotated, err := m.signedPreKey(&up, counts, now)
	if err != nil {
		return err
	}
	if err := m.kyberLastResort(&up, counts, rotated, now); err != nil {
		return err
	}
	if counts.PreKeys < preKeyLow {
		keys, err := p.NewPreKeys(m.cfg.Rand, PreKeyBatch)
		if err != nil {
			return err
		}
		up.PreKeys = client.PublicPreKeys(keys)
	}
	var kyberIDs []uint32
	if counts.KEMPreKeys < preKeyLow {
		keys, err := p.NewKyberPreKeys(m.cfg.Rand, KyberPreKeyBatch, now)
		if err != nil {
			return err
		}
		for _, k := range keys {
			up.KEMPreKeys = append(up.KEMPreKeys, PublicKyberPreKey(k))
			kyberIDs = append(kyberIDs, k.ID)
		}
	}
	if up.SignedPreKey != nil || up.KEMLastResort != nil || up.PreKeys != nil || up.KEMPreKeys != nil {
		if err := c.UploadPreKeys(ctx, up); err != nil {
			return fmt.Errorf("messenger: %w", err)
		}
		m.log.Info("prekeys uploaded", "signed", up.SignedPreKey != nil, "one_time", len(up.PreKeys),
			"kyber_last_resort", up.KEMLastResort != nil, "kyber_one_time", len(up.KEMPreKeys))
	}
	if kyberIDs != nil {
		// The upload replaced the relay's unused one-time Kyber prekeys.
		if err := p.RetireKyberPreKeys(kyberIDs, now); err != nil {
			return err
		}
	}
	return p.PruneKyberPreKeys(now.Add(-signedPreKeyGrace))
}

// signedPreKey adds the signed prekey to up when the relay has none or it
// is due for rotation (then it is a new one, and rotated is true).
func (m *Messenger) signedPreKey(up *client.PreKeyUpload, counts client.PreKeyCounts, now time.Time) (rotated bool, err error) {
	p := m.cfg.Profile
	spk, ok, err := p.LatestSignedPreKey()
	if err != nil {
		return false, err
	}
	if ok && now.Sub(time.UnixMilli(spk.Created)) <= SignedPreKeyRotation {
		if !counts.SignedPreKey {
			s := client.PublicSignedPreKey(spk)
			up.SignedPreKey = &s
		}
		return false, nil
	}
	if spk, err = p.NewSignedPreKey(m.cfg.Rand, now); err != nil {
		return false, err
	}
	s := client.PublicSignedPreKey(spk)
	up.SignedPreKey = &s
	return true, p.PruneSignedPreKeys(now.Add(-signedPreKeyGrace))
}

// kyberLastResort adds the last-resort Kyber prekey to up when the relay
// has none, and makes a new one when there is none, when it is due for
// rotation, or when the signed prekey was just rotated (so the two rotate
// together, also in a profile that got its first one later).
func (m *Messenger) kyberLastResort(up *client.PreKeyUpload, counts client.PreKeyCounts, rotate bool, now time.Time) error {
	p := m.cfg.Profile
	k, ok, err := p.LatestKyberLastResort()
	if err != nil {
		return err
	}
	if ok && !rotate && now.Sub(time.UnixMilli(k.Created)) <= SignedPreKeyRotation {
		if !counts.KEMLastResort {
			pk := PublicKyberPreKey(k)
			up.KEMLastResort = &pk
		}
		return nil
	}
	if k, err = p.NewKyberLastResort(m.cfg.Rand, now); err != nil {
		return err
	}
	pk := PublicKyberPreKey(k)
	up.KEMLastResort = &pk
	return p.PruneKyberLastResort(now.Add(-signedPreKeyGrace))
}

// Run keeps a connection to the relay and handles incoming envelopes until
// ctx ends, reconnecting with exponential backoff (0.25 s doubling to
// 30 s, with jitter) when the connection drops or cannot be made.
func (m *Messenger) Run(ctx context.Context) error {
	backoff := backoffMin
	for {
		c, err := m.Connect(ctx)
		if err == nil {
			backoff = backoffMin
			err = m.serve(ctx, c)
		}
		if ctx.Err() != nil {
			m.Close()
			return ctx.Err()
		}
		m.emit(Event{Kind: EventDisconnected, Err: err})
		wait := backoff/2 + rand.N(backoff/2+1)
		backoff = min(2*backoff, backoffMax)
		select {
		case <-ctx.Done():
			m.Close()
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}

const (
	backoffMin = 250 * time.Millisecond
	backoffMax = 30 * time.Second
)

// serve handles envelopes on c until it drops or ctx ends.
func (m *Messenger) serve(ctx context.Context, c *client.Client) error {
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-c.Done():
			return fmt.Errorf("messenger: connection lost: %w", c.Err())
		case env, ok := <-c.Envelopes():
			if err := m.received(ctx, c, env, ok); err != nil {
				m.log.Warn("envelope not handled; it stays on the relay", "err", err)
				c.Close()
				return err
			}
		}
	}
}

// Receive handles envelopes on c until the relay has pushed its whole
// queue and then wait has passed with nothing new; for `blindpost recv`.
func (m *Messenger) Receive(ctx context.Context, c *client.Client, wait time.Duration) error {
	empty := c.QueueEmpty()
	var idle <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-c.Done():
			return fmt.Errorf("messenger: connection lost: %w", c.Err())
		case <-empty:
			// Every envelope queued before the notice was read before it:
			// handle those already buffered, then start waiting.
			empty = nil
			if err := m.drain(ctx, c); err != nil {
				return err
			}
			idle = time.After(wait)
		case <-idle:
			return m.drain(ctx, c)
		case env, ok := <-c.Envelopes():
			if err := m.received(ctx, c, env, ok); err != nil {
				return err
			}
			if empty == nil {
				idle = time.After(wait)
			}
		}
	}
}

// received handles one envelope read from c.Envelopes; ok false means the
// channel closed with the connection.
func (m *Messenger) received(ctx context.Context, c *client.Client, env client.Envelope, ok bool) error {
	if !ok {
		return fmt.Errorf("messenger: connection lost: %w", c.Err())
	}
	return m.HandleEnvelope(ctx, c, env)
}

// drain handles the envelopes already buffered on c.
func (m *Messenger) drain(ctx context.Context, c *client.Client) error {
	for {
		select {
		case env, ok := <-c.Envelopes():
			if !ok {
				return nil
			}
			if err := m.HandleEnvelope(ctx, c, env); err != nil {
				return err
			}
		default:
			return nil
		}
	}
}
