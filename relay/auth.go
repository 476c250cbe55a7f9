package relay

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/blindpost/blindpost/identity"
	"github.com/blindpost/blindpost/proto/relaypb"
	"github.com/blindpost/blindpost/relay/protocol"
	"github.com/blindpost/blindpost/relay/store"
)

// secretHashLabel separates the hash of a stored secret from every other
// use of SHA-256 in the project.
const secretHashLabel = "blindpost relay v1 secret hash"

// hashSecret returns SHA-256(label || salt || secret). Secrets are 32
// random bytes, so a fast hash suffices: no dictionary to search.
func hashSecret(salt [16]byte, secret []byte) [32]byte {
	h := sha256.New()
	h.Write([]byte(secretHashLabel))
	h.Write(salt[:])
	h.Write(secret)
	return [32]byte(h.Sum(nil))
}

// newSecretHash salts and hashes a secret presented at registration.
func (s *Server) newSecretHash(secret []byte) (*store.SecretHash, error) {
	if len(secret) == 0 {
		return nil, nil
	}
	var h store.SecretHash
	if _, err := io.ReadFull(s.rand, h.Salt[:]); err != nil {
		return nil, fmt.Errorf("relay: salt: %w", err)
	}
	h.Sum = hashSecret(h.Salt, secret)
	return &h, nil
}

// secretMatches compares a presented secret with a stored hash in
// constant time. No stored hash matches nothing.
func secretMatches(stored *store.SecretHash, secret []byte) bool {
	if stored == nil || protocol.CheckSecret(secret) != nil {
		return false
	}
	sum := hashSecret(stored.Salt, secret)
	return subtle.ConstantTimeCompare(sum[:], stored.Sum[:]) == 1
}

// errAuth is the one opaque authentication failure: a client learns only
// that it failed, not which check did.
var errAuth = errors.New("relay: authentication failed")

// errInvalid marks a registration that breaks a format rule (name,
// device, key encoding): the client is told it is malformed.
var errInvalid = errors.New("relay: invalid registration")

// handleRegister handles Register; see relay.proto and docs/relay.md.
func (c *conn) handleRegister(id uint64, r *relaypb.Register) {
	if !c.beginAuth(id) {
		return
	}
	reg, err := c.checkRegister(r)
	if errors.Is(err, errInvalid) {
		c.log.Debug("registration refused", "cause", err)
		c.respondAndClose(id, relaypb.Status_STATUS_BAD_REQUEST, "bad registration")
		return
	}
	if err != nil {
		c.authFailed(id, err)
		return
	}
	res, err := c.s.store.Register(context.Background(), reg)
	switch {
	case errors.Is(err, store.ErrIdentityMismatch):
		c.s.metrics.authFailures.Add(1)
		c.respondAndClose(id, relaypb.Status_STATUS_CONFLICT, "name is bound to another identity key")
		return
	case errors.Is(err, store.ErrTooManyDevices):
		c.respondAndClose(id, relaypb.Status_STATUS_CONFLICT, "device limit reached")
		return
	case err != nil:
		c.log.Error("register failed", "err", err)
		c.respondAndClose(id, relaypb.Status_STATUS_UNAVAILABLE, "storage unavailable")
		return
	}
	if res.IdentityChanged {
		c.s.metrics.identityChanges.Add(1)
		for _, other := range c.s.presence.others(reg.Name, c) {
			other.closeWith(closeIdentityGone, "identity changed")
		}
		for _, addr := range res.Notified {
			c.s.presence.wake(addr)
		}
	}
	c.authenticated(store.Address{Name: reg.Name, Device: reg.Device}, reg.IdentityKey)
	body := &relaypb.Registered{Created: res.Created, IdentityChanged: res.IdentityChanged}
	if err := c.respond(id, relaypb.Status_STATUS_OK, "", body); err != nil {
		c.log.Debug("response dropped", "err", err)
	}
}

// checkRegister validates a Register and its proofs and builds the store
// registration.
func (c *conn) checkRegister(r *relaypb.Register) (store.Registration, error) {
	key, err := identity.ParsePublicKey(r.IdentityKey)
	if err != nil {
		return store.Registration{}, fmt.Errorf("%w: %w", errInvalid, err)
	}
	if err := errors.Join(
		protocol.CheckName(r.Name),
		protocol.CheckDevice(r.DeviceId),
		protocol.CheckRegistrationID(r.RegistrationId),
		key.CheckCanonical(),
		optionalSecret(r.DeviceSecret),
		optionalSecret(r.RecoverySecret),
	); err != nil {
		return store.Registration{}, fmt.Errorf("%w: %w", errInvalid, err)
	}
	msg := protocol.RegisterTranscript(c.nonce[:], r.Name, r.DeviceId, r.RegistrationId, key)
	if !identity.Verify(key, msg, r.Signature) {
		return store.Registration{}, errAuth
	}
	reg := store.Registration{
		Name: r.Name, IdentityKey: key, Device: r.DeviceId, RegistrationID: r.RegistrationId,
		Time: c.s.now(),
	}
	if r.IdentityChange {
		if err := c.checkIdentityChange(r, key, &reg); err != nil {
			return store.Registration{}, err
		}
	}
	if reg.Secret, err = c.s.newSecretHash(r.DeviceSecret); err != nil {
		return store.Registration{}, err
	}
	if reg.Recovery, err = c.s.newSecretHash(r.RecoverySecret); err != nil {
		return store.Registration{}, err
	}
	return reg, nil
}

