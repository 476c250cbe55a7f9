package session

import (
	"fmt"

	"github.com/blindpost/blindpost/identity"
	"github.com/blindpost/blindpost/ratchet"
	"github.com/blindpost/blindpost/spqr"
	"github.com/blindpost/blindpost/x3dh"
)

// role is the part a device plays in the key agreement that started a
// session.
type role int

const (
	// initiator processed the other's bundle (Alice; SPQR direction A2B).
	initiator role = iota
	// responder answered a PreKeySignalMessage (Bob; SPQR direction B2A).
	responder
)

func (r role) String() string {
	if r == initiator {
		return "initiator"
	}
	return "responder"
}

// newRatchetState builds the Double Ratchet of a new session from the key
// agreement's secrets. It is the one place where sessions are created, for
// both roles and both versions:
//
//	initiator: RatchetInitAlice: receiving chain on theirRatchet (the
//	           responder's signed prekey), a DH ratchet step with ourRatchet
//	           (fresh) for the first sending chain
//	responder: RatchetInitBob: sending chain on ourRatchet (his signed prekey)
//
// The session version is s.Version: 3 after X3DH, 4 after PQXDH. A
// version-4 session also starts the Sparse Post-Quantum Ratchet from
// s.PQRKey (SPQR's auth key), direction A2B for the initiator and B2A for
// the responder, asking pqMin of the peer (see Cipher.SPQRMinimum).
//
// theirRatchet is unused for the responder. The caller still owns s and
// clears it.
func newRatchetState(r role, pqMin spqr.Version, s *x3dh.Secrets, local, remote identity.PublicKey,
	ourRatchet identity.KeyPair, theirRatchet identity.PublicKey) (ratchet.State, error) {
	var st ratchet.State
	dir := spqr.AToB
	switch r {
	case initiator:
		var err error
		st, err = ratchet.NewInitiator(s.Version, local, remote, s.RootKey, s.ChainKey, theirRatchet, ourRatchet)
		if err != nil {
			return ratchet.State{}, fmt.Errorf("session: new %s state: %w", r, err)
		}
	case responder:
		st = ratchet.NewResponder(s.Version, local, remote, s.RootKey, s.ChainKey, ourRatchet)
		dir = spqr.BToA
	default:
		return ratchet.State{}, fmt.Errorf("session: internal error: role %d", r)
	}
	if s.Version < x3dh.SessionVersionPQXDH {
		return st, nil
	}
	pq, err := spqr.New(spqr.Params{Direction: dir, AuthKey: s.PQRKey, MinVersion: pqMin})
	if err != nil {
		return ratchet.State{}, fmt.Errorf("session: new %s SPQR state: %w", r, err)
	}
	st.PQ = pq
	return st, nil
}
