package spqr

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
)

// Errors callers branch on.
var (
	// ErrInvalidMessage: the SPQR data of a message is malformed, fails
	// its MAC, is of an epoch too far ahead, or names a key too far ahead.
	ErrInvalidMessage = errors.New("spqr: invalid message")
	// ErrDuplicate: the message's SPQR key was already used or dropped.
	ErrDuplicate = errors.New("spqr: duplicate message")
	// ErrDowngrade: the peer sent no SPQR data but this session requires it.
	ErrDowngrade = errors.New("spqr: peer does not speak SPQR, which this session requires")
	// ErrState: the stored state is inconsistent (a corrupt record).
	ErrState = errors.New("spqr: invalid state")
)

// Version is an SPQR protocol version: 0 is "no SPQR", 1 is the ML-KEM
// Braid over ML-KEM-768.
type Version uint8

const (
	V0 Version = 0
	V1 Version = 1
)

// Direction names the side: the PQXDH initiator is AToB.
type Direction uint8

const (
	AToB Direction = 0
	BToA Direction = 1
)

// Params start a session's SPQR.
type Params struct {
	Direction Direction
	// AuthKey is the 32-byte initial SPQR key from PQXDH.
	AuthKey [32]byte
	// MinVersion V1 requires the peer to speak SPQR and uses SPQR keys from
	// the first message (libsignal >= 0.92). V0 offers SPQR but falls back
	// to none if the peer's first message carries no SPQR data (libsignal
	// 0.90-0.91 behave so; 0.72 has no SPQR), and uses no SPQR key until
	// the peer answered.
	MinVersion Version
	// Chain limits; zero means the default.
	MaxJump, MaxOOOKeys uint32
}

// State is one side's SPQR state. The zero State is "SPQR off" (a version
// 3 session, or one negotiated down): Send then returns no data and no key,
// Recv ignores what it gets.
//
// State is a value: Send and Recv return the next state and never change
// the one they were called on.
type State struct {
	// *live is nil when SPQR is off. It is never changed once built:
	// Send and Recv work on a copy, so copies of a State may share it,
	// and a State costs a pointer in every session state, SPQR or not.
	*live
}

type live struct {
	// negotiation is set until the first message from the peer. It is
	// never changed once built, so copies of a live share it.
	negotiation *negotiation
	chain       *chain // nil while negotiating with MinVersion V0
	braid       braid
}

type negotiation struct {
	authKey    [32]byte
	dir        Direction
	minVersion Version
	maxJump    uint32
	maxOOOKeys uint32
}

// New returns the initial version-1 state.
func New(p Params) (State, error) {
	if p.Direction > BToA || p.MinVersion > V1 {
		return State{}, fmt.Errorf("spqr: bad parameters")
	}
	b, err := newBraid(p.Direction, p.AuthKey[:])
	if err != nil {
		return State{}, err
	}
	return State{&live{
		negotiation: &negotiation{
			authKey: p.AuthKey, dir: p.Direction, minVersion: p.MinVersion,
			maxJump: p.MaxJump, maxOOOKeys: p.MaxOOOKeys,
		},
		braid: b,
	}}, nil
}

// Enabled reports whether SPQR is on (not version 0).
func (s State) Enabled() bool { return s.live != nil }

// Negotiating reports whether the peer has not yet sent a message that
// settled the version.
func (s State) Negotiating() bool { return s.live != nil && s.negotiation != nil }

// Epoch is the braid's current epoch (0 when SPQR is off).
func (s State) Epoch() uint64 {
	if s.live == nil {
		return 0
	}
	return s.braid.epoch
}

// liveCopy is what clone allocates for a state with a chain: the copy,
// its chain and room for the chain's links, in one object. A chain
// usually holds one to three links (the epoch kept before the sending
// epoch, the sending epoch, and one ahead of it); more are copied to a
// slice of their own.
type liveCopy struct {
	live  live
	chain chain
	links [epochsKeptBeforeSend + 2]link
}

