package bench

// The floor's session setup (X3DH) and its conversation; the primitives
// and the ratchet are in floor_test.go.

import (
	"crypto/ecdh"
	"crypto/rand"
	"errors"
	"testing"

	"github.com/blindpost/blindpost/identity"
)

// floorBob holds Bob's private keys as his store would: parsed once.
type floorBob struct {
	ik, spk, opk *ecdh.PrivateKey
	identity     [33]byte
	spkID, opkID uint32
}

// floorBundle is what Bob publishes.
type floorBundle struct {
	regID    uint32
	identity [33]byte
	spkID    uint32
	spk      [33]byte
	sig      [64]byte
	opkID    uint32
	opk      [33]byte
}

// floorAlice is Alice's identity, parsed once.
type floorAlice struct {
	ik       *ecdh.PrivateKey
	identity [33]byte
	regID    uint32
}

func serialized(pub []byte) (s [33]byte) {
	s[0] = keyTypeDJB
	copy(s[1:], pub)
	return s
}

func ecdhKey(tb testing.TB, kp identity.KeyPair) *ecdh.PrivateKey {
	k, err := ecdh.X25519().NewPrivateKey(kp.Private[:])
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// newFloorParties makes Alice's identity, and Bob's identity and bundle;
// blindpost's identity package makes the XEdDSA signature (untimed).
func newFloorParties(tb testing.TB) (*floorAlice, *floorBob, *floorBundle) {
	tb.Helper()
	aik, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	a := &floorAlice{ik: aik, identity: serialized(aik.PublicKey().Bytes()), regID: 1234}
	bik, err := identity.GenerateIdentityKeyPair(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	spk, err := identity.GenerateSignedPreKey(rand.Reader, bik, 1, 0)
	if err != nil {
		tb.Fatal(err)
	}
	opk, err := identity.GenerateKeyPair(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	b := &floorBob{
		ik: ecdhKey(tb, bik.KeyPair), spk: ecdhKey(tb, spk.KeyPair), opk: ecdhKey(tb, opk),
		identity: serialized(bik.Public[:]), spkID: 1, opkID: 1,
	}
	bundle := &floorBundle{
		regID: 4321, identity: b.identity,
		spkID: 1, spk: serialized(spk.KeyPair.Public[:]), sig: spk.Signature,
		opkID: 1, opk: serialized(opk.Public[:]),
	}
	return a, b, bundle
}

// dhPair is one X3DH agreement: our private key, their public key.
type dhPair struct {
	priv *ecdh.PrivateKey
	pub  *ecdh.PublicKey
}

// x3dhAgree is F || DH1 || ... || DH4 through KDF: root key, chain key.
func x3dhAgree(pairs [4]dhPair) (root, chain [32]byte, err error) {
	var km [32 * 5]byte
	copy(km[:], x3dhF[:])
	for i, p := range pairs {
		dh, err := p.priv.ECDH(p.pub)
		if err != nil {
			return root, chain, err
		}
		copy(km[32*(i+1):], dh)
	}
	var okm [64]byte
	floorHKDF(okm[:], km[:], nil, infoX3DH)
	copy(root[:], okm[:32])
	copy(chain[:], okm[32:])
	return root, chain, nil
}

// initiate is Alice's side of X3DH and her first ratchet step.
func (a *floorAlice) initiate(b *floorBundle) (*floorParty, error) {
	if !floorXEdDSAVerify(b.identity[1:], b.spk[:], b.sig[:]) {
		return nil, errFloorSignature
	}
	x := ecdh.X25519()
	base, err := x.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	ratchetKey, err := x.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	ik, err1 := x.NewPublicKey(b.identity[1:])
	spk, err2 := x.NewPublicKey(b.spk[1:])
	opk, err3 := x.NewPublicKey(b.opk[1:])
	if err := errors.Join(err1, err2, err3); err != nil {
		return nil, err
	}
	root, chain, err := x3dhAgree([4]dhPair{{a.ik, spk}, {base, ik}, {base, spk}, {base, opk}})
	if err != nil {
		return nil, err
	}
	dh, err := ratchetKey.ECDH(spk)
	if err != nil {
		return nil, err
	}
	p := &floorParty{local: a.identity, remote: b.identity, sendKey: ratchetKey, hasRecv: true, recvCK: chain}
	p.root, p.sendCK = floorKDFRK(&root, dh)
	copy(p.recvPub[:], b.spk[1:])
	copy(p.sendPub[:], ratchetKey.PublicKey().Bytes())
	p.pending = &floorPending{opkID: b.opkID, spkID: b.spkID, regID: a.regID}
	copy(p.pending.base[:], base.PublicKey().Bytes())
	return p, nil
}

// respond is Bob's side of X3DH for a prekey message: it returns his new
// party and the embedded message.
func (b *floorBob) respond(m []byte) (*floorParty, []byte, error) {
	if len(m) == 0 || m[0] != versionByte {
		return nil, nil, errFloorFormat
	}
	opkID, rest, ok1 := varintField(m[1:], 0x08)
	baseKey, rest, ok2 := bytesField(rest, 0x12)
	ikey, rest, ok3 := bytesField(rest, 0x1a)
	inner, rest, ok4 := bytesField(rest, 0x22)
	_, rest, ok5 := varintField(rest, 0x28)
	spkID, _, ok6 := varintField(rest, 0x30)
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || !ok6 || len(baseKey) != 33 || len(ikey) != 33 ||
		opkID != uint64(b.opkID) || spkID != uint64(b.spkID) {
		return nil, nil, errFloorFormat
	}
	x := ecdh.X25519()
	base, err1 := x.NewPublicKey(baseKey[1:])
	ik, err2 := x.NewPublicKey(ikey[1:])
	if err := errors.Join(err1, err2); err != nil {
		return nil, nil, err
	}
	root, chain, err := x3dhAgree([4]dhPair{{b.spk, ik}, {b.ik, base}, {b.spk, base}, {b.opk, base}})
	if err != nil {
		return nil, nil, err
	}
	p := &floorParty{local: b.identity, remote: [33]byte(ikey), root: root, sendKey: b.spk, sendCK: chain}
	copy(p.sendPub[:], b.spk.PublicKey().Bytes())
	return p, inner, nil
}

// floorConversation holds Alice and, once her first message arrived, Bob.
type floorConversation struct {
	p   [2]*floorParty
	bob *floorBob
}

func (c *floorConversation) encrypt(from int, pt []byte) (message, error) {
	typ := 2
	if c.p[from].pending != nil {
		typ = 3
	}
	return message{typ, c.p[from].encrypt(pt)}, nil
}

func (c *floorConversation) decrypt(to int, m message) ([]byte, error) {
	if m.typ != 3 {
		return c.p[to].decrypt(m.b)
	}
	if c.p[bob] != nil { // a repeated prekey message: the session exists
		inner, err := innerMessage(m.b)
		if err != nil {
			return nil, err
		}
		return c.p[bob].decrypt(inner)
	}
	p, inner, err := c.bob.respond(m.b)
	if err != nil {
		return nil, err
	}
	c.p[bob] = p
	return p.decrypt(inner)
}

// innerMessage returns the SignalMessage inside a prekey message.
func innerMessage(b []byte) ([]byte, error) {
	if len(b) < 1 {
		return nil, errFloorFormat
	}
	_, b, ok := varintField(b[1:], 0x08)
	for _, tag := range []byte{0x12, 0x1a} {
		if !ok {
			break
		}
		_, b, ok = bytesField(b, tag)
	}
	if !ok {
		return nil, errFloorFormat
	}
	inner, _, ok := bytesField(b, 0x22)
	if !ok {
		return nil, errFloorFormat
	}
	return inner, nil
}

func (c *floorConversation) ratchetKey(m message) ([]byte, error) {
	b := m.b
	if m.typ == 3 {
		var err error
		if b, err = innerMessage(b); err != nil {
			return nil, err
		}
	}
	if len(b) < 36 {
		return nil, errFloorFormat
	}
	return b[4:36], nil
}

func newFloorSetup(tb testing.TB) setupFunc {
	a, b, bundle := newFloorParties(tb)
	return func(pt []byte) ([]byte, error) {
		pa, err := a.initiate(bundle)
		if err != nil {
			return nil, err
		}
		pb, inner, err := b.respond(pa.encrypt(pt))
		if err != nil {
			return nil, err
		}
		return pb.decrypt(inner)
	}
}

func newFloorConversation(tb testing.TB) conversation {
	a, b, bundle := newFloorParties(tb)
	pa, err := a.initiate(bundle)
	if err != nil {
		tb.Fatal(err)
	}
	c := &floorConversation{p: [2]*floorParty{pa, nil}, bob: b}
	firstExchange(tb, "floor", c)
	return c
}
