package session

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/blindpost/blindpost/identity"
	"github.com/blindpost/blindpost/kem"
	"github.com/blindpost/blindpost/ratchet"
	"github.com/blindpost/blindpost/spqr"
	"github.com/blindpost/blindpost/wire"
	"github.com/blindpost/blindpost/x3dh"
)

// Cipher runs sessions for one local device. Its dependencies are explicit:
// the store, our address (for the addresses binding), randomness and the
// clock.
type Cipher struct {
	Store Store
	Local Address
	Rand  io.Reader
	Now   func() time.Time
	// SPQRMinimum is what a new version-4 session asks of the peer's
	// post-quantum ratchet. spqr.V1 requires SPQR and uses its keys from
	// the first message, as libsignal >= 0.92 and blindpost's own clients
	// do. spqr.V0 (the zero value) offers SPQR and, like libsignal
	// 0.90-0.91, carries on without it if the peer's first message has none
	// (libsignal 0.72, which has no SPQR).
	SPQRMinimum spqr.Version
}

// ProcessBundle starts a session with addr from its bundle and makes it the
// current state; the old one is archived. A bundle with a Kyber prekey
// gives a version-4 session (PQXDH), one without a version-3 session
// (X3DH). The session's messages are PreKeySignalMessages until the first
// reply.
func (c *Cipher) ProcessBundle(addr Address, b *x3dh.Bundle) error {
	if err := c.checkTrusted(addr, b.IdentityKey); err != nil {
		return err
	}
	ik, regID, err := c.Store.LocalIdentity()
	if err != nil {
		return fmt.Errorf("session: local identity: %w", err)
	}
	base, err := identity.GenerateKeyPair(c.Rand)
	if err != nil {
		return fmt.Errorf("session: base key: %w", err)
	}
	ratchetKey, err := identity.GenerateKeyPair(c.Rand)
	if err != nil {
		return fmt.Errorf("session: ratchet key: %w", err)
	}
	secrets, err := x3dh.Initiate(ik, base, b, c.Rand)
	if err != nil {
		return fmt.Errorf("session: process bundle: %w", err)
	}
	rs, err := newRatchetState(initiator, c.SPQRMinimum, &secrets, ik.Public, b.IdentityKey, ratchetKey, b.SignedPreKey)
	secrets.Clear()
	if err != nil {
		return fmt.Errorf("session: process bundle: %w", err)
	}
	pending := &PendingPreKey{
		SignedPreKeyID: b.SignedPreKeyID,
		BaseKey:        base.Public,
		CreatedMillis:  c.Now().UnixMilli(),
	}
	if b.PreKey != nil {
		pending.PreKeyID, pending.HasPreKeyID = b.PreKey.ID, true
	}
	if b.KyberPreKey != nil {
		pending.HasKyber = true
		pending.KyberPreKeyID = b.KyberPreKey.ID
		pending.KyberCiphertext = secrets.KyberCiphertext.Bytes()
	}
	st := State{
		Ratchet:              rs,
		BaseKey:              base.Public,
		LocalRegistrationID:  regID,
		RemoteRegistrationID: b.RegistrationID,
		Pending:              pending,
	}
	rec, _, err := c.Store.Record(addr)
	if err != nil {
		return fmt.Errorf("session: load %s: %w", addr, err)
	}
	return c.commit(Commit{Address: addr, Record: rec.promote(st), Identity: b.IdentityKey})
}

// Encrypt encrypts plaintext for addr on the current session. It returns
// the message type (wire.TypeSignal or wire.TypePreKey) and the serialized
// message.
func (c *Cipher) Encrypt(addr Address, plaintext []byte) (int, []byte, error) {
	rec, ok, err := c.Store.Record(addr)
	if err != nil {
		return 0, nil, fmt.Errorf("session: load %s: %w", addr, err)
	}
	if !ok || rec.Current == nil {
		return 0, nil, fmt.Errorf("%w: %s", ErrNoSession, addr)
	}
	st := *rec.Current
	if err := c.checkTrusted(addr, st.Ratchet.RemoteIdentity); err != nil {
		return 0, nil, err
	}
	if p := st.Pending; p != nil && c.Now().Sub(time.UnixMilli(p.CreatedMillis)) > MaxUnacknowledgedSessionAge {
		return 0, nil, fmt.Errorf("%w: %s: unacknowledged session is stale", ErrNoSession, addr)
	}
	// Like libsignal, bind PreKeySignalMessages of version-4 sessions to
	// both addresses when both are service ids (the addresses field).
	var h ratchet.Header
	if st.Pending != nil && st.Ratchet.Version >= x3dh.SessionVersionPQXDH {
		h.Addresses, _ = addressesField(c.Local, addr)
	}
	next, m, err := st.Ratchet.Encrypt(plaintext, h, c.Rand)
	if err != nil {
		return 0, nil, fmt.Errorf("session: encrypt: %w", err)
	}
	st.Ratchet = next
	typ, out := wire.TypeSignal, m.Bytes()
	if p := st.Pending; p != nil {
		pm := &wire.PreKeySignalMessage{
			Version:        m.Version,
			RegistrationID: st.LocalRegistrationID,
			PreKeyID:       p.PreKeyID,
			HasPreKeyID:    p.HasPreKeyID,
			SignedPreKeyID: p.SignedPreKeyID,
			BaseKey:        p.BaseKey,
			IdentityKey:    st.Ratchet.LocalIdentity,
			Message:        m,
		}
		if p.HasKyber {
			pm.KyberPreKeyID, pm.KyberCiphertext = p.KyberPreKeyID, p.KyberCiphertext
		}
		typ, out = wire.TypePreKey, pm.Encode()
	}
	if err := c.commit(Commit{Address: addr, Record: rec.withCurrent(st), Identity: st.Ratchet.RemoteIdentity}); err != nil {
		return 0, nil, err
	}
	return typ, out, nil
}

