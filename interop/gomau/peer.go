package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"go.mau.fi/libsignal/ecc"
	"go.mau.fi/libsignal/serialize"
	"go.mau.fi/libsignal/state/record"
	"go.mau.fi/libsignal/util/keyhelper"
)

// Limits of the contract and of the library.
const (
	minRegistrationID = 1
	maxRegistrationID = 16380
	// firstPreKeyID is the first id of one-time and signed prekeys. The library reads a one-time
	// prekey id of 0 as "no prekey".
	firstPreKeyID = 1
	// publicKeyLength is a serialized EC public key: 0x05 || 32-byte Curve25519 u-coordinate.
	publicKeyLength = 33
	signatureLength = 64
)

// peer is one local identity with one device, holding sessions with any number of remotes.
// It is not safe for concurrent use; the contract serves one request at a time.
type peer struct {
	log        *slog.Logger
	serializer *serialize.Serializer

	// Set by init; store is nil before.
	store    *memStore
	deviceID uint32

	nextSignedPreKeyID uint32
	nextPreKeyID       uint32
}

func newPeer(log *slog.Logger) *peer {
	return &peer{
		log:                log,
		serializer:         serialize.NewProtoBufSerializer(),
		nextSignedPreKeyID: firstPreKeyID,
		nextPreKeyID:       firstPreKeyID,
	}
}

// handleLine serves one request line and returns the reply line (without newline) and whether the
// peer should now exit. It never panics and never fails: any problem becomes an error reply.
func (p *peer) handleLine(line []byte) (reply []byte, quit bool) {
	var req request
	var res results
	err := json.Unmarshal(line, &req)
	if err != nil {
		err = fail(kindBadRequest, "request is not a JSON object of the contract: %v", err)
	} else {
		res, err = p.dispatch(&req)
	}

	var out map[string]any
	if err != nil {
		kind, message := kindOf(err)
		p.log.Info("error reply", "op", req.Op, "kind", kind, "message", message)
		out = map[string]any{"ok": false, "error": map[string]string{"kind": kind, "message": message}}
	} else {
		out = map[string]any{"ok": true}
		for k, v := range res {
			out[k] = v
		}
	}
	reply, mErr := json.Marshal(out)
	if mErr != nil {
		// Every reply is built from strings, numbers, booleans and byte slices.
		panic("gomau: internal error: encode reply: " + mErr.Error())
	}
	return reply, err == nil && req.Op == "quit"
}

// dispatch runs one operation, turning a panic inside it into an error. The library panics on some
// malformed input before it authenticates anything; during decrypt and process_bundle, which work
// on input from the remote, such a panic is reported as invalid_message, elsewhere as other.
func (p *peer) dispatch(req *request) (res results, err error) {
	defer func() {
		if r := recover(); r != nil {
			kind := kindOther
			if req.Op == "decrypt" || req.Op == "process_bundle" {
				kind = kindInvalidMessage
			}
			site := libraryPanicSite()
			p.log.Warn("recovered panic", "op", req.Op, "panic", r, "library_site", site)
			res, err = nil, fail(kind, "recovered panic in go.mau.fi/libsignal (%s): %v", site, r)
		}
	}()

	var op func(*request) (results, error)
	switch req.Op {
	case "quit":
		return nil, nil
	case "init":
		return p.init(req)
	case "bundle":
		op = p.bundle
	case "process_bundle":
		op = p.processBundle
	case "encrypt":
		op = p.encrypt
	case "decrypt":
		op = p.decrypt
	case "session":
		op = p.session
	case "fingerprint":
		op = p.fingerprint
	case "approve_identity":
		op = p.approveIdentity
	default:
		return nil, fail(kindBadRequest, "unknown op %q", req.Op)
	}
	if p.store == nil {
		return nil, fail(kindBadRequest, "%s before init", req.Op)
	}
	return op(req)
}

// init creates the local identity: {name, device_id, registration_id} -> {identity_key}.
func (p *peer) init(req *request) (results, error) {
	if p.store != nil {
		return nil, fail(kindBadRequest, "second init")
	}
	if req.Name == "" || req.DeviceID == nil || *req.DeviceID == 0 {
		return nil, fail(kindBadRequest, "init needs a name and a nonzero device_id")
	}
	if req.RegistrationID == nil || *req.RegistrationID < minRegistrationID || *req.RegistrationID > maxRegistrationID {
		return nil, fail(kindBadRequest, "init needs a registration_id in %d..%d", minRegistrationID, maxRegistrationID)
	}
	identityKeyPair, err := keyhelper.GenerateIdentityKeyPair()
	if err != nil {
		return nil, fmt.Errorf("generate identity key: %w", err)
	}
	p.store = newMemStore(identityKeyPair, *req.RegistrationID, p.serializer)
	p.deviceID = *req.DeviceID
	p.log.Info("initialised", "name", req.Name, "device_id", *req.DeviceID)
	return results{"identity_key": identityKeyPair.PublicKey().Serialize()}, nil
}

// bundle publishes a fresh signed prekey and, if asked, a fresh one-time prekey:
// {one_time_prekey, kyber} -> {bundle}.
func (p *peer) bundle(req *request) (results, error) {
	if req.Kyber {
		return nil, fail(kindUnsupported, "go.mau.fi/libsignal has no Kyber prekeys")
	}
	ctx := context.Background()
	s := p.store
	signedID := p.nextSignedPreKeyID
	signed, err := keyhelper.GenerateSignedPreKey(s.identityKeyPair, signedID, p.serializer.SignedPreKeyRecord)
	if err != nil {
		return nil, fmt.Errorf("generate signed prekey: %w", err)
	}
	if err := s.StoreSignedPreKey(ctx, signedID, signed); err != nil {
		return nil, err
	}
	p.nextSignedPreKeyID++

	sig := signed.Signature()
	b := bundle{
		RegistrationID:        &s.registrationID,
		DeviceID:              &p.deviceID,
		IdentityKey:           s.identityKeyPair.PublicKey().Serialize(),
		SignedPreKeyID:        &signedID,
		SignedPreKey:          signed.KeyPair().PublicKey().Serialize(),
		SignedPreKeySignature: sig[:],
	}

	if req.OneTimePreKey {
		id := p.nextPreKeyID
		keyPair, err := ecc.GenerateKeyPair()
		if err != nil {
			return nil, fmt.Errorf("generate one-time prekey: %w", err)
		}
		if err := s.StorePreKey(ctx, id, record.NewPreKey(id, keyPair, p.serializer.PreKeyRecord)); err != nil {
			return nil, err
		}
		p.nextPreKeyID++
		b.PreKeyID = &id
		b.PreKey = keyPair.PublicKey().Serialize()
	}
	return results{"bundle": b}, nil
}
