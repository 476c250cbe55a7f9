package lab

import (
	"fmt"
	"slices"

	"github.com/blindpost/blindpost/identity"
	"github.com/blindpost/blindpost/kem"
	"github.com/blindpost/blindpost/ratchet"
	"github.com/blindpost/blindpost/spqr"
	"github.com/blindpost/blindpost/wire"
	"github.com/blindpost/blindpost/x3dh"
)

// party is one side of a lab conversation: an identity, its own random
// stream and its Double Ratchet state.
type party struct {
	name   string // "Alice"
	letter string // "A": the prefix of its ratchet keys' names
	ik     identity.IdentityKeyPair
	regID  uint32
	rand   *Stream
	state  ratchet.State
	// started: the party has a session (Bob only after the first message).
	started bool
	// pending: Alice wraps her messages in PreKeySignalMessages until Bob
	// answers, as the session layer does.
	pending bool
}

// agreement is the X3DH (or PQXDH) run that starts a conversation, with
// every value both sides computed.
type agreement struct {
	spk identity.SignedPreKey
	opk *identity.PreKey
	// kyber is Bob's signed one-time Kyber prekey, for PQXDH; nil for X3DH.
	kyber      *kem.PreKey
	bundle     x3dh.Bundle
	ek         identity.KeyPair // EK_A
	aliceTrace x3dh.Trace
	bobTrace   x3dh.Trace
	// init is RatchetInitAlice: KDF_RK(RK0, DH(A1, SPK_B)).
	init kdfRK
}

// conversation is Alice and Bob after X3DH, with a log of what happened.
type conversation struct {
	seed       uint64
	alice, bob *party
	x          agreement
	// aliceStart is Alice's state right after RatchetInitAlice.
	aliceStart ratchet.State
	names      *namer
	events     []*event
	// pq is set for a PQXDH conversation: the lab's computation of the SPQR
	// chain, checked at every message.
	pq *pqChain
}

// event is one send or one delivery.
type event struct {
	send *sendEvent
	recv *recvEvent
	// alice and bob are both parties' states after the event.
	alice, bob ratchet.State
	bobStarted bool
}

// sendEvent is one message sent: what the sender used and what travels.
type sendEvent struct {
	label     string // "m3"
	from, to  *party
	plaintext string
	enc       *encryption
	// prekey is set when the message travels as a PreKeySignalMessage.
	prekey *wire.PreKeySignalMessage
	typ    int    // wire.TypeSignal or wire.TypePreKey
	bytes  []byte // what the relay carries
}

// recvEvent is one message received.
type recvEvent struct {
	send *sendEvent
	// respond is set when this message started the receiver's session
	// (X3DH as the responder).
	respond bool
	dec     *decryption
}

// newConversation runs X3DH between Alice and Bob, Alice initiating from
// Bob's bundle (with a one-time prekey when oneTime), and starts Alice's
// Double Ratchet. Bob's session starts when her first message arrives.
func newConversation(seed uint64, oneTime bool) (*conversation, error) {
	return startConversation(seed, oneTime, false)
}

// newPQConversation is newConversation with PQXDH: Bob's bundle also
// carries a signed one-time Kyber prekey, the session is version 4, and
// both sides run SPQR, requiring it of each other (spqr.V1, as
// blindpost's clients do).
func newPQConversation(seed uint64) (*conversation, error) {
	return startConversation(seed, true, true)
}

func startConversation(seed uint64, oneTime, pq bool) (*conversation, error) {
	alice, err := newParty("Alice", "A", NewStream(seed, "alice"))
	if err != nil {
		return nil, err
	}
	bob, err := newParty("Bob", "B", NewStream(seed, "bob"))
	if err != nil {
		return nil, err
	}
	c := &conversation{seed: seed, alice: alice, bob: bob, names: newNamer()}
	if err := c.publish(oneTime, pq); err != nil {
		return nil, err
	}
	if err := c.initiate(); err != nil {
		return nil, err
	}
	return c, nil
}