// Decrypt decrypts a message of the given type from addr. On success the
// store gets one Commit; on any error it gets none.
func (c *Cipher) Decrypt(addr Address, typ int, ciphertext []byte) ([]byte, error) {
	switch typ {
	case wire.TypeSignal:
		return c.decryptSignal(addr, ciphertext)
	case wire.TypePreKey:
		return c.decryptPreKey(addr, ciphertext)
	}
	return nil, fmt.Errorf("%w: unknown message type %d", ErrInvalidMessage, typ)
}

func (c *Cipher) decryptSignal(addr Address, ciphertext []byte) ([]byte, error) {
	m, err := wire.ParseSignalMessage(ciphertext)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidMessage, err)
	}
	rec, ok, err := c.Store.Record(addr)
	if err != nil {
		return nil, fmt.Errorf("session: load %s: %w", addr, err)
	}
	if !ok || (rec.Current == nil && len(rec.Previous) == 0) {
		return nil, fmt.Errorf("%w: %s", ErrNoSession, addr)
	}
	if err := c.checkAddresses(addr, m); err != nil {
		return nil, err
	}
	next, plaintext, err := c.decryptWithRecord(rec, m)
	if err != nil {
		return nil, err
	}
	remote := next.Current.Ratchet.RemoteIdentity
	if err := c.checkTrusted(addr, remote); err != nil {
		return nil, err
	}
	if err := c.commit(Commit{Address: addr, Record: next, Identity: remote}); err != nil {
		return nil, err
	}
	return plaintext, nil
}

// decryptWithRecord tries the current state, then each archived state, as
// libsignal does; a state that decrypts an archived message becomes current.
func (c *Cipher) decryptWithRecord(rec Record, m *wire.SignalMessage) (Record, []byte, error) {
	var errs []error
	if rec.Current != nil {
		st, pt, err := c.decryptWithState(*rec.Current, m)
		if err == nil {
			return rec.withCurrent(st), pt, nil
		}
		// A duplicate, or a local failure (no randomness), is final.
		if errors.Is(err, ErrDuplicate) || !errors.Is(err, ErrInvalidMessage) {
			return rec, nil, err
		}
		errs = append(errs, err)
	}
	for i := range rec.Previous {
		st, pt, err := c.decryptWithState(rec.Previous[i], m)
		if err == nil {
			return rec.promoteArchived(i, st), pt, nil
		}
		if errors.Is(err, ErrDuplicate) || !errors.Is(err, ErrInvalidMessage) {
			return rec, nil, err
		}
		errs = append(errs, err)
	}
	return rec, nil, fmt.Errorf("%w: no session state decrypts it (%d tried): %w", ErrInvalidMessage, len(errs), errors.Join(errs...))
}

func (c *Cipher) decryptWithState(st State, m *wire.SignalMessage) (State, []byte, error) {
	next, pt, err := st.Ratchet.Decrypt(m, c.Rand)
	if err != nil {
		return st, nil, err
	}
	st.Ratchet = next
	st.Pending = nil // the remote has answered: stop sending prekey messages
	return st, pt, nil
}

func (c *Cipher) decryptPreKey(addr Address, ciphertext []byte) ([]byte, error) {
	pm, err := wire.ParsePreKeySignalMessage(ciphertext)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidMessage, err)
	}
	if err := c.checkTrusted(addr, pm.IdentityKey); err != nil {
		return nil, err
	}
	if err := c.checkAddresses(addr, pm.Message); err != nil {
		return nil, err
	}
	rec, _, err := c.Store.Record(addr)
	if err != nil {
		return nil, fmt.Errorf("session: load %s: %w", addr, err)
	}
	commit := Commit{Address: addr, Identity: pm.IdentityKey}
	if i, found := rec.findBaseKey(pm.SessionVersion(), pm.BaseKey); found {
		// A repeat of a prekey message whose session we already have.
		if i >= 0 {
			rec = rec.promoteArchived(i, rec.Previous[i])
		}
	} else {
		st, err := c.respond(pm)
		if err != nil {
			return nil, err
		}
		rec = rec.promote(st)
		commit.UsedPreKey, commit.HasUsedPreKey = pm.PreKeyID, pm.HasPreKeyID
		if pm.KyberCiphertext != nil {
			commit.UsedKyberPreKey, commit.HasUsedKyberPreKey = pm.KyberPreKeyID, true
		}
	}
	st, pt, err := c.decryptWithState(*rec.Current, pm.Message)
	if err != nil {
		return nil, err
	}
	commit.Record = rec.withCurrent(st)
	if err := c.commit(commit); err != nil {
		return nil, err
	}
	return pt, nil
}