// clone returns a copy of s that Send and Recv may change: the live part
// and the chain are copied, the rest (see braid and chain) is shared.
func (s State) clone() State {
	if s.chain == nil {
		l := *s.live
		return State{&l}
	}
	c := &liveCopy{live: *s.live}
	s.chain.cloneInto(&c.chain, c.links[:])
	c.live.chain = &c.chain
	return State{&c.live}
}

func (n *negotiation) newChain() *chain {
	return newChain(n.authKey, n.dir, n.maxJump, n.maxOOOKeys)
}

// Send advances the state for one outgoing message. It returns the bytes
// for the message's pq_ratchet field (nil when SPQR is off) and the
// 32-byte key to salt the message keys with (nil when there is none yet).
func (s State) Send(rand io.Reader) (State, []byte, *[32]byte, error) {
	return s.send(rand, nil)
}

// send is Send, recording into tr when it is not nil (SendTraced).
func (s State) send(rand io.Reader, tr *Trace) (State, []byte, *[32]byte, error) {
	if s.live == nil {
		return s, nil, nil, nil
	}
	n := s.clone()
	m, ek, err := n.braid.send(rand)
	if err != nil {
		return s, nil, nil, err
	}
	if n.chain == nil && n.negotiation != nil && n.negotiation.minVersion > V0 {
		n.chain = n.negotiation.newChain()
	}
	var key *[32]byte
	if n.chain != nil {
		if ek != nil {
			if err := n.chain.addEpoch(ek.epoch, ek.secret); err != nil {
				return s, nil, nil, err
			}
		}
		idx, k, err := n.chain.sendKey(m.epoch - 1)
		if err != nil {
			return s, nil, nil, err
		}
		m.index, key = idx, (*[32]byte)(k)
	} else if ek != nil {
		return s, nil, nil, fmt.Errorf("%w: epoch secret without a chain", ErrState)
	}
	tr.record(&m, ek, key)
	return n, m.marshal(), key, nil
}

// Recv takes in the pq_ratchet field of an authenticated-to-be incoming
// message and returns the state to keep if the message authenticates, and
// the key its message keys were salted with (nil for none).
func (s State) Recv(data []byte) (State, *[32]byte, error) {
	return s.recv(data, nil)
}

// recv is Recv, recording into tr when it is not nil (RecvTraced).
func (s State) recv(data []byte, tr *Trace) (State, *[32]byte, error) {
	if s.live == nil {
		return s, nil, nil
	}
	switch {
	case len(data) == 0:
		// The peer speaks no SPQR.
		if s.negotiation == nil {
			return s, nil, fmt.Errorf("%w: SPQR data missing after negotiation", ErrInvalidMessage)
		}
		if s.negotiation.minVersion > V0 {
			return s, nil, ErrDowngrade
		}
		return State{}, nil, nil
	case data[0] != wireVersion1:
		// A version this implementation does not know: like libsignal's
		// SPQR, carry on without a key; the message MAC decides.
		return s, nil, nil
	}
	m, err := parseMessage(data)
	if err != nil {
		return s, nil, err
	}
	n := s.clone()
	ek, err := n.braid.recv(&m)
	if err != nil {
		return s, nil, err
	}
	if n.chain == nil {
		if n.negotiation == nil {
			return s, nil, fmt.Errorf("%w: no chain", ErrState)
		}
		n.chain = n.negotiation.newChain()
	}
	n.negotiation = nil
	if ek != nil {
		if err := n.chain.addEpoch(ek.epoch, ek.secret); err != nil {
			return s, nil, err
		}
	}
	var key *[32]byte
	if keyEpoch := m.epoch - 1; keyEpoch != 0 || m.index != 0 {
		k, err := n.chain.recvKey(keyEpoch, m.index)
		if err != nil {
			return s, nil, err
		}
		key = (*[32]byte)(k)
	}
	tr.record(&m, ek, key)
	return n, key, nil
}

func equal(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }
