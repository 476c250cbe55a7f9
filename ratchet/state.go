package ratchet

import (
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/blindpost/blindpost/identity"
	"github.com/blindpost/blindpost/spqr"
	"github.com/blindpost/blindpost/wire"
)

// Errors callers branch on. Every other failure to decrypt wraps
// ErrInvalidMessage.
var (
	// ErrDuplicate: the message's key was already used (a replay, or a
	// re-delivery of a message that was decrypted before).
	ErrDuplicate = errors.New("ratchet: duplicate message")
	// ErrInvalidMessage: the message does not authenticate, is malformed
	// for this session, or is too far ahead.
	ErrInvalidMessage = errors.New("ratchet: invalid message")
)

// State is one Double Ratchet session between two identities.
//
// A session starts in one of two shapes and then only ratchets:
//
//	responder (Bob):   sending chain on his signed prekey, no receiving chain
//	initiator (Alice): receiving chain on Bob's signed prekey, sending chain
//	                   after one DH ratchet step with a fresh key
//	   |
//	   v   Encrypt: advance the sending chain (symmetric step)
//	established  <----------------------------------------------+
//	   |   Decrypt, known ratchet key: advance that receiving chain |
//	   |   Decrypt, new ratchet key: DH ratchet step (new receiving |
//	   +-- chain, new sending key and chain) ------------------------+
//
// State is a value: Encrypt and Decrypt return the next state and never
// change the one they were called on, so a rejected message leaves the
// caller's state exactly as it was.
type State struct {
	// Version is the session version: 3 (X3DH) or 4 (PQXDH).
	Version int
	// LocalIdentity and RemoteIdentity are bound into every MAC.
	LocalIdentity  identity.PublicKey
	RemoteIdentity identity.PublicKey

	Root            RootKey
	Sender          SenderChain
	PreviousCounter uint32
	// Receivers holds up to MaxReceiverChains chains, oldest first.
	Receivers []ReceiverChain
	// PQ is the Sparse Post-Quantum Ratchet run alongside (the "triple
	// ratchet"); its zero value is off, as in every version 3 session.
	PQ spqr.State
}

// SenderChain is our current ratchet key pair and sending chain.
type SenderChain struct {
	RatchetKey identity.KeyPair
	Chain      ChainKey
}

// ReceiverChain is a receiving chain, named by the peer's ratchet key, with
// the seeds of messages skipped on it (oldest first).
type ReceiverChain struct {
	RatchetKey identity.PublicKey
	Chain      ChainKey
	Skipped    []SkippedKey
}

// SkippedKey is the seed of a message not yet received.
type SkippedKey struct {
	Index uint32
	Seed  MessageSeed
}

// NewInitiator returns the initiator's state after the key agreement gave
// (root, chain): the chain receives on the responder's ratchet key (his
// signed prekey), and one DH ratchet step with ourRatchet, a fresh key
// pair, gives the first sending chain (Double Ratchet §3.3, RatchetInitAlice).
func NewInitiator(version int, local, remote identity.PublicKey, root RootKey, chain [KeySize]byte,
	theirRatchet identity.PublicKey, ourRatchet identity.KeyPair) (State, error) {
	dh, err := ourRatchet.DH(theirRatchet)
	if err != nil {
		return State{}, fmt.Errorf("ratchet: initial step: %w", err)
	}
	rk, ck := KDFRK(root, dh)
	clear(dh[:])
	return State{
		Version:        version,
		LocalIdentity:  local,
		RemoteIdentity: remote,
		Root:           rk,
		Sender:         SenderChain{RatchetKey: ourRatchet, Chain: ck},
		Receivers:      []ReceiverChain{{RatchetKey: theirRatchet, Chain: ChainKey{Key: chain}}},
	}, nil
}

// NewResponder returns the responder's state after the key agreement gave
// (root, chain): he sends on ourRatchet, his signed prekey, until the
// initiator's first ratchet key arrives (RatchetInitBob).
func NewResponder(version int, local, remote identity.PublicKey, root RootKey, chain [KeySize]byte,
	ourRatchet identity.KeyPair) State {
	return State{
		Version:        version,
		LocalIdentity:  local,
		RemoteIdentity: remote,
		Root:           root,
		Sender:         SenderChain{RatchetKey: ourRatchet, Chain: ChainKey{Key: chain}},
	}
}

// Header is what a sender may add to a message besides the ratchet fields:
// the optional addresses binding (36 bytes).
type Header struct {
	Addresses []byte
}