// respond runs the key agreement as the responder for a prekey message,
// X3DH for version 3 and PQXDH for version 4, and returns the new session
// state.
func (c *Cipher) respond(pm *wire.PreKeySignalMessage) (State, error) {
	v := pm.SessionVersion()
	if hasKyber := pm.KyberCiphertext != nil; (v == x3dh.SessionVersionPQXDH) != hasKyber {
		// The parser enforces this; checked again as PQXDH depends on it.
		return State{}, fmt.Errorf("%w: version %d prekey message with kyber fields %t", ErrInvalidMessage, v, hasKyber)
	}
	ik, regID, err := c.Store.LocalIdentity()
	if err != nil {
		return State{}, fmt.Errorf("session: local identity: %w", err)
	}
	spk, ok, err := c.Store.SignedPreKey(pm.SignedPreKeyID)
	if err != nil {
		return State{}, fmt.Errorf("session: signed prekey: %w", err)
	}
	if !ok {
		return State{}, fmt.Errorf("%w: signed prekey %d", ErrInvalidPreKeyID, pm.SignedPreKeyID)
	}
	keys := x3dh.ResponderKeys{Identity: ik, SignedPreKey: spk.KeyPair}
	var kyberCT *kem.Ciphertext
	if v == x3dh.SessionVersionPQXDH {
		ct, err := kem.ParseCiphertext(pm.KyberCiphertext)
		if err != nil {
			return State{}, fmt.Errorf("%w: %w", ErrInvalidMessage, err)
		}
		kpk, ok, err := c.Store.KyberPreKey(pm.KyberPreKeyID)
		if err != nil {
			return State{}, fmt.Errorf("session: kyber prekey: %w", err)
		}
		if !ok {
			return State{}, fmt.Errorf("%w: kyber prekey %d", ErrInvalidPreKeyID, pm.KyberPreKeyID)
		}
		keys.KyberPreKey, kyberCT = &kpk.KeyPair, &ct
	}
	if pm.HasPreKeyID {
		pk, ok, err := c.Store.PreKey(pm.PreKeyID)
		if err != nil {
			return State{}, fmt.Errorf("session: prekey: %w", err)
		}
		if !ok {
			return State{}, fmt.Errorf("%w: one-time prekey %d", ErrInvalidPreKeyID, pm.PreKeyID)
		}
		keys.PreKey = &pk.KeyPair
	}
	secrets, err := x3dh.Respond(keys, pm.IdentityKey, pm.BaseKey, kyberCT)
	if err != nil {
		return State{}, fmt.Errorf("%w: %w", ErrInvalidMessage, err)
	}
	rs, err := newRatchetState(responder, c.SPQRMinimum, &secrets, ik.Public, pm.IdentityKey, spk.KeyPair, identity.PublicKey{})
	secrets.Clear()
	if err != nil {
		return State{}, fmt.Errorf("%w: %w", ErrInvalidMessage, err)
	}
	return State{
		Ratchet:              rs,
		BaseKey:              pm.BaseKey,
		LocalRegistrationID:  regID,
		RemoteRegistrationID: pm.RegistrationID,
	}, nil
}

// checkTrusted refuses an identity key other than the one trusted for addr.
func (c *Cipher) checkTrusted(addr Address, key identity.PublicKey) error {
	trusted, ok, err := c.Store.TrustedIdentity(addr)
	if err != nil {
		return fmt.Errorf("session: trusted identity: %w", err)
	}
	if ok && !trusted.Equal(key) {
		return fmt.Errorf("%w: %s", ErrUntrustedIdentity, addr)
	}
	return nil
}

// checkAddresses checks the optional addresses binding: when a message
// carries one, it must name exactly this sender and this recipient.
func (c *Cipher) checkAddresses(from Address, m *wire.SignalMessage) error {
	if m.Addresses == nil {
		return nil
	}
	want, ok := addressesField(from, c.Local)
	if !ok || !bytes.Equal(want, m.Addresses) {
		return fmt.Errorf("%w: addresses do not name %s -> %s", ErrInvalidMessage, from, c.Local)
	}
	return nil
}

func (c *Cipher) commit(cm Commit) error {
	if err := c.Store.Commit(cm); err != nil {
		return fmt.Errorf("session: commit %s: %w", cm.Address, err)
	}
	return nil
}

// SessionVersion reports the version of the current session with addr.
func (c *Cipher) SessionVersion(addr Address) (int, bool, error) {
	rec, ok, err := c.Store.Record(addr)
	if err != nil || !ok || rec.Current == nil {
		return 0, false, err
	}
	return rec.Current.Ratchet.Version, true, nil
}
