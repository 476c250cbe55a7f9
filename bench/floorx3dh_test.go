package bench

// The floor's session setup (X3DH, and PQXDH for a bundle with a Kyber
// prekey) and its conversation; the primitives and the ratchet are in
// floor_test.go.

import (
	"crypto/mlkem"
	"crypto/rand"
	"testing"

	"github.com/cloudflare/circl/kem/kyber/kyber1024"

	"github.com/blindpost/blindpost/identity"
	"github.com/blindpost/blindpost/kem"
)

// floorBob holds Bob's private keys as his store would: parsed once.
type floorBob struct {
	ik, spk, opk floorKey
	identity     [33]byte
	spkID, opkID uint32
	// kyber is the Kyber prekey's private key, unpacked once (CIRCL
	// expands the matrix A of its public half when unpacking); nil for
	// X3DH.
	kyber   *kyber1024.PrivateKey
	kyberID uint32
}

// version is the session version byte of Bob's bundle.
func (b *floorBob) version() byte {
	if b.kyber != nil {
		return versionPQXDH
	}
	return versionX3DH
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
	// The signed Kyber prekey, for PQXDH: 0x08 || the Kyber1024 public
	// key, as serialized and signed; nil for X3DH.
	kyberID  uint32
	kyber    []byte
	kyberSig [64]byte
}

// floorAlice is Alice's identity, parsed once.
type floorAlice struct {
	ik       floorKey
	identity [33]byte
	regID    uint32
}

func serialized(pub []byte) (s [33]byte) {
	s[0] = keyTypeDJB
	copy(s[1:], pub)
	return s
}

// parsedKey is blindpost's key pair as the floor holds it, the public key
// computed from the private one.
func parsedKey(tb testing.TB, kp identity.KeyPair) floorKey {
	k := floorKeyFrom((*[32]byte)(&kp.Private))
	if k.pub != [32]byte(kp.Public) {
		tb.Fatal("floor: public key differs from blindpost's")
	}
	return k
}

// newFloorParties makes Alice's identity, and Bob's identity and bundle,
// with pq also a Kyber prekey; blindpost's identity and kem packages make
// the keys and XEdDSA signatures (untimed).
func newFloorParties(tb testing.TB, pq bool) (*floorAlice, *floorBob, *floorBundle) {
	tb.Helper()
	aik := newFloorKey()
	a := &floorAlice{ik: aik, identity: serialized(aik.pub[:]), regID: 1234}
	b, bundle := newFloorBob(tb, newBobKeys(tb, pq))
	return a, b, bundle
}

// bobKeys are Bob's keys as blindpost makes them: one of each prekey, id 1.
type bobKeys struct {
	identity identity.IdentityKeyPair
	signed   identity.SignedPreKey
	oneTime  identity.PreKey
	kyber    *kem.PreKey // nil for X3DH
}

func newBobKeys(tb testing.TB, pq bool) bobKeys {
	tb.Helper()
	var k bobKeys
	var err error
	if k.identity, err = identity.GenerateIdentityKeyPair(rand.Reader); err != nil {
		tb.Fatal(err)
	}
	if k.signed, err = identity.GenerateSignedPreKey(rand.Reader, k.identity, 1, 0); err != nil {
		tb.Fatal(err)
	}
	pks, err := identity.GeneratePreKeys(rand.Reader, 1, 1)
	if err != nil {
		tb.Fatal(err)
	}
	k.oneTime = pks[0]
	if pq {
		kpk, err := kem.GeneratePreKey(rand.Reader, k.identity, 1, 0)
		if err != nil {
			tb.Fatal(err)
		}
		k.kyber = &kpk
	}
	return k
}

// newFloorBob is Bob with keys k, parsed once, and his bundle.
func newFloorBob(tb testing.TB, k bobKeys) (*floorBob, *floorBundle) {
	tb.Helper()
	b := &floorBob{
		ik: parsedKey(tb, k.identity.KeyPair), spk: parsedKey(tb, k.signed.KeyPair), opk: parsedKey(tb, k.oneTime.KeyPair),
		identity: serialized(k.identity.Public[:]), spkID: k.signed.ID, opkID: k.oneTime.ID,
	}
	bundle := &floorBundle{
		regID: 4321, identity: b.identity,
		spkID: b.spkID, spk: serialized(k.signed.KeyPair.Public[:]), sig: k.signed.Signature,
		opkID: b.opkID, opk: serialized(k.oneTime.KeyPair.Public[:]),
	}
	if kpk := k.kyber; kpk != nil {
		b.kyber, b.kyberID = new(kyber1024.PrivateKey), kpk.ID
		b.kyber.Unpack(kpk.KeyPair.Private[:])
		bundle.kyberID, bundle.kyber, bundle.kyberSig = kpk.ID, kpk.KeyPair.Public.Bytes(), kpk.Signature
	}
	return b, bundle
}

// dhPair is one X3DH agreement: our private key, their public key.
type dhPair struct {
	priv *floorKey
	pub  *[32]byte
}