// Encrypt is the specification's RatchetEncrypt: it derives the next
// message key from the sending chain (salted with the SPQR key when SPQR
// gives one), encrypts plaintext and MACs the serialized message, which
// carries the SPQR data in its pq_ratchet field. It returns the next state
// and the message. rand feeds SPQR's ML-KEM steps (unused when SPQR is off).
func (s State) Encrypt(plaintext []byte, h Header, rand io.Reader) (State, *wire.SignalMessage, error) {
	if s.Sender.Chain.Index == ^uint32(0) {
		return s, nil, fmt.Errorf("ratchet: sending chain exhausted")
	}
	pq, pqMsg, pqKey, err := s.PQ.Send(rand)
	if err != nil {
		return s, nil, fmt.Errorf("ratchet: %w", err)
	}
	next, seed := KDFCK(s.Sender.Chain)
	mk := DeriveMessageKeys(seed, pqKey)
	m := &wire.SignalMessage{
		Version:         wire.VersionByte(s.Version),
		RatchetKey:      s.Sender.RatchetKey.Public,
		Counter:         s.Sender.Chain.Index,
		PreviousCounter: s.PreviousCounter,
		Ciphertext:      encrypt(&mk, plaintext),
		Addresses:       h.Addresses,
		PQRatchet:       pqMsg,
	}
	unsigned := m.EncodeUnsigned()
	m.Seal(unsigned, computeMAC(&mk.MACKey, s.LocalIdentity, s.RemoteIdentity, unsigned))
	clear(mk.CipherKey[:])
	clear(mk.MACKey[:])
	s.Sender.Chain = next
	s.PQ = pq
	return s, m, nil
}

// Decrypt is the specification's RatchetDecrypt: it finds or creates the
// receiving chain for the message's ratchet key, derives (or takes the
// stored) message key, checks the MAC over the bytes as received, and
// decrypts. Only then does it build the next state, with a new ratchet key
// pair read from rand when the message starts a new chain.
//
// Errors: ErrDuplicate for a message whose key is used up; ErrInvalidMessage
// (wrapped) for everything else the message can be blamed for.
func (s State) Decrypt(m *wire.SignalMessage, rand io.Reader) (State, []byte, error) {
	if m.SessionVersion() != s.Version {
		return s, nil, fmt.Errorf("%w: version %d in a version %d session", ErrInvalidMessage, m.SessionVersion(), s.Version)
	}
	p, err := s.plan(m)
	if err != nil {
		return s, nil, err
	}
	pq, pqKey, err := s.PQ.Recv(m.PQRatchet)
	switch {
	case errors.Is(err, spqr.ErrState):
		return s, nil, fmt.Errorf("ratchet: %w", err)
	case err != nil:
		return s, nil, fmt.Errorf("%w: %w", ErrInvalidMessage, err)
	}
	keys := DeriveMessageKeys(p.seed, pqKey)
	defer clear(keys.CipherKey[:])
	defer clear(keys.MACKey[:])
	if !verifyMAC(&keys.MACKey, s.RemoteIdentity, s.LocalIdentity, m) {
		return s, nil, fmt.Errorf("%w: bad MAC", ErrInvalidMessage)
	}
	plaintext, err := decrypt(&keys, m.Ciphertext)
	if err != nil {
		return s, nil, fmt.Errorf("%w: %w", ErrInvalidMessage, err)
	}
	next, err := s.commit(&p, rand)
	if err != nil {
		return s, nil, err
	}
	next.PQ = pq
	return next, plaintext, nil
}

// decryptPlan is everything Decrypt computed before authentication.
type decryptPlan struct {
	chainIndex int // index in Receivers, or -1 for a new chain
	chain      ReceiverChain
	newRoot    RootKey      // the root after the receiving step, for a new chain
	seed       MessageSeed  // of the message, before the SPQR salt
	usedSkip   int          // index in chain.Skipped of the key used, or -1
	newSkips   []SkippedKey // seeds of messages skipped by this one
}

