package client

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/blindpost/blindpost/identity"
	"github.com/blindpost/blindpost/proto/relaypb"
	"github.com/blindpost/blindpost/relay/protocol"
)

// Register registers (or re-registers) a device and authenticates the
// connection as it. The relay allows one authentication attempt per
// connection and closes it after a failure.
func (c *Client) Register(ctx context.Context, r Registration) (Registered, error) {
	key := r.IdentityKey.Public
	sig, err := r.IdentityKey.Sign(randOr(c.rand),
		protocol.RegisterTranscript(c.nonce[:], r.Name, r.DeviceID, r.RegistrationID, key))
	if err != nil {
		return Registered{}, fmt.Errorf("client: register: %w", err)
	}
	req := &relaypb.Register{
		Name:           r.Name,
		IdentityKey:    key.Bytes(),
		DeviceId:       r.DeviceID,
		RegistrationId: r.RegistrationID,
		Signature:      sig[:],
		IdentityChange: r.IdentityChange,
	}
	if r.DeviceSecret != nil {
		req.DeviceSecret = r.DeviceSecret[:]
	}
	if r.RecoverySecret != nil {
		req.RecoverySecret = r.RecoverySecret[:]
	}
	if r.CurrentRecoverySecret != nil {
		req.CurrentRecoverySecret = r.CurrentRecoverySecret[:]
	}
	if r.OldIdentityKey != nil {
		old, err := r.OldIdentityKey.Sign(randOr(c.rand),
			protocol.IdentityChangeTranscript(c.nonce[:], r.Name, r.DeviceID, key))
		if err != nil {
			return Registered{}, fmt.Errorf("client: register: %w", err)
		}
		req.OldIdentitySignature = old[:]
	}
	resp, err := c.do(ctx, &relaypb.Request{Body: &relaypb.Request_Register{Register: req}})
	if err != nil {
		return Registered{}, fmt.Errorf("client: register: %w", err)
	}
	reg := resp.GetRegistered()
	return Registered{Created: reg.GetCreated(), IdentityChanged: reg.GetIdentityChanged()}, nil
}

// Authenticate proves with the identity key that this connection is
// (name, device): it signs the relay's challenge for this connection.
func (c *Client) Authenticate(ctx context.Context, name string, device uint32, ik identity.IdentityKeyPair) error {
	sig, err := ik.Sign(randOr(c.rand), protocol.AuthenticateTranscript(c.nonce[:], name, device))
	if err != nil {
		return fmt.Errorf("client: authenticate: %w", err)
	}
	return c.authenticate(ctx, &relaypb.Authenticate{
		Name: name, DeviceId: device, Proof: &relaypb.Authenticate_Signature{Signature: sig[:]},
	})
}

// AuthenticateWithSecret authenticates with the device secret given at
// registration.
func (c *Client) AuthenticateWithSecret(ctx context.Context, name string, device uint32, secret Secret) error {
	return c.authenticate(ctx, &relaypb.Authenticate{
		Name: name, DeviceId: device, Proof: &relaypb.Authenticate_DeviceSecret{DeviceSecret: secret[:]},
	})
}

func (c *Client) authenticate(ctx context.Context, a *relaypb.Authenticate) error {
	if _, err := c.do(ctx, &relaypb.Request{Body: &relaypb.Request_Authenticate{Authenticate: a}}); err != nil {
		return fmt.Errorf("client: authenticate: %w", err)
	}
	return nil
}

// UploadPreKeys uploads public prekeys for the authenticated device.
func (c *Client) UploadPreKeys(ctx context.Context, u PreKeyUpload) error {
	req := &relaypb.UploadPreKeys{}
	if u.SignedPreKey != nil {
		req.SignedPreKey = &relaypb.SignedPreKey{
			Id: u.SignedPreKey.ID, PublicKey: u.SignedPreKey.PublicKey.Bytes(), Signature: u.SignedPreKey.Signature[:],
		}
	}
	for _, k := range u.PreKeys {
		req.PreKeys = append(req.PreKeys, &relaypb.PreKey{Id: k.ID, PublicKey: k.PublicKey.Bytes()})
	}
	for _, k := range u.KEMPreKeys {
		req.KemPreKeys = append(req.KemPreKeys, kemFrame(k))
	}
	if u.KEMLastResort != nil {
		req.KemLastResort = kemFrame(*u.KEMLastResort)
	}
	if _, err := c.do(ctx, &relaypb.Request{Body: &relaypb.Request_UploadPreKeys{UploadPreKeys: req}}); err != nil {
		return fmt.Errorf("client: upload prekeys: %w", err)
	}
	return nil
}

func kemFrame(k KEMPreKey) *relaypb.KemPreKey {
	return &relaypb.KemPreKey{Id: k.ID, PublicKey: k.PublicKey, Signature: k.Signature[:]}
}