// checkIdentityChange checks the proof of authority over the name's
// current identity key: a signature by that key over the new key, or the
// account's recovery secret. A free name needs no proof.
func (c *conn) checkIdentityChange(r *relaypb.Register, newKey identity.PublicKey, reg *store.Registration) error {
	acc, err := c.s.store.Account(context.Background(), r.Name)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	msg := protocol.IdentityChangeTranscript(c.nonce[:], r.Name, r.DeviceId, newKey)
	signed := len(r.OldIdentitySignature) > 0 && identity.Verify(acc.IdentityKey, msg, r.OldIdentitySignature)
	if !signed && !secretMatches(acc.Recovery, r.CurrentRecoverySecret) {
		return errAuth
	}
	reg.Change = true
	reg.Previous = acc.IdentityKey
	return nil
}

func optionalSecret(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	return protocol.CheckSecret(b)
}

// handleAuthenticate handles Authenticate.
func (c *conn) handleAuthenticate(id uint64, a *relaypb.Authenticate) {
	if !c.beginAuth(id) {
		return
	}
	acc, err := c.checkAuthenticate(a)
	if err != nil {
		c.authFailed(id, err)
		return
	}
	addr := store.Address{Name: a.Name, Device: a.DeviceId}
	if d, _ := acc.Device(a.DeviceId); !sameDay(d.LastSeen, c.s.now()) {
		if err := c.s.store.Touch(context.Background(), addr, c.s.now()); err != nil {
			c.log.Warn("last-seen update failed", "err", err)
		}
	}
	c.authenticated(addr, acc.IdentityKey)
	if !c.stillRegistered(addr, acc.IdentityKey) {
		c.closeWith(closeIdentityGone, "identity changed")
		return
	}
	body := &relaypb.Authenticated{ServerTimeMs: c.s.now().UnixMilli()}
	if err := c.respond(id, relaypb.Status_STATUS_OK, "", body); err != nil {
		c.log.Debug("response dropped", "err", err)
	}
}

// stillRegistered re-reads the account after the connection joined the
// presence map. An identity change that committed before this read is
// seen here; one that commits after it finds this connection in the
// presence map and closes it. Either way no connection outlives the key
// it authenticated with.
func (c *conn) stillRegistered(addr store.Address, key identity.PublicKey) bool {
	acc, err := c.s.store.Account(context.Background(), addr.Name)
	if err != nil {
		return false
	}
	_, ok := acc.Device(addr.Device)
	return ok && acc.IdentityKey.Equal(key)
}

func (c *conn) checkAuthenticate(a *relaypb.Authenticate) (store.Account, error) {
	if err := errors.Join(protocol.CheckName(a.Name), protocol.CheckDevice(a.DeviceId)); err != nil {
		return store.Account{}, err
	}
	acc, err := c.s.store.Account(context.Background(), a.Name)
	if err != nil {
		return store.Account{}, err
	}
	dev, ok := acc.Device(a.DeviceId)
	if !ok {
		return store.Account{}, errAuth
	}
	switch p := a.Proof.(type) {
	case *relaypb.Authenticate_Signature:
		msg := protocol.AuthenticateTranscript(c.nonce[:], a.Name, a.DeviceId)
		if identity.Verify(acc.IdentityKey, msg, p.Signature) {
			return acc, nil
		}
	case *relaypb.Authenticate_DeviceSecret:
		if secretMatches(dev.Secret, p.DeviceSecret) {
			return acc, nil
		}
	}
	return store.Account{}, errAuth
}

// beginAuth allows one authentication attempt per connection: the
// challenge is spent by the first attempt, whatever its outcome. It
// reports whether the attempt may proceed.
func (c *conn) beginAuth(id uint64) bool {
	if c.isAuthed() {
		c.answer(id, relaypb.Status_STATUS_BAD_REQUEST, "already authenticated")
		return false
	}
	if c.attempted {
		c.respondAndClose(id, relaypb.Status_STATUS_UNAUTHENTICATED, "authentication failed")
		return false
	}
	c.attempted = true
	return true
}

// authFailed answers a failed attempt with one opaque status and closes
// the connection. The cause is logged at debug level, without the
// request's bytes.
func (c *conn) authFailed(id uint64, cause error) {
	c.s.metrics.authFailures.Add(1)
	c.log.Debug("authentication failed", "cause", cause)
	c.respondAndClose(id, relaypb.Status_STATUS_UNAUTHENTICATED, "authentication failed")
}

// respondAndClose answers and then closes with close code 4001.
func (c *conn) respondAndClose(id uint64, status relaypb.Status, reason string) {
	c.answer(id, status, reason)
	c.closeWith(closeAuthFailed, reason)
}

// authenticated binds the connection to addr, replaces an older
// connection of the same device, and starts delivery.
func (c *conn) authenticated(addr store.Address, key identity.PublicKey) {
	c.s.metrics.authenticated.Add(1)
	c.mu.Lock()
	c.authed, c.addr, c.key = true, addr, key
	c.deliveryDone = make(chan struct{})
	c.mu.Unlock()
	if err := c.extendDeadline(); err != nil {
		c.log.Debug("deadline", "err", err)
	}
	if old := c.s.presence.add(addr, c); old != nil {
		old.closeWith(closeReplaced, "replaced by a newer connection")
	}
	c.log.Debug("authenticated", "account", addr.Name, "device", addr.Device)
	c.goRecover(c.deliverLoop)
}

func sameDay(a, b time.Time) bool {
	return a.UTC().Truncate(24 * time.Hour).Equal(b.UTC().Truncate(24 * time.Hour))
}