func newParty(name, letter string, r *Stream) (*party, error) {
	ik, err := identity.GenerateIdentityKeyPair(r)
	if err != nil {
		return nil, fmt.Errorf("lab: %s identity: %w", name, err)
	}
	reg, err := identity.GenerateRegistrationID(r)
	if err != nil {
		return nil, fmt.Errorf("lab: %s registration id: %w", name, err)
	}
	return &party{name: name, letter: letter, ik: ik, regID: reg, rand: r}, nil
}

// publish makes Bob's signed prekey (id 1), one-time prekey (id 1), for
// PQXDH his Kyber prekey (id 1), and his bundle.
func (c *conversation) publish(oneTime, pq bool) error {
	spk, err := identity.GenerateSignedPreKey(c.bob.rand, c.bob.ik, 1, labEpochMillis)
	if err != nil {
		return fmt.Errorf("lab: signed prekey: %w", err)
	}
	c.x.spk = spk
	c.x.bundle = x3dh.Bundle{
		RegistrationID:        c.bob.regID,
		DeviceID:              1,
		IdentityKey:           c.bob.ik.Public,
		SignedPreKeyID:        spk.ID,
		SignedPreKey:          spk.KeyPair.Public,
		SignedPreKeySignature: spk.Signature,
	}
	if oneTime {
		pks, err := identity.GeneratePreKeys(c.bob.rand, 1, 1)
		if err != nil {
			return fmt.Errorf("lab: one-time prekey: %w", err)
		}
		c.x.opk = &pks[0]
		c.x.bundle.PreKey = &x3dh.OneTimePreKey{ID: pks[0].ID, Key: pks[0].KeyPair.Public}
	}
	if pq {
		kpk, err := kem.GeneratePreKey(c.bob.rand, c.bob.ik, 1, labEpochMillis)
		if err != nil {
			return fmt.Errorf("lab: kyber prekey: %w", err)
		}
		c.x.kyber = &kpk
		c.x.bundle.KyberPreKey = &x3dh.KyberPreKey{ID: kpk.ID, Key: kpk.KeyPair.Public, Signature: kpk.Signature}
	}
	c.names.setKey(spk.KeyPair.Public, "B0")
	return nil
}

// initiate is Alice's side: base key, first ratchet key, X3DH, and
// RatchetInitAlice, in the order the session layer draws them.
func (c *conversation) initiate() error {
	a := c.alice
	ek, err := identity.GenerateKeyPair(a.rand)
	if err != nil {
		return fmt.Errorf("lab: base key: %w", err)
	}
	c.x.ek = ek
	a1, err := identity.GenerateKeyPair(a.rand)
	if err != nil {
		return fmt.Errorf("lab: ratchet key: %w", err)
	}
	sk, err := x3dh.InitiateTraced(a.ik, ek, &c.x.bundle, a.rand, &c.x.aliceTrace)
	if err != nil {
		return fmt.Errorf("lab: %w", err)
	}
	a.state, err = ratchet.NewInitiator(sk.Version, a.ik.Public, c.bob.ik.Public,
		sk.RootKey, sk.ChainKey, c.x.bundle.SignedPreKey, a1)
	if err != nil {
		return fmt.Errorf("lab: %w", err)
	}
	if c.x.kyber != nil {
		if a.state.PQ, err = newSPQR(spqr.AToB, &sk); err != nil {
			return err
		}
		c.pq = newPQChain(sk.PQRKey)
	}
	c.x.init, err = newKDFRK(a1, c.x.bundle.SignedPreKey, sk.RootKey)
	if err != nil {
		return err
	}
	if c.x.init.rkOut != a.state.Root || c.x.init.chain != a.state.Sender.Chain {
		return fmt.Errorf("lab: internal error: KDF_RK does not give NewInitiator's state")
	}
	a.started, a.pending = true, true
	c.aliceStart = a.state.Clone()
	c.names.root(sk.RootKey)
	c.names.key(a1.Public, "A")
	c.names.root(a.state.Root)
	return nil
}

// peer returns the other party.
func (c *conversation) peer(p *party) *party {
	if p == c.alice {
		return c.bob
	}
	return c.alice
}