// x3dhAgree is F || DH1 || ... || DH4 through X3DH's KDF (64 bytes), or,
// with the Kyber shared secret ss, F || DH1 || ... || DH4 || SS through
// PQXDH's (96 bytes, the last 32 being SPQR's initial key): root key,
// chain key.
func x3dhAgree(pairs [4]dhPair, ss []byte) (root, chain [32]byte, err error) {
	var km [32 * 6]byte
	copy(km[:], x3dhF[:])
	for i, p := range pairs {
		dh, err := p.priv.dh(p.pub)
		if err != nil {
			return root, chain, err
		}
		copy(km[32*(i+1):], dh[:])
	}
	var okm [96]byte
	if ss == nil {
		floorHKDF(okm[:64], km[:32*5], nil, infoX3DH)
	} else {
		copy(km[32*5:], ss)
		floorHKDF(okm[:], km[:], nil, infoPQXDH)
	}
	copy(root[:], okm[:32])
	copy(chain[:], okm[32:64])
	return root, chain, nil
}

// initiate is Alice's side of X3DH (or PQXDH) and her first ratchet step.
// For PQXDH she also makes the ML-KEM-768 key pair of SPQR's first epoch.
func (a *floorAlice) initiate(b *floorBundle) (*floorParty, error) {
	if !floorXEdDSAVerify(b.identity[1:], b.spk[:], b.sig[:]) {
		return nil, errFloorSignature
	}
	if b.kyber != nil && !floorXEdDSAVerify(b.identity[1:], b.kyber, b.kyberSig[:]) {
		return nil, errFloorSignature
	}
	base, ratchetKey := newFloorKey(), newFloorKey()
	ik, spk, opk := (*[32]byte)(b.identity[1:]), (*[32]byte)(b.spk[1:]), (*[32]byte)(b.opk[1:])
	var ct, ss []byte
	if b.kyber != nil {
		var pk kyber1024.PublicKey
		pk.Unpack(b.kyber[1:])
		var seed [kyber1024.EncapsulationSeedSize]byte
		if _, err := rand.Read(seed[:]); err != nil {
			return nil, err
		}
		ct, ss = make([]byte, 1+kyber1024.CiphertextSize), make([]byte, kyber1024.SharedKeySize)
		ct[0] = keyTypeKyber1024
		pk.EncapsulateTo(ct[1:], ss, seed[:])
	}
	root, chain, err := x3dhAgree([4]dhPair{{&a.ik, spk}, {&base, ik}, {&base, spk}, {&base, opk}}, ss)
	if err != nil {
		return nil, err
	}
	dh, err := ratchetKey.dh(spk)
	if err != nil {
		return nil, err
	}
	p := &floorParty{version: versionX3DH, local: a.identity, remote: b.identity, sendKey: ratchetKey, sendPub: ratchetKey.pub,
		hasRecv: true, recvPub: *spk, recvCK: chain}
	p.root, p.sendCK = floorKDFRK(&root, dh[:])
	p.pending = &floorPending{opkID: b.opkID, spkID: b.spkID, regID: a.regID, base: base.pub}
	if b.kyber != nil {
		p.version = versionPQXDH
		p.pending.kyberID, p.pending.kyberCT = b.kyberID, ct
		if p.spqrKey, err = mlkem.GenerateKey768(); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// respond is Bob's side of X3DH (or PQXDH) for a prekey message: it
// returns his new party and the embedded message.
func (b *floorBob) respond(m []byte) (*floorParty, []byte, error) {
	if len(m) == 0 || m[0] != b.version() {
		return nil, nil, errFloorFormat
	}
	opkID, rest, ok1 := varintField(m[1:], 0x08)
	baseKey, rest, ok2 := bytesField(rest, 0x12)
	ikey, rest, ok3 := bytesField(rest, 0x1a)
	inner, rest, ok4 := bytesField(rest, 0x22)
	_, rest, ok5 := varintField(rest, 0x28)
	spkID, rest, ok6 := varintField(rest, 0x30)
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || !ok6 || len(baseKey) != 33 || len(ikey) != 33 ||
		opkID != uint64(b.opkID) || spkID != uint64(b.spkID) {
		return nil, nil, errFloorFormat
	}
	var ss []byte
	if b.kyber != nil {
		kyberID, rest, ok7 := varintField(rest, 0x38)
		ct, _, ok8 := bytesField(rest, 0x42)
		if !ok7 || !ok8 || kyberID != uint64(b.kyberID) || len(ct) != 1+kyber1024.CiphertextSize || ct[0] != keyTypeKyber1024 {
			return nil, nil, errFloorFormat
		}
		ss = make([]byte, kyber1024.SharedKeySize)
		b.kyber.DecapsulateTo(ss, ct[1:])
	}
	base, ik := (*[32]byte)(baseKey[1:]), (*[32]byte)(ikey[1:])
	root, chain, err := x3dhAgree([4]dhPair{{&b.spk, ik}, {&b.ik, base}, {&b.spk, base}, {&b.opk, base}}, ss)
	if err != nil {
		return nil, nil, err
	}
	p := &floorParty{version: b.version(), local: b.identity, remote: [33]byte(ikey), root: root,
		sendKey: b.spk, sendPub: b.spk.pub, sendCK: chain}
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

func newFloorSetup(tb testing.TB, pq bool) setupFunc {
	a, b, bundle := newFloorParties(tb, pq)
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

// newFloorConversation: the floor has no SPQR, so no version-4
// conversation.
func newFloorConversation(tb testing.TB, pq bool) conversation {
	noPQ(tb, pq)
	a, b, bundle := newFloorParties(tb, false)
	pa, err := a.initiate(bundle)
	if err != nil {
		tb.Fatal(err)
	}
	c := &floorConversation{p: [2]*floorParty{pa, nil}, bob: b}
	firstExchange(tb, "floor", c)
	return c
}