// FetchBundle fetches the prekey bundle of name's device (0: all its
// devices). Each one-time prekey it returns is handed out to no one else.
// The signatures of the signed and KEM prekeys are checked against the
// bundle's identity key; a bad one fails the fetch.
func (c *Client) FetchBundle(ctx context.Context, name string, device uint32) (Bundle, error) {
	resp, err := c.do(ctx, &relaypb.Request{Body: &relaypb.Request_FetchBundle{
		FetchBundle: &relaypb.FetchBundle{Name: name, DeviceId: device},
	}})
	if err != nil {
		return Bundle{}, fmt.Errorf("client: fetch bundle: %w", err)
	}
	b, err := parseBundle(resp.GetBundle())
	if err != nil {
		return Bundle{}, fmt.Errorf("client: fetch bundle: %w", err)
	}
	return b, nil
}

func parseBundle(pb *relaypb.Bundle) (Bundle, error) {
	if pb == nil {
		return Bundle{}, errors.New("no bundle in response")
	}
	ik, err := identity.ParsePublicKey(pb.IdentityKey)
	if err != nil {
		return Bundle{}, err
	}
	b := Bundle{Name: pb.Name, IdentityKey: ik}
	for _, d := range pb.Devices {
		db, err := parseDeviceBundle(ik, d)
		if err != nil {
			return Bundle{}, fmt.Errorf("device %d: %w", d.DeviceId, err)
		}
		b.Devices = append(b.Devices, db)
	}
	return b, nil
}

func parseDeviceBundle(ik identity.PublicKey, d *relaypb.DeviceBundle) (DeviceBundle, error) {
	spk := d.GetSignedPreKey()
	key, err := identity.ParsePublicKey(spk.GetPublicKey())
	if err != nil {
		return DeviceBundle{}, err
	}
	if !identity.Verify(ik, spk.PublicKey, spk.Signature) {
		return DeviceBundle{}, errors.New("signed prekey signature does not verify")
	}
	db := DeviceBundle{
		DeviceID:       d.DeviceId,
		RegistrationID: d.RegistrationId,
		SignedPreKey:   SignedPreKey{ID: spk.Id, PublicKey: key, Signature: [identity.SignatureSize]byte(spk.Signature)},
		KEMLastResort:  d.KemLastResort,
	}
	if pk := d.PreKey; pk != nil {
		key, err := identity.ParsePublicKey(pk.PublicKey)
		if err != nil {
			return DeviceBundle{}, err
		}
		db.PreKey = &PreKey{ID: pk.Id, PublicKey: key}
	}
	if k := d.KemPreKey; k != nil {
		if protocol.CheckKEMPublicKey(k.PublicKey) != nil || !identity.Verify(ik, k.PublicKey, k.Signature) {
			return DeviceBundle{}, errors.New("bad KEM prekey")
		}
		db.KEMPreKey = &KEMPreKey{ID: k.Id, PublicKey: k.PublicKey, Signature: [identity.SignatureSize]byte(k.Signature)}
	}
	return db, nil
}

// CountPreKeys asks how many prekeys the authenticated device has left.
func (c *Client) CountPreKeys(ctx context.Context) (PreKeyCounts, error) {
	resp, err := c.do(ctx, &relaypb.Request{Body: &relaypb.Request_CountPreKeys{CountPreKeys: &relaypb.CountPreKeys{}}})
	if err != nil {
		return PreKeyCounts{}, fmt.Errorf("client: count prekeys: %w", err)
	}
	n := resp.GetPreKeyCounts()
	return PreKeyCounts{
		PreKeys:       int(n.GetPreKeys()),
		KEMPreKeys:    int(n.GetKemPreKeys()),
		SignedPreKey:  n.GetSignedPreKey(),
		KEMLastResort: n.GetKemLastResort(),
	}, nil
}

// Send queues content for one device of recipient. It returns, with the
// relay's timestamp, only once the relay has stored the message durably.
func (c *Client) Send(ctx context.Context, recipient string, device uint32, typ uint32, content []byte) (time.Time, error) {
	resp, err := c.do(ctx, &relaypb.Request{Body: &relaypb.Request_Send{Send: &relaypb.Send{
		Recipient: recipient, RecipientDevice: device, Type: typ, Content: content,
	}}})
	if err != nil {
		return time.Time{}, fmt.Errorf("client: send: %w", err)
	}
	return time.UnixMilli(resp.GetSent().GetServerTimeMs()), nil
}

// Ack acknowledges envelopes: the relay deletes them.
func (c *Client) Ack(ctx context.Context, ids ...uint64) error {
	if _, err := c.do(ctx, &relaypb.Request{Body: &relaypb.Request_Ack{Ack: &relaypb.Ack{Ids: ids}}}); err != nil {
		return fmt.Errorf("client: ack: %w", err)
	}
	return nil
}
