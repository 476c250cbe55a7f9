package main

// Defects of go.mau.fi/libsignal v0.2.1 observed through the peer. Each test asserts the defect as
// it is, so that a referee's expected-failure notes stay true, and fails if the library changes.
// README.md lists them.

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"strings"
	"testing"

	"go.mau.fi/libsignal/ecc"
	"go.mau.fi/libsignal/keys/identity"
	msgkeys "go.mau.fi/libsignal/keys/message"
	"go.mau.fi/libsignal/keys/prekey"
	"go.mau.fi/libsignal/protocol"
	"go.mau.fi/libsignal/serialize"
	"go.mau.fi/libsignal/session"
	"go.mau.fi/libsignal/signalerror"
	"go.mau.fi/libsignal/state/store"
	"go.mau.fi/libsignal/tests"
	"go.mau.fi/libsignal/util/keyhelper"
	"go.mau.fi/libsignal/util/optional"
)

// establish gives a pair that has exchanged one message each way, so that both send SignalMessages.
func establish(t *testing.T) (alice, bob *testPeer) {
	alice, bob = newTestPeer(t, "alice"), newTestPeer(t, "bob")
	alice.startSession(bob, true)
	bob.mustDecrypt(alice, alice.encrypt(bob, []byte("hi")), []byte("hi"))
	alice.mustDecrypt(bob, bob.encrypt(alice, []byte("hello")), []byte("hello"))
	return alice, bob
}

