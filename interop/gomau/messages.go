package main

import (
	"context"
	"fmt"

	"go.mau.fi/libsignal/ecc"
	"go.mau.fi/libsignal/keys/identity"
	"go.mau.fi/libsignal/keys/prekey"
	"go.mau.fi/libsignal/protocol"
	"go.mau.fi/libsignal/session"
	"go.mau.fi/libsignal/util/bytehelper"
	"go.mau.fi/libsignal/util/optional"
)

// processBundle starts an outgoing session from a remote's prekey bundle: {remote, bundle} -> {}.
// The library checks trust of the bundle's identity key and its signed prekey signature.
func (p *peer) processBundle(req *request) (results, error) {
	addr, err := remoteAddress(req)
	if err != nil {
		return nil, err
	}
	b, err := parseBundle(req.Bundle)
	if err != nil {
		return nil, err
	}
	if err := p.builder(addr).ProcessBundle(context.Background(), b); err != nil {
		return nil, classify(processBundleErrorKind(err), err)
	}
	return nil, nil
}

// parseBundle checks a bundle's fields and builds the library's prekey.Bundle. A missing field is
// bad_request; a key or signature of the wrong size or type is invalid_message, like any malformed
// input from a remote. A Kyber prekey is unsupported: the library cannot do PQXDH.
func parseBundle(j *bundle) (*prekey.Bundle, error) {
	if j == nil {
		return nil, fail(kindBadRequest, "process_bundle needs a bundle")
	}
	if j.KyberPreKeyID != nil || j.KyberPreKey != nil || j.KyberPreKeySignature != nil {
		return nil, fail(kindUnsupported, "bundle has a Kyber prekey; go.mau.fi/libsignal has no PQXDH")
	}
	if j.RegistrationID == nil || j.DeviceID == nil || j.IdentityKey == nil ||
		j.SignedPreKeyID == nil || j.SignedPreKey == nil || j.SignedPreKeySignature == nil {
		return nil, fail(kindBadRequest, "bundle lacks a required field")
	}
	if (j.PreKeyID == nil) != (j.PreKey == nil) {
		return nil, fail(kindBadRequest, "bundle has only one of prekey_id and prekey")
	}

	identityKey, err := parsePublicKey(j.IdentityKey, "identity key", kindInvalidMessage)
	if err != nil {
		return nil, err
	}
	signedPreKey, err := parsePublicKey(j.SignedPreKey, "signed prekey", kindInvalidMessage)
	if err != nil {
		return nil, err
	}
	if len(j.SignedPreKeySignature) != signatureLength {
		return nil, fail(kindInvalidMessage, "signed prekey signature is %d bytes, want %d",
			len(j.SignedPreKeySignature), signatureLength)
	}

	// Without a one-time prekey the library wants an empty optional id and a nil interface value.
	preKeyID := optional.NewEmptyUint32()
	var preKey ecc.ECPublicKeyable
	if j.PreKeyID != nil {
		preKeyID = optional.NewOptionalUint32(*j.PreKeyID)
		if preKey, err = parsePublicKey(j.PreKey, "one-time prekey", kindInvalidMessage); err != nil {
			return nil, err
		}
	}

	return prekey.NewBundle(*j.RegistrationID, *j.DeviceID, preKeyID, *j.SignedPreKeyID,
		preKey, signedPreKey, bytehelper.SliceToArray64(j.SignedPreKeySignature),
		identity.NewKey(identityKey)), nil
}

// encrypt encrypts to an established session: {remote, plaintext} -> {type, ciphertext}.
// Until the remote has replied, the library wraps each message in a PreKeySignalMessage.
func (p *peer) encrypt(req *request) (results, error) {
	addr, err := remoteAddress(req)
	if err != nil {
		return nil, err
	}
	if req.Plaintext == nil {
		return nil, fail(kindBadRequest, "encrypt needs a plaintext")
	}
	ctx := context.Background()
	// The library's Encrypt needs a session to exist (it dereferences the empty record's sender chain
	// otherwise); checking first is how its callers are meant to use it.
	ok, err := p.store.ContainsSession(ctx, addr)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fail(kindNoSession, "no session with %s", addr)
	}
	msg, err := session.NewCipher(p.builder(addr), addr).Encrypt(ctx, req.Plaintext)
	if err != nil {
		return nil, classify(encryptErrorKind(err), err)
	}
	return results{"type": msg.Type(), "ciphertext": msg.Serialize()}, nil
}