// plan derives the message keys without changing anything.
func (s *State) plan(m *wire.SignalMessage) (decryptPlan, error) {
	p := decryptPlan{chainIndex: s.receiverIndex(m.RatchetKey), usedSkip: -1}
	if p.chainIndex >= 0 {
		p.chain = s.Receivers[p.chainIndex]
	} else {
		dh, err := s.Sender.RatchetKey.DH(m.RatchetKey)
		if err != nil {
			return decryptPlan{}, fmt.Errorf("%w: ratchet key: %w", ErrInvalidMessage, err)
		}
		var ck ChainKey
		p.newRoot, ck = KDFRK(s.Root, dh)
		clear(dh[:])
		p.chain = ReceiverChain{RatchetKey: m.RatchetKey, Chain: ck}
	}

	if m.Counter < p.chain.Chain.Index {
		p.usedSkip = slices.IndexFunc(p.chain.Skipped, func(k SkippedKey) bool { return k.Index == m.Counter })
		if p.usedSkip < 0 {
			return decryptPlan{}, fmt.Errorf("%w: counter %d, chain at %d", ErrDuplicate, m.Counter, p.chain.Chain.Index)
		}
		p.seed = p.chain.Skipped[p.usedSkip].Seed
		return p, nil
	}
	if jump := m.Counter - p.chain.Chain.Index; jump > MaxForwardJumps {
		return decryptPlan{}, fmt.Errorf("%w: counter %d is %d ahead of the chain (limit %d)", ErrInvalidMessage, m.Counter, jump, MaxForwardJumps)
	}
	ck := p.chain.Chain
	var seed MessageSeed
	if m.Counter > ck.Index {
		p.newSkips = make([]SkippedKey, 0, m.Counter-ck.Index)
	}
	for ck.Index < m.Counter {
		idx := ck.Index
		ck, seed = KDFCK(ck)
		p.newSkips = append(p.newSkips, SkippedKey{Index: idx, Seed: seed})
	}
	ck, seed = KDFCK(ck)
	p.chain.Chain = ck
	p.seed = seed
	return p, nil
}

// commit builds the state after an authenticated message. It shares no
// mutable memory with s: slices that change are copied.
func (s State) commit(p *decryptPlan, rand io.Reader) (State, error) {
	chain := p.chain
	switch {
	case p.usedSkip >= 0:
		chain.Skipped = withoutSkipped(chain.Skipped, p.usedSkip)
	case len(p.newSkips) > 0:
		skipped := slices.Concat(chain.Skipped, p.newSkips)
		if over := len(skipped) - MaxSkippedKeys; over > 0 {
			skipped = slices.Clone(skipped[over:])
		}
		chain.Skipped = skipped
	}

	next := s
	if p.chainIndex >= 0 {
		next.Receivers = slices.Clone(s.Receivers)
		next.Receivers[p.chainIndex] = chain
		return next, nil
	}

	// A new chain: finish the DH ratchet step with a fresh sending key.
	ours, err := identity.GenerateKeyPair(rand)
	if err != nil {
		return s, fmt.Errorf("ratchet: new ratchet key: %w", err)
	}
	dh, err := ours.DH(chain.RatchetKey)
	if err != nil {
		return s, fmt.Errorf("%w: ratchet key: %w", ErrInvalidMessage, err)
	}
	root, sendChain := KDFRK(p.newRoot, dh)
	clear(dh[:])

	receivers := append(slices.Clone(s.Receivers), chain)
	if over := len(receivers) - MaxReceiverChains; over > 0 {
		receivers = receivers[over:]
	}
	next.Receivers = receivers
	next.Root = root
	next.PreviousCounter = 0
	if s.Sender.Chain.Index > 0 {
		next.PreviousCounter = s.Sender.Chain.Index - 1
	}
	next.Sender = SenderChain{RatchetKey: ours, Chain: sendChain}
	return next, nil
}

// withoutSkipped returns skipped without entry i, sharing no memory that a
// later append could write into: the oldest or newest entry is dropped by
// reslicing (capacity cut to the length), any other by a copy.
func withoutSkipped(skipped []SkippedKey, i int) []SkippedKey {
	n := len(skipped)
	switch i {
	case 0:
		return skipped[1:n:n]
	case n - 1:
		return skipped[: n-1 : n-1]
	}
	out := make([]SkippedKey, 0, n-1)
	out = append(out, skipped[:i]...)
	return append(out, skipped[i+1:]...)
}

// receiverIndex finds the receiving chain for a ratchet key, or -1.
func (s *State) receiverIndex(k identity.PublicKey) int {
	for i := range s.Receivers {
		if s.Receivers[i].RatchetKey == k {
			return i
		}
	}
	return -1
}

// Clone returns a deep copy of s.
func (s State) Clone() State {
	s.Receivers = slices.Clone(s.Receivers)
	for i := range s.Receivers {
		s.Receivers[i].Skipped = slices.Clone(s.Receivers[i].Skipped)
	}
	return s
}

// String describes the state without its secrets.
func (s State) String() string {
	return fmt.Sprintf("ratchet.State{Version:%d Sender:%s/%d Receivers:%d PreviousCounter:%d SPQREpoch:%d}",
		s.Version, s.Sender.RatchetKey.Public, s.Sender.Chain.Index, len(s.Receivers), s.PreviousCounter, s.PQ.Epoch())
}

// GoString describes the state without its secrets.
func (s State) GoString() string { return s.String() }

// Format describes the state without its secrets, for every verb.
func (s State) Format(f fmt.State, _ rune) { fmt.Fprint(f, s.String()) }
