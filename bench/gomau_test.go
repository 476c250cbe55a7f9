package bench

import (
	"context"
	"fmt"
	"testing"

	"go.mau.fi/libsignal/ecc"
	"go.mau.fi/libsignal/keys/identity"
	"go.mau.fi/libsignal/keys/prekey"
	"go.mau.fi/libsignal/protocol"
	"go.mau.fi/libsignal/serialize"
	"go.mau.fi/libsignal/session"
	"go.mau.fi/libsignal/state/record"
	"go.mau.fi/libsignal/tests"
	"go.mau.fi/libsignal/util/keyhelper"
	"go.mau.fi/libsignal/util/optional"
)

// gmSerializer is the library's protobuf serializer, shared by every party
// as in its own tests.
var gmSerializer = serialize.NewProtoBufSerializer()

// gmParty is one go.mau.fi/libsignal device with the library's own
// in-memory stores (package tests). They hand out the live session record
// instead of a copy, which is the cheapest store the library can have:
// nothing is serialized between operations.
type gmParty struct {
	address    *protocol.SignalAddress
	identity   *identity.KeyPair
	regID      uint32
	sessions   *tests.InMemorySession
	preKeys    *tests.InMemoryPreKey
	signed     *tests.InMemorySignedPreKey
	identities *tests.InMemoryIdentityKey

	builder *session.Builder // towards the remote
	cipher  *session.Cipher
}

func newGMParty(tb testing.TB, name string) *gmParty {
	tb.Helper()
	ik, err := keyhelper.GenerateIdentityKeyPair()
	if err != nil {
		tb.Fatal(err)
	}
	reg := keyhelper.GenerateRegistrationID()
	return &gmParty{
		address:    protocol.NewSignalAddress(name, 1),
		identity:   ik,
		regID:      reg,
		sessions:   tests.NewInMemorySession(gmSerializer),
		preKeys:    tests.NewInMemoryPreKey(),
		signed:     tests.NewInMemorySignedPreKey(),
		identities: tests.NewInMemoryIdentityKey(ik, reg),
	}
}

// connect makes p's builder and cipher for sessions with remote.
func (p *gmParty) connect(remote *gmParty) {
	p.builder = session.NewBuilder(p.sessions, p.preKeys, p.signed, p.identities, remote.address, gmSerializer)
	p.cipher = session.NewCipher(p.builder, remote.address)
}

// bundle stores a fresh signed prekey and one-time prekey (ids 1; the
// library reads a one-time prekey id of 0 as "none") and returns the
// bundle that publishes them.
func (p *gmParty) bundle(tb testing.TB) *prekey.Bundle {
	tb.Helper()
	ctx := context.Background()
	const spkID, opkID = 1, 1
	spk, err := keyhelper.GenerateSignedPreKey(p.identity, spkID, gmSerializer.SignedPreKeyRecord)
	if err != nil {
		tb.Fatal(err)
	}
	opk, err := ecc.GenerateKeyPair()
	if err != nil {
		tb.Fatal(err)
	}
	if err := p.signed.StoreSignedPreKey(ctx, spkID, spk); err != nil {
		tb.Fatal(err)
	}
	if err := p.preKeys.StorePreKey(ctx, opkID, record.NewPreKey(opkID, opk, gmSerializer.PreKeyRecord)); err != nil {
		tb.Fatal(err)
	}
	return prekey.NewBundle(p.regID, 1, optional.NewOptionalUint32(opkID), spkID,
		opk.PublicKey(), spk.KeyPair().PublicKey(), spk.Signature(), p.identity.PublicKey())
}

type gmConversation struct{ p [2]*gmParty }

func (c *gmConversation) encrypt(from int, pt []byte) (message, error) {
	m, err := c.p[from].cipher.Encrypt(context.Background(), pt)
	if err != nil {
		return message{}, err
	}
	return message{int(m.Type()), m.Serialize()}, nil
}

// decrypt parses the bytes, as a receiver does, then decrypts.
func (c *gmConversation) decrypt(to int, m message) ([]byte, error) {
	return gmDecrypt(c.p[to], m)
}

func gmDecrypt(p *gmParty, m message) ([]byte, error) {
	ctx := context.Background()
	switch m.typ {
	case protocol.WHISPER_TYPE:
		sm, err := protocol.NewSignalMessageFromBytes(m.b, gmSerializer.SignalMessage)
		if err != nil {
			return nil, err
		}
		return p.cipher.Decrypt(ctx, sm)
	case protocol.PREKEY_TYPE:
		pm, err := protocol.NewPreKeySignalMessageFromBytes(m.b, gmSerializer.PreKeySignalMessage, gmSerializer.SignalMessage)
		if err != nil {
			return nil, err
		}
		return p.cipher.DecryptMessage(ctx, pm)
	}
	return nil, fmt.Errorf("message type %d", m.typ)
}

func (c *gmConversation) ratchetKey(m message) ([]byte, error) {
	switch m.typ {
	case protocol.WHISPER_TYPE:
		sm, err := protocol.NewSignalMessageFromBytes(m.b, gmSerializer.SignalMessage)
		if err != nil {
			return nil, err
		}
		return sm.SenderRatchetKey().Serialize(), nil
	case protocol.PREKEY_TYPE:
		pm, err := protocol.NewPreKeySignalMessageFromBytes(m.b, gmSerializer.PreKeySignalMessage, gmSerializer.SignalMessage)
		if err != nil {
			return nil, err
		}
		return pm.WhisperMessage().SenderRatchetKey().Serialize(), nil
	}
	return nil, fmt.Errorf("message type %d", m.typ)
}

func newGMPair(tb testing.TB) (a, b *gmParty) {
	a, b = newGMParty(tb, "alice"), newGMParty(tb, "bob")
	a.connect(b)
	b.connect(a)
	return a, b
}

// newGomauSetup makes Alice and Bob with Bob's bundle; the setup processes
// it, and sends and receives the first message. go.mau.fi/libsignal has no
// PQXDH: the PQ rows do not run on it.
func newGomauSetup(tb testing.TB, pq bool) setupFunc {
	noPQ(tb, pq)
	a, b := newGMPair(tb)
	bundle := b.bundle(tb)
	return func(pt []byte) ([]byte, error) {
		if err := a.builder.ProcessBundle(context.Background(), bundle); err != nil {
			return nil, err
		}
		m, err := a.cipher.Encrypt(context.Background(), pt)
		if err != nil {
			return nil, err
		}
		return gmDecrypt(b, message{int(m.Type()), m.Serialize()})
	}
}

func newGomauConversation(tb testing.TB, pq bool) conversation {
	noPQ(tb, pq)
	a, b := newGMPair(tb)
	if err := a.builder.ProcessBundle(context.Background(), b.bundle(tb)); err != nil {
		tb.Fatal(err)
	}
	c := &gmConversation{[2]*gmParty{a, b}}
	firstExchange(tb, "gomau", c)
	return c
}

// noPQ fails a post-quantum row on a family that has none (Row.Without
// keeps them from running).
func noPQ(tb testing.TB, pq bool) {
	tb.Helper()
	if pq {
		tb.Fatal("bench: internal error: a post-quantum row on a family without one")
	}
}
