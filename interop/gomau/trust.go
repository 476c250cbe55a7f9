package main

// fingerprint computes the safety number with a remote whose identity is known:
// {local_id, remote_id, remote} -> {displayable, scannable}.
func (p *peer) fingerprint(req *request) (results, error) {
	addr, err := remoteAddress(req)
	if err != nil {
		return nil, err
	}
	if req.LocalID == nil || req.RemoteID == nil {
		return nil, fail(kindBadRequest, "fingerprint needs local_id and remote_id")
	}
	remoteKey := p.store.trustedIdentity(keyOf(addr))
	if remoteKey == nil {
		return nil, fail(kindNoSession, "no identity known for %s", addr)
	}
	localKey := p.store.identityKeyPair.PublicKey().Serialize()
	displayable, scannable, err := safetyNumber([]byte(*req.LocalID), localKey, []byte(*req.RemoteID), remoteKey)
	if err != nil {
		return nil, err
	}
	return results{"displayable": displayable, "scannable": scannable}, nil
}

// approveIdentity makes the given key the trusted identity of a remote, so that sessions and
// messages with it are accepted again: {remote, identity_key} -> {}.
func (p *peer) approveIdentity(req *request) (results, error) {
	addr, err := remoteAddress(req)
	if err != nil {
		return nil, err
	}
	if req.IdentityKey == nil {
		return nil, fail(kindBadRequest, "approve_identity needs an identity_key")
	}
	key, err := parsePublicKey(req.IdentityKey, "identity_key", kindBadRequest)
	if err != nil {
		return nil, err
	}
	p.store.approveIdentity(keyOf(addr), key.Serialize())
	return nil, nil
}