// decrypt decrypts a message from a remote: {remote, type, ciphertext} -> {plaintext}.
// A PreKeySignalMessage may start a new incoming session.
func (p *peer) decrypt(req *request) (results, error) {
	addr, err := remoteAddress(req)
	if err != nil {
		return nil, err
	}
	if req.Type == nil || req.Ciphertext == nil {
		return nil, fail(kindBadRequest, "decrypt needs a type and a ciphertext")
	}
	ctx := context.Background()
	cipher := session.NewCipher(p.builder(addr), addr)

	var plaintext []byte
	switch *req.Type {
	case typeSignalMessage:
		var msg *protocol.SignalMessage
		msg, err = protocol.NewSignalMessageFromBytes(req.Ciphertext, p.serializer.SignalMessage)
		if err == nil {
			plaintext, err = cipher.Decrypt(ctx, msg)
		}
	case typePreKeySignalMessage:
		var msg *protocol.PreKeySignalMessage
		msg, err = protocol.NewPreKeySignalMessageFromBytes(req.Ciphertext,
			p.serializer.PreKeySignalMessage, p.serializer.SignalMessage)
		if err == nil {
			plaintext, err = cipher.DecryptMessage(ctx, msg)
		}
	default:
		return nil, fail(kindBadRequest, "unknown message type %d", *req.Type)
	}
	if err != nil {
		return nil, classify(decryptErrorKind(err), err)
	}
	if plaintext == nil {
		plaintext = []byte{} // an empty message still has a "plaintext" field
	}
	return results{"plaintext": plaintext}, nil
}

// session reports whether a session with a remote exists, and its version: {remote} -> {exists, version}.
func (p *peer) session(req *request) (results, error) {
	addr, err := remoteAddress(req)
	if err != nil {
		return nil, err
	}
	ctx := context.Background()
	ok, err := p.store.ContainsSession(ctx, addr)
	if err != nil {
		return nil, err
	}
	if !ok {
		return results{"exists": false}, nil
	}
	r, err := p.store.LoadSession(ctx, addr)
	if err != nil {
		return nil, err
	}
	state := r.SessionState()
	if !state.HasSenderChain() {
		return results{"exists": false}, nil
	}
	return results{"exists": true, "version": state.Version()}, nil
}

// builder returns a library session builder for one remote over this peer's store.
func (p *peer) builder(addr *protocol.SignalAddress) *session.Builder {
	s := p.store
	return session.NewBuilder(s, s, s, s, addr, p.serializer)
}

// remoteAddress reads the request's remote address.
func remoteAddress(req *request) (*protocol.SignalAddress, error) {
	if req.Remote == nil || req.Remote.Name == "" || req.Remote.DeviceID == nil {
		return nil, fail(kindBadRequest, "%s needs a remote with a name and a device_id", req.Op)
	}
	return protocol.NewSignalAddress(req.Remote.Name, *req.Remote.DeviceID), nil
}

// parsePublicKey checks that b is a serialized EC public key (0x05 || 32 bytes) before handing it
// to the library's ecc.DecodePoint, which panics on an empty slice and zero-pads a short one.
// A bad key is reported with the given kind.
func parsePublicKey(b []byte, what, kind string) (ecc.ECPublicKeyable, error) {
	if len(b) != publicKeyLength || b[0] != ecc.DjbType {
		return nil, fail(kind, "%s is not 0x05 || 32 bytes (%d bytes)", what, len(b))
	}
	key, err := ecc.DecodePoint(b, 0)
	if err != nil {
		return nil, classify(kind, fmt.Errorf("%s: %w", what, err))
	}
	return key, nil
}