// send encrypts text from p to the other party.
func (c *conversation) send(p *party, label, text string) (*sendEvent, error) {
	next, enc, err := encryptTraced(p.state, []byte(text), p.rand)
	if err != nil {
		return nil, fmt.Errorf("lab: %s encrypts %s: %w", p.name, label, err)
	}
	if err := c.observePQ(enc.pq, p); err != nil {
		return nil, err
	}
	p.state = next
	ev := &sendEvent{label: label, from: p, to: c.peer(p), plaintext: text, enc: enc,
		typ: wire.TypeSignal, bytes: enc.msg.Bytes()}
	if p.pending {
		ev.prekey = &wire.PreKeySignalMessage{
			Version:        enc.msg.Version,
			RegistrationID: p.regID,
			SignedPreKeyID: c.x.bundle.SignedPreKeyID,
			BaseKey:        c.x.ek.Public,
			IdentityKey:    p.ik.Public,
			Message:        enc.msg,
		}
		if pk := c.x.bundle.PreKey; pk != nil {
			ev.prekey.PreKeyID, ev.prekey.HasPreKeyID = pk.ID, true
		}
		if kpk := c.x.bundle.KyberPreKey; kpk != nil {
			ev.prekey.KyberPreKeyID = kpk.ID
			ev.prekey.KyberCiphertext = c.x.aliceTrace.Secrets.KyberCiphertext.Bytes()
		}
		ev.typ, ev.bytes = wire.TypePreKey, ev.prekey.Encode()
	}
	c.record(&event{send: ev})
	return ev, nil
}

// deliver hands a sent message, as the bytes that traveled, to its
// recipient.
func (c *conversation) deliver(s *sendEvent) (*recvEvent, error) {
	p := s.to
	m, pk, err := parseMessage(s.typ, s.bytes)
	if err != nil {
		return nil, fmt.Errorf("lab: %s parses %s: %w", p.name, s.label, err)
	}
	ev := &recvEvent{send: s}
	if pk != nil && !p.started {
		if err := c.respond(pk); err != nil {
			return nil, err
		}
		ev.respond = true
	}
	next, dec, err := decryptTraced(p.state, m, p.rand)
	if err != nil {
		return nil, fmt.Errorf("lab: %s decrypts %s: %w", p.name, s.label, err)
	}
	if string(dec.plaintext) != s.plaintext {
		return nil, fmt.Errorf("lab: internal error: %s read %q, %q was sent", p.name, dec.plaintext, s.plaintext)
	}
	if err := c.observePQ(dec.pq, s.from); err != nil {
		return nil, err
	}
	p.state = next
	p.pending = false
	ev.dec = dec
	if dec.step != nil {
		c.names.key(next.Sender.RatchetKey.Public, p.letter)
		c.names.root(dec.step[0].rkOut)
		c.names.root(dec.step[1].rkOut)
	}
	c.record(&event{recv: ev})
	return ev, nil
}

// exchange sends and at once delivers.
func (c *conversation) exchange(p *party, label, text string) (*sendEvent, *recvEvent, error) {
	s, err := c.send(p, label, text)
	if err != nil {
		return nil, nil, err
	}
	r, err := c.deliver(s)
	return s, r, err
}

// respond is Bob's side of X3DH for Alice's first message.
func (c *conversation) respond(pk *wire.PreKeySignalMessage) error {
	keys := x3dh.ResponderKeys{Identity: c.bob.ik, SignedPreKey: c.x.spk.KeyPair}
	if pk.HasPreKeyID {
		if c.x.opk == nil || c.x.opk.ID != pk.PreKeyID {
			return fmt.Errorf("lab: internal error: unknown one-time prekey %d", pk.PreKeyID)
		}
		keys.PreKey = &c.x.opk.KeyPair
	}
	var ct *kem.Ciphertext
	if pk.KyberCiphertext != nil {
		if c.x.kyber == nil || c.x.kyber.ID != pk.KyberPreKeyID {
			return fmt.Errorf("lab: internal error: unknown kyber prekey %d", pk.KyberPreKeyID)
		}
		parsed, err := kem.ParseCiphertext(pk.KyberCiphertext)
		if err != nil {
			return fmt.Errorf("lab: Bob parses the kyber ciphertext: %w", err)
		}
		keys.KyberPreKey, ct = &c.x.kyber.KeyPair, &parsed
	}
	sk, err := x3dh.RespondTraced(keys, pk.IdentityKey, pk.BaseKey, ct, &c.x.bobTrace)
	if err != nil {
		return fmt.Errorf("lab: Bob responds: %w", err)
	}
	c.bob.state = ratchet.NewResponder(sk.Version, c.bob.ik.Public, pk.IdentityKey,
		sk.RootKey, sk.ChainKey, c.x.spk.KeyPair)
	if ct != nil {
		if c.bob.state.PQ, err = newSPQR(spqr.BToA, &sk); err != nil {
			return err
		}
	}
	c.bob.started = true
	return nil
}

