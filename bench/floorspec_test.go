package bench

import (
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"fmt"
	"testing"
	"time"

	"github.com/blindpost/blindpost/identity"
	"github.com/blindpost/blindpost/ratchet"
	"github.com/blindpost/blindpost/session"
	"github.com/blindpost/blindpost/wire"
	"github.com/blindpost/blindpost/x3dh"
)

// TestFloorIsTheProtocol checks that the floor computes the protocol's
// values and not something cheaper: its X25519 key generation and
// agreement equal crypto/ecdh's, its KDFs (X3DH's and PQXDH's included)
// equal blindpost's spec functions, its XEdDSA verify accepts exactly the right signature, and its
// messages are libsignal messages that blindpost's parser and ratchet.Open
// accept.
func TestFloorIsTheProtocol(t *testing.T) {
	var k1, k2 [32]byte
	rand.Read(k1[:])
	rand.Read(k2[:])

	// The floor's X25519 (edwards25519 key generation, CIRCL agreement)
	// against the standard library's, which the identity package's tests
	// pin to RFC 7748.
	for range 16 {
		a, b := newFloorKey(), newFloorKey()
		sa, err1 := ecdh.X25519().NewPrivateKey(a.priv[:])
		sb, err2 := ecdh.X25519().NewPrivateKey(b.priv[:])
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		if !bytes.Equal(a.pub[:], sa.PublicKey().Bytes()) {
			t.Fatal("floor key generation differs from crypto/ecdh")
		}
		dh, err := a.dh(&b.pub)
		want, err2 := sa.ECDH(sb.PublicKey())
		if err != nil || err2 != nil || !bytes.Equal(dh[:], want) {
			t.Fatalf("floor X25519 differs from crypto/ecdh: %v %v", err, err2)
		}
	}
	kp := newFloorKey()
	for _, u := range [][32]byte{{}, {1}} { // u = 0 (order 2), u = 1 (order 4)
		if _, err := kp.dh(&u); err == nil {
			t.Errorf("floor X25519 accepts the low-order point %x", u)
		}
	}

	seed, next := floorKDFCK(&k1)
	wantNext, wantSeed := ratchet.KDFCK(ratchet.ChainKey{Key: k1})
	if seed != [32]byte(wantSeed) || next != wantNext.Key {
		t.Error("KDF_CK differs from ratchet.KDFCK")
	}

	var mk [80]byte
	floorHKDF(mk[:], seed[:], nil, infoMessageKeys)
	want := ratchet.DeriveMessageKeys(wantSeed, nil)
	if !bytes.Equal(mk[:32], want.CipherKey[:]) || !bytes.Equal(mk[32:64], want.MACKey[:]) || !bytes.Equal(mk[64:], want.IV[:]) {
		t.Error("message keys differ from ratchet.DeriveMessageKeys")
	}

	root, chain := floorKDFRK(&k1, k2[:])
	wantRoot, wantChain := ratchet.KDFRK(ratchet.RootKey(k1), k2)
	if root != [32]byte(wantRoot) || chain != wantChain.Key {
		t.Error("KDF_RK differs from ratchet.KDFRK")
	}

	km := append(append(x3dhF[:], k1[:]...), k2[:]...)
	var okm [64]byte
	floorHKDF(okm[:], km, nil, infoX3DH)
	s := x3dh.KDF(bytes.Clone(km))
	if !bytes.Equal(okm[:32], s.RootKey[:]) || !bytes.Equal(okm[32:], s.ChainKey[:]) {
		t.Error("X3DH KDF differs from x3dh.KDF")
	}

	var okm96 [96]byte
	floorHKDF(okm96[:], km, nil, infoPQXDH)
	pq := x3dh.KDFPQXDH(bytes.Clone(km))
	if !bytes.Equal(okm96[:32], pq.RootKey[:]) || !bytes.Equal(okm96[32:64], pq.ChainKey[:]) || !bytes.Equal(okm96[64:], pq.PQRKey[:]) {
		t.Error("PQXDH KDF differs from x3dh.KDFPQXDH")
	}

	_, _, bundle := newFloorParties(t, false)
	if !floorXEdDSAVerify(bundle.identity[1:], bundle.spk[:], bundle.sig[:]) {
		t.Error("XEdDSA: valid signature refused")
	}
	for _, i := range []int{0, 31, 32, 62} {
		bad := bundle.sig
		bad[i] ^= 1
		if floorXEdDSAVerify(bundle.identity[1:], bundle.spk[:], bad[:]) {
			t.Errorf("XEdDSA: signature with byte %d flipped accepted", i)
		}
	}

	// A floor message opens with blindpost's parser and ratchet.Open,
	// given the message keys the sending chain key implies.
	p := &floorParty{version: versionX3DH, local: serialized(k1[:]), remote: serialized(k2[:]), sendCK: k1, sendN: 7}
	copy(p.sendPub[:], k2[:])
	pt := plaintext(100)
	m, err := wire.ParseSignalMessage(p.encrypt(pt))
	if err != nil {
		t.Fatalf("floor message does not parse: %v", err)
	}
	if m.Counter != 7 || m.RatchetKey != identity.PublicKey(k2) {
		t.Errorf("floor message header: counter %d, ratchet key %x", m.Counter, m.RatchetKey)
	}
	got, err := ratchet.Open(want, identity.PublicKey(k1), identity.PublicKey(k2), m)
	if err != nil || !bytes.Equal(got, pt) {
		t.Fatalf("floor message does not open: %v", err)
	}

	// Its prekey message parses too, with the embedded message intact.
	p.pending = &floorPending{opkID: 3, spkID: 2, regID: 1, base: k2}
	pm, err := wire.ParsePreKeySignalMessage(p.encrypt(pt))
	if err != nil {
		t.Fatalf("floor prekey message does not parse: %v", err)
	}
	if !pm.HasPreKeyID || pm.PreKeyID != 3 || pm.SignedPreKeyID != 2 || pm.Message.Counter != 8 {
		t.Errorf("floor prekey message fields: %+v", pm)
	}
}

