package relay

import (
	"context"
	"errors"
	"fmt"

	"github.com/blindpost/blindpost/identity"
	"github.com/blindpost/blindpost/proto/relaypb"
	"github.com/blindpost/blindpost/relay/protocol"
	"github.com/blindpost/blindpost/relay/store"
)

// handleUpload stores the device's public prekeys after checking every
// encoding and every signature against the account's identity key.
func (c *conn) handleUpload(id uint64, u *relaypb.UploadPreKeys) error {
	addr, ik := c.identity()
	up, err := parseUpload(ik, u, c.s.limits.MaxPreKeysPerUpload)
	if err != nil {
		c.log.Debug("prekey upload refused", "err", err)
		return c.respond(id, relaypb.Status_STATUS_BAD_REQUEST, "bad prekey upload", nil)
	}
	if err := c.s.store.UploadPreKeys(context.Background(), addr, up); err != nil {
		return c.storeFailed(id, err)
	}
	c.s.metrics.prekeyUploads.Add(1)
	return c.respond(id, relaypb.Status_STATUS_OK, "", nil)
}

// parseUpload checks an upload whole: every encoding, every signature
// against the identity key ik, unique ids, at most max one-time keys of
// each kind.
func parseUpload(ik identity.PublicKey, u *relaypb.UploadPreKeys, max int) (store.PreKeyUpload, error) {
	var up store.PreKeyUpload
	if len(u.PreKeys) > max || len(u.KemPreKeys) > max {
		return up, fmt.Errorf("relay: more than %d prekeys in one upload", max)
	}
	if u.SignedPreKey != nil {
		spk, err := parseSignedPreKey(ik, u.SignedPreKey)
		if err != nil {
			return up, err
		}
		up.Signed = &spk
	}
	if u.KemLastResort != nil {
		k, err := parseKEMPreKey(ik, u.KemLastResort)
		if err != nil {
			return up, err
		}
		up.KEMLastResort = &k
	}
	seen := make(map[uint32]bool, len(u.PreKeys))
	for _, p := range u.PreKeys {
		key, err := identity.ParsePublicKey(p.PublicKey)
		if err != nil {
			return up, err
		}
		if seen[p.Id] {
			return up, errors.New("relay: duplicate prekey id")
		}
		seen[p.Id] = true
		up.PreKeys = append(up.PreKeys, store.PreKey{ID: p.Id, Key: key})
	}
	clear(seen)
	for _, p := range u.KemPreKeys {
		k, err := parseKEMPreKey(ik, p)
		if err != nil {
			return up, err
		}
		if seen[p.Id] {
			return up, errors.New("relay: duplicate KEM prekey id")
		}
		seen[p.Id] = true
		up.KEMPreKeys = append(up.KEMPreKeys, k)
	}
	return up, nil
}

// parseSignedPreKey checks the key's encoding and its XEdDSA signature by
// the identity key over the 33-byte serialized key.
func parseSignedPreKey(ik identity.PublicKey, p *relaypb.SignedPreKey) (store.SignedPreKey, error) {
	key, err := identity.ParsePublicKey(p.PublicKey)
	if err != nil {
		return store.SignedPreKey{}, err
	}
	if !identity.Verify(ik, p.PublicKey, p.Signature) {
		return store.SignedPreKey{}, errors.New("relay: signed prekey signature does not verify")
	}
	return store.SignedPreKey{ID: p.Id, Key: key, Signature: [identity.SignatureSize]byte(p.Signature)}, nil
}

// parseKEMPreKey checks a Kyber prekey's encoding and its signature by the
// identity key over the serialized key, type byte included.
func parseKEMPreKey(ik identity.PublicKey, p *relaypb.KemPreKey) (store.KEMPreKey, error) {
	if err := protocol.CheckKEMPublicKey(p.PublicKey); err != nil {
		return store.KEMPreKey{}, err
	}
	if !identity.Verify(ik, p.PublicKey, p.Signature) {
		return store.KEMPreKey{}, errors.New("relay: KEM prekey signature does not verify")
	}
	return store.KEMPreKey{
		ID: p.Id, Key: p.PublicKey, Signature: [identity.SignatureSize]byte(p.Signature),
	}, nil
}

// handleFetchBundle hands out a bundle, within the per-(requester,
// target) rate limit that keeps one account from draining another's
// one-time prekeys.
func (c *conn) handleFetchBundle(id uint64, f *relaypb.FetchBundle) error {
	if protocol.CheckName(f.Name) != nil || (f.DeviceId != 0 && protocol.CheckDevice(f.DeviceId) != nil) {
		return c.respond(id, relaypb.Status_STATUS_BAD_REQUEST, "bad name or device", nil)
	}
	addr, _ := c.identity()
	if !c.s.bundles.allow(addr.Name+"\x00"+f.Name, c.s.now()) {
		c.s.metrics.bundleRateLimited.Add(1)
		return c.respond(id, relaypb.Status_STATUS_RATE_LIMITED, "bundle fetch rate limit", nil)
	}
	b, err := c.s.store.TakeBundle(context.Background(), addr.Name, f.Name, f.DeviceId)
	if errors.Is(err, store.ErrNotFound) {
		return c.respond(id, relaypb.Status_STATUS_NOT_FOUND, "no such account or no prekeys", nil)
	}
	if err != nil {
		return c.storeFailed(id, err)
	}
	c.s.metrics.bundleFetches.Add(1)
	return c.respond(id, relaypb.Status_STATUS_OK, "", bundleFrame(f.Name, b))
}

func bundleFrame(name string, b store.Bundle) *relaypb.Bundle {
	out := &relaypb.Bundle{Name: name, IdentityKey: b.IdentityKey.Bytes()}
	for _, d := range b.Devices {
		db := &relaypb.DeviceBundle{
			DeviceId:       d.Device,
			RegistrationId: d.RegistrationID,
			SignedPreKey: &relaypb.SignedPreKey{
				Id: d.Signed.ID, PublicKey: d.Signed.Key.Bytes(), Signature: d.Signed.Signature[:],
			},
			KemLastResort: d.KEMLastResort,
		}
		if d.PreKey != nil {
			db.PreKey = &relaypb.PreKey{Id: d.PreKey.ID, PublicKey: d.PreKey.Key.Bytes()}
		}
		if d.KEM != nil {
			db.KemPreKey = &relaypb.KemPreKey{Id: d.KEM.ID, PublicKey: d.KEM.Key, Signature: d.KEM.Signature[:]}
		}
		out.Devices = append(out.Devices, db)
	}
	return out
}

func (c *conn) handleCountPreKeys(id uint64) error {
	addr, _ := c.identity()
	n, err := c.s.store.PreKeyCounts(context.Background(), addr)
	if err != nil {
		return c.storeFailed(id, err)
	}
	return c.respond(id, relaypb.Status_STATUS_OK, "", &relaypb.PreKeyCounts{
		PreKeys:       uint32(n.PreKeys),
		KemPreKeys:    uint32(n.KEMPreKeys),
		SignedPreKey:  n.SignedPreKey,
		KemLastResort: n.KEMLastResort,
	})
}

// storeFailed answers a request the store could not complete.
func (c *conn) storeFailed(id uint64, err error) error {
	if errors.Is(err, store.ErrNotFound) {
		// The device was removed by an identity change meanwhile.
		return c.respond(id, relaypb.Status_STATUS_NOT_FOUND, "device no longer registered", nil)
	}
	if !errors.Is(err, store.ErrClosed) {
		c.log.Error("store failed", "err", err)
	}
	return c.respond(id, relaypb.Status_STATUS_UNAVAILABLE, "storage unavailable", nil)
}