// newSPQR starts one side's SPQR from PQXDH's PQR key, as the session
// layer does (session.newRatchetState), requiring SPQR of the peer.
func newSPQR(dir spqr.Direction, sk *x3dh.Secrets) (spqr.State, error) {
	s, err := spqr.New(spqr.Params{Direction: dir, AuthKey: sk.PQRKey, MinVersion: spqr.V1})
	if err != nil {
		return spqr.State{}, fmt.Errorf("lab: SPQR: %w", err)
	}
	return s, nil
}

// observePQ checks an SPQR step of a message from sender against the
// lab's computation of the SPQR chain.
func (c *conversation) observePQ(p *pqStep, sender *party) error {
	if p == nil {
		return nil
	}
	if c.pq == nil {
		return fmt.Errorf("lab: internal error: SPQR in an X3DH conversation")
	}
	dir := spqr.BToA
	if sender == c.alice {
		dir = spqr.AToB
	}
	return c.pq.observe(p, dir)
}

func (c *conversation) record(ev *event) {
	ev.alice, ev.bob, ev.bobStarted = c.alice.state.Clone(), c.bob.state.Clone(), c.bob.started
	c.events = append(c.events, ev)
}

// parseMessage parses bytes of a ciphertext message type as the receiver
// does, returning the SignalMessage to decrypt and, for a prekey message,
// the wrapper.
func parseMessage(typ int, b []byte) (*wire.SignalMessage, *wire.PreKeySignalMessage, error) {
	switch typ {
	case wire.TypeSignal:
		m, err := wire.ParseSignalMessage(b)
		return m, nil, err
	case wire.TypePreKey:
		pk, err := wire.ParsePreKeySignalMessage(b)
		if err != nil {
			return nil, nil, err
		}
		return pk.Message, pk, nil
	}
	return nil, nil, fmt.Errorf("lab: unknown message type %d", typ)
}

// namer names ratchet keys and root keys as output rule 5 says.
type namer struct {
	keys  map[identity.PublicKey]string
	count map[string]int
	roots []ratchet.RootKey
}

func newNamer() *namer {
	return &namer{keys: map[identity.PublicKey]string{}, count: map[string]int{}}
}

// key names k, giving it the next name with prefix when it is new.
func (n *namer) key(k identity.PublicKey, prefix string) string {
	if name, ok := n.keys[k]; ok {
		return name
	}
	n.count[prefix]++
	name := fmt.Sprintf("%s%d", prefix, n.count[prefix])
	n.keys[k] = name
	return name
}

// setKey gives k a fixed name.
func (n *namer) setKey(k identity.PublicKey, name string) { n.keys[k] = name }

// keyName is k's name, or its fingerprint when it has none.
func (n *namer) keyName(k identity.PublicKey) string {
	if name, ok := n.keys[k]; ok {
		return name
	}
	return "?" + fp(k[:])
}

// root names a root key RK0, RK1... in order of first appearance.
func (n *namer) root(rk ratchet.RootKey) string {
	if i := slices.Index(n.roots, rk); i >= 0 {
		return fmt.Sprintf("RK%d", i)
	}
	n.roots = append(n.roots, rk)
	return fmt.Sprintf("RK%d", len(n.roots)-1)
}

// chain names a chain key CK(key,n).
func (n *namer) chain(k identity.PublicKey, index uint32) string {
	return fmt.Sprintf("CK(%s,%d)", n.keyName(k), index)
}

// mk names a message key mk(key,n).
func (n *namer) mk(k identity.PublicKey, index uint32) string {
	return fmt.Sprintf("mk(%s,%d)", n.keyName(k), index)
}