// TestFloorSetupIsTheProtocol: the floor's first message, X3DH and PQXDH,
// is one blindpost's session layer accepts: a blindpost Bob holding the
// same keys answers it and decrypts it, in a version-3 or version-4
// session. (Bob offers SPQR without requiring it: the floor sends none.)
func TestFloorSetupIsTheProtocol(t *testing.T) {
	for _, pq := range []bool{false, true} {
		t.Run(fmt.Sprintf("pq=%t", pq), func(t *testing.T) {
			keys := newBobKeys(t, pq)
			_, bundle := newFloorBob(t, keys)
			alice, _, _ := newFloorParties(t, false)
			pa, err := alice.initiate(bundle)
			if err != nil {
				t.Fatal(err)
			}
			pt := plaintext(100)
			m := pa.encrypt(pt)

			store := session.NewMemoryStore(keys.identity, 4321)
			store.AddSignedPreKey(keys.signed)
			store.AddPreKey(keys.oneTime)
			if keys.kyber != nil {
				store.AddKyberPreKey(*keys.kyber, false)
			}
			bob := &session.Cipher{Store: store, Local: session.Address{Name: "bob", DeviceID: 1}, Rand: rand.Reader, Now: time.Now}
			from := session.Address{Name: "alice", DeviceID: 1}
			got, err := bob.Decrypt(from, wire.TypePreKey, m)
			if err != nil || !bytes.Equal(got, pt) {
				t.Fatalf("blindpost does not decrypt the floor's first message: %v", err)
			}
			want := 3
			if pq {
				want = 4
			}
			if v, ok, _ := bob.SessionVersion(from); !ok || v != want {
				t.Fatalf("session version %d, want %d", v, want)
			}
		})
	}
}