// signalMessageFields decodes a serialized SignalMessage with the library's own parser.
func signalMessageFields(t *testing.T, ct []byte) *protocol.SignalMessageStructure {
	t.Helper()
	s, err := (&serialize.ProtoBufSignalMessageSerializer{}).Deserialize(ct)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Bob's first SignalMessage carries previous_counter 0xFFFFFFFF: the library computes
// max(index-1, 0) in uint32 (session/SessionCipher.go:387). libsignal sends 0.
func TestDefectPreviousCounterUnderflow(t *testing.T) {
	alice, bob := newTestPeer(t, "alice"), newTestPeer(t, "bob")
	alice.startSession(bob, true)
	bob.mustDecrypt(alice, alice.encrypt(bob, []byte("hi")), []byte("hi"))
	reply := bob.encrypt(alice, []byte("first reply"))
	if got := signalMessageFields(t, reply.ct).PreviousCounter; got != 0xFFFFFFFF {
		t.Fatalf("previous_counter = %d, want the documented 4294967295", got)
	}
	alice.mustDecrypt(bob, reply, []byte("first reply")) // and it does not choke on it
}

// The low nibble of the version byte is not authenticated: the MAC is computed over a version
// byte the library writes itself. libsignal does the same; the contract does not count it as
// tampering. Kept here to pin the behaviour.
func TestVersionLowNibbleNotAuthenticated(t *testing.T) {
	alice, bob := establish(t)
	for _, v := range []byte{0x30, 0x32, 0x34, 0x3f} {
		m := bob.encrypt(alice, []byte{v})
		m.ct[0] = v
		alice.mustDecrypt(bob, m, []byte{v})
	}
}

// The MAC covers the version byte the library writes itself (ASCII "3", 0x33), not the byte received
// (protocol/SignalMessage.go VerifyMac). libsignal >= 0.24 sends 0x34 in v3 sessions and MACs that
// byte, so its messages fail here. Built with a correct MAC over 0x34 from the sender's keys.
func TestDefectMACOverOwnVersionByte(t *testing.T) {
	alice, bob := establish(t)
	var macKey []byte
	m := authenticMessage(t, bob, alice, func(k *msgkeys.Keys) []byte {
		macKey = k.MacKey()
		return cbcEncrypt(t, k, bytes.Repeat([]byte{16}, 16)) // an empty plaintext, PKCS#7 padded
	})
	body := m.ct[1 : len(m.ct)-protocol.MacLength]
	macOver := func(version byte) []byte {
		mac := hmac.New(sha256.New, macKey)
		mac.Write(bob.identityKey)
		mac.Write(alice.identityKey)
		mac.Write([]byte{version})
		mac.Write(body)
		return mac.Sum(nil)[:protocol.MacLength]
	}
	if !bytes.Equal(macOver(0x33), m.ct[len(m.ct)-protocol.MacLength:]) {
		t.Fatal("MAC construction does not reproduce the library's own MAC over 0x33")
	}
	libsignalStyle := append(append([]byte{0x34}, body...), macOver(0x34)...)
	if k := kind(alice.decrypt(bob, message{typ: m.typ, ct: libsignalStyle})); k != kindInvalidMessage {
		t.Fatalf("0x34 with a MAC over 0x34: %q, want the documented invalid_message", k)
	}
	alice.mustDecrypt(bob, m, []byte{}) // the same message as the library writes it
}

// The MAC is checked over the message re-encoded from its decoded fields, not over the bytes
// received (protocol/SignalMessage.go VerifyMac). Bytes that decode to the same fields pass: here
// the counter field (0) is renumbered to an unknown field, so the counter decodes as absent = 0.
func TestDefectMACOverReencodedMessage(t *testing.T) {
	alice, bob := establish(t)
	bob.mustDecrypt(alice, alice.encrypt(bob, []byte("over")), []byte("over"))
	m := bob.encrypt(alice, []byte("counter zero")) // first message of Bob's new chain
	if c := signalMessageFields(t, m.ct).Counter; c != 0 {
		t.Fatalf("counter %d, want 0", c)
	}
	// version(1) | 0x0a 0x21 ratchet key(33) | 0x10 counter ...
	const counterTag = 1 + 2 + 33
	if m.ct[counterTag] != 0x10 || m.ct[counterTag+1] != 0x00 {
		t.Fatalf("unexpected layout % x", m.ct[:counterTag+2])
	}
	tampered := bytes.Clone(m.ct)
	tampered[counterTag] = 0x50 // field 10, varint: unknown to the library
	alice.mustDecrypt(bob, message{typ: m.typ, ct: tampered}, []byte("counter zero"))
}

// A PreKeySignalMessage whose outer version byte says 2 (0x23) is accepted: the library rejects only
// versions <= 1 (protocol/PreKeySignalMessage.go:39) and that byte is under no MAC. libsignal
// rejects any version but 3 and 4. Once the session exists, the same message is matched against the
// session's version 3, is not recognised as a duplicate, and the used one-time prekey is looked up
// again: invalid_key_id instead of duplicate.
func TestDefectPreKeyMessageVersion2Accepted(t *testing.T) {
	alice, bob := newTestPeer(t, "alice"), newTestPeer(t, "bob")
	alice.startSession(bob, true)
	m := alice.encrypt(bob, []byte("hi"))
	m.ct[0] = 0x23
	bob.mustDecrypt(alice, m, []byte("hi"))
	if k := kind(bob.decrypt(alice, m)); k != kindInvalidKeyID {
		t.Fatalf("the 0x23 message again: %q, want the documented invalid_key_id", k)
	}
	m.ct[0] = 0x33
	if k := kind(bob.decrypt(alice, m)); k != kindDuplicate {
		t.Fatalf("the message again with 0x33: %q, want duplicate", k)
	}
}

// The library records the identity key of a PreKeySignalMessage (trust on first use) before it
// decrypts the message (session/Session.go Process: SaveIdentity, then SessionCipher decrypts).
// A first message whose identity key was altered is rejected, yet the altered key is now the
// trusted one and the genuine message is refused as untrusted. libsignal saves the identity only
// after a successful decryption. The peer's identity store does not undo what the library saved.
func TestDefectIdentitySavedBeforeDecryption(t *testing.T) {
	alice, bob := newTestPeer(t, "alice"), newTestPeer(t, "bob")
	alice.startSession(bob, true)
	m := alice.encrypt(bob, []byte("hello"))
	i := bytes.Index(m.ct, alice.identityKey)
	if i < 0 {
		t.Fatal("identity key not found in the PreKeySignalMessage")
	}
	forged := bytes.Clone(m.ct)
	forged[i+publicKeyLength-1] ^= 0x01
	if k := kind(bob.decrypt(alice, message{typ: m.typ, ct: forged})); k != kindInvalidMessage {
		t.Fatalf("forged identity key: %q, want invalid_message", k)
	}
	if k := kind(bob.decrypt(alice, m)); k != kindUntrustedIdentity {
		t.Fatalf("genuine message after the forgery: %q, want the documented untrusted_identity", k)
	}
	if s := bob.ok(obj{"op": "session", "remote": alice.addr()}); s["exists"] != false {
		t.Fatalf("a session was stored: %v", s)
	}
	// Approving the genuine key repairs it.
	bob.ok(obj{"op": "approve_identity", "remote": alice.addr(), "identity_key": alice.identityKey})
	bob.mustDecrypt(alice, m, []byte("hello"))
}

// The library panics on some malformed input. The peer recovers and reports invalid_message,
// naming the library line; the session is unchanged afterwards.
func TestDefectPanicsOnMalformedInput(t *testing.T) {
	alice, bob := establish(t)
	for _, c := range []struct {
		name, site string
		m          message
	}{
		// serialized[0] of an empty slice.
		{"empty PreKeySignalMessage", "serialize/ProtoBufferSerializer.go:", message{typePreKeySignalMessage, []byte{}}},
		// ecc.DecodePoint reads bytes[0] of an empty ratchet key, before any MAC check.
		{"empty ratchet key", "ecc/Curve.go:", message{typeSignalMessage, emptyRatchetKeyMessage()}},
		// After a valid MAC: CBC decryption of a body that is not a whole number of blocks.
		{"17-byte CBC body", "cipher/Cbc.go:", authenticMessage(t, bob, alice, func(k *msgkeys.Keys) []byte {
			return append(cbcEncrypt(t, k, bytes.Repeat([]byte{16}, 16)), 0)
		})},
	} {
		reply := alice.decrypt(bob, c.m)
		msg, _ := reply["error"].(obj)["message"].(string)
		if kind(reply) != kindInvalidMessage || !strings.Contains(msg, "recovered panic") || !strings.Contains(msg, c.site) {
			t.Errorf("%s: %v, want invalid_message from a recovered panic at %s", c.name, reply, c.site)
		}
	}
	alice.mustDecrypt(bob, bob.encrypt(alice, []byte("still here")), []byte("still here"))
}

// PKCS#7 padding is not checked: the library strips as many bytes as the last byte says, whatever
// the other padding bytes are, and a last byte of 0 strips nothing (cipher/Cbc.go unpad). Only the
// holder of the session keys can produce such a message; libsignal rejects it.
func TestDefectPaddingNotChecked(t *testing.T) {
	alice, bob := establish(t)
	block := []byte("fifteen bytes!\xAA\x02") // claims 2 bytes of padding, but they are 0xAA 0x02
	m := authenticMessage(t, bob, alice, func(k *msgkeys.Keys) []byte { return cbcEncrypt(t, k, block) })
	alice.mustDecrypt(bob, m, block[:14])

	bob.encrypt(alice, []byte("dropped")) // moves Bob's chain past the index just used
	block = []byte("fifteen bytes!!\x00") // padding length 0
	m = authenticMessage(t, bob, alice, func(k *msgkeys.Keys) []byte { return cbcEncrypt(t, k, block) })
	alice.mustDecrypt(bob, m, block)
}

// authenticMessage builds, from the sender's stored session, the SignalMessage the sender would
// send next, with a valid MAC around a CBC body of the caller's choosing: what a sender (not an
// outsider) could send. The sender's state is not advanced.
func authenticMessage(t *testing.T, from, to *testPeer, body func(*msgkeys.Keys) []byte) message {
	t.Helper()
	r, err := from.p.store.LoadSession(context.Background(), protocol.NewSignalAddress(to.name, 1))
	if err != nil {
		t.Fatal(err)
	}
	st := r.SessionState()
	chainKey := st.SenderChainKey()
	keys := chainKey.MessageKeys()
	m, err := protocol.NewSignalMessage(st.Version(), chainKey.Index(), st.PreviousCounter(), keys.MacKey(),
		st.SenderRatchetKey(), body(keys), st.LocalIdentityKey(), st.RemoteIdentityKey(), from.p.serializer.SignalMessage)
	if err != nil {
		t.Fatal(err)
	}
	return message{typ: typeSignalMessage, ct: m.Serialize()}
}

// cbcEncrypt encrypts whole blocks with a message's AES-256-CBC key and IV, adding no padding.
func cbcEncrypt(t *testing.T, k *msgkeys.Keys, blocks []byte) []byte {
	t.Helper()
	c, err := aes.NewCipher(k.CipherKey())
	if err != nil {
		t.Fatal(err)
	}
	out := make([]byte, len(blocks))
	cipher.NewCBCEncrypter(c, k.Iv()).CryptBlocks(out, blocks)
	return out
}

// A signed prekey of low order (u = 0, so every DH output with it is all zeros) is accepted: the
// library's X25519 (x/crypto curve25519.ScalarMult) does not reject an all-zero shared secret, and
// its bundle processing checks only the signature. libsignal rejects the all-zero agreement.
func TestDefectLowOrderPreKeyAccepted(t *testing.T) {
	alice := newTestPeer(t, "alice")
	mallory, err := keyhelper.GenerateIdentityKeyPair()
	if err != nil {
		t.Fatal(err)
	}
	lowOrder := append([]byte{ecc.DjbType}, make([]byte, 32)...)
	sig := ecc.CalculateSignature(mallory.PrivateKey(), lowOrder)
	b := obj{
		"registration_id": 1, "device_id": 1, "identity_key": mallory.PublicKey().Serialize(),
		"signed_prekey_id": 1, "signed_prekey": lowOrder, "signed_prekey_signature": sig[:],
	}
	remote := obj{"name": "mallory", "device_id": 1}
	alice.ok(obj{"op": "process_bundle", "remote": remote, "bundle": b})
	alice.ok(obj{"op": "encrypt", "remote": remote, "plaintext": []byte("to a low-order key")})
}

// With a store that hands out its live session record, as the library's own test store does, one
// forged message breaks a session: decryption advances the receiving chain in the record before
// the MAC check, and the genuine message is then refused as old. The peer's copying store keeps the
// session intact. Both runs use the library's API directly.
func TestDefectLiveRecordStoreBreaksOnForgery(t *testing.T) {
	live := func(ik *identity.KeyPair, reg uint32, ser *serialize.Serializer) stores {
		return stores{tests.NewInMemorySession(ser), tests.NewInMemoryPreKey(), tests.NewInMemorySignedPreKey(),
			tests.NewInMemoryIdentityKey(ik, reg)}
	}
	copying := func(ik *identity.KeyPair, reg uint32, ser *serialize.Serializer) stores {
		s := newMemStore(ik, reg, ser)
		return stores{s, s, s, s}
	}
	if err := forgeryThenGenuine(t, live); !errors.Is(err, signalerror.ErrOldCounter) {
		t.Errorf("live-record store: genuine message after a forgery gave %v, want the documented ErrOldCounter", err)
	}
	if err := forgeryThenGenuine(t, copying); err != nil {
		t.Errorf("copying store: genuine message after a forgery gave %v, want success", err)
	}
}

// stores are the four stores the library's session builder takes.
type stores struct {
	session  store.Session
	preKey   store.PreKey
	signed   store.SignedPreKey
	identity store.IdentityKey
}

// forgeryThenGenuine sets up a session with the library's API over the given stores, has Bob
// receive a MAC-tampered copy of a message that starts a new chain, then the genuine message, and
// returns the error of the latter.
func forgeryThenGenuine(t *testing.T, newStores func(*identity.KeyPair, uint32, *serialize.Serializer) stores) error {
	t.Helper()
	ctx := context.Background()
	ser := serialize.NewProtoBufSerializer()
	aliceAddr, bobAddr := protocol.NewSignalAddress("alice", 1), protocol.NewSignalAddress("bob", 1)
	party := func(remote *protocol.SignalAddress, reg uint32) (*identity.KeyPair, stores, *session.Cipher) {
		ik, err := keyhelper.GenerateIdentityKeyPair()
		if err != nil {
			t.Fatal(err)
		}
		s := newStores(ik, reg, ser)
		b := session.NewBuilder(s.session, s.preKey, s.signed, s.identity, remote, ser)
		return ik, s, session.NewCipher(b, remote)
	}
	_, aliceStores, aliceCipher := party(bobAddr, 1)
	bobIK, bobStores, bobCipher := party(aliceAddr, 2)

	spk, err := keyhelper.GenerateSignedPreKey(bobIK, 1, ser.SignedPreKeyRecord)
	if err != nil {
		t.Fatal(err)
	}
	must(t, bobStores.signed.StoreSignedPreKey(ctx, 1, spk))
	bundle := prekey.NewBundle(2, 1, optional.NewEmptyUint32(), 1, nil, spk.KeyPair().PublicKey(),
		spk.Signature(), bobIK.PublicKey())
	must(t, session.NewBuilder(aliceStores.session, aliceStores.preKey, aliceStores.signed, aliceStores.identity,
		bobAddr, ser).ProcessBundle(ctx, bundle))

	m1, err := aliceCipher.Encrypt(ctx, []byte("one"))
	must(t, err)
	_, err = bobCipher.DecryptMessage(ctx, m1.(*protocol.PreKeySignalMessage))
	must(t, err)
	r1, err := bobCipher.Encrypt(ctx, []byte("two"))
	must(t, err)
	_, err = aliceCipher.Decrypt(ctx, r1.(*protocol.SignalMessage))
	must(t, err)

	m2, err := aliceCipher.Encrypt(ctx, []byte("three")) // a new ratchet key: Bob starts a new chain
	must(t, err)
	forgedBytes := flipBit(m2.Serialize(), 8*len(m2.Serialize())-1)
	forged, err := protocol.NewSignalMessageFromBytes(forgedBytes, ser.SignalMessage)
	must(t, err)
	if _, err := bobCipher.Decrypt(ctx, forged); err == nil {
		t.Fatal("forged message accepted")
	}
	_, err = bobCipher.Decrypt(ctx, m2.(*protocol.SignalMessage))
	return err
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
