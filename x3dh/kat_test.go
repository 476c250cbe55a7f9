package x3dh

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"testing"

	"github.com/blindpost/blindpost/identity"
	"github.com/blindpost/blindpost/internal/testvec"
	"github.com/blindpost/blindpost/kem"
	"github.com/blindpost/blindpost/ratchet"
	"github.com/blindpost/blindpost/wire"
)

// hexValues decodes the keys these vectors use.
func hexValues(t *testing.T, f testvec.File) map[string][]byte {
	t.Helper()
	v := map[string][]byte{}
	for _, k := range []string{"bob_identity_private", "bob_signed_prekey_private", "alice_identity_public",
		"alice_base_public", "alice_identity_private", "alice_base_private", "bob_identity_public",
		"bob_signed_prekey_public", "chain_key"} {
		if f.Has(k) {
			v[k] = f.Hex(t, k)
		}
	}
	return v
}

func keyPair(t *testing.T, priv []byte) identity.KeyPair {
	t.Helper()
	kp, err := identity.NewKeyPair([32]byte(priv))
	if err != nil {
		t.Fatal(err)
	}
	return kp
}

func publicKey(t *testing.T, b []byte) identity.PublicKey {
	t.Helper()
	k, err := identity.ParsePublicKey(b)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestLibsignalSessionAsBob(t *testing.T) {
	f := testvec.Read(t, "testdata/libsignal-session-as-bob.txt")
	if f.Expect != "chain_key" {
		t.Fatalf("unknown expect %q", f.Expect)
	}
	v := hexValues(t, f)
	keys := ResponderKeys{
		Identity:     identity.IdentityKeyPair{KeyPair: keyPair(t, v["bob_identity_private"])},
		SignedPreKey: keyPair(t, v["bob_signed_prekey_private"]),
	}
	s, err := Respond(keys, publicKey(t, v["alice_identity_public"]), publicKey(t, v["alice_base_public"]), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(s.ChainKey[:]); got != hex.EncodeToString(v["chain_key"]) {
		t.Fatalf("chain key %s, want %x", got, v["chain_key"])
	}
}

func TestLibsignalSessionAsAlice(t *testing.T) {
	f := testvec.Read(t, "testdata/libsignal-session-as-alice.txt")
	if f.Expect != "chain_key" {
		t.Fatalf("unknown expect %q", f.Expect)
	}
	v := hexValues(t, f)
	ik := identity.IdentityKeyPair{KeyPair: keyPair(t, v["alice_identity_private"])}
	b := &Bundle{
		IdentityKey:  publicKey(t, v["bob_identity_public"]),
		SignedPreKey: publicKey(t, v["bob_signed_prekey_public"]),
	}
	s, err := initiate(ik, keyPair(t, v["alice_base_private"]), b, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(s.ChainKey[:]); got != hex.EncodeToString(v["chain_key"]) {
		t.Fatalf("chain key %s, want %x", got, v["chain_key"])
	}
}

// pqxdhVector is a libsignal PQXDH initiation to known responder keys
// (testdata/libsignal-pqxdh-*.txt).
type pqxdhVector struct {
	keys      ResponderKeys
	ids       map[string]uint32 // signed, one-time and Kyber prekey ids
	alice     identity.PublicKey
	message   []byte
	plaintext []byte
}

// pqxdhVectorFiles are the libsignal PQXDH vectors (the session package's
// tests read them too).
var pqxdhVectorFiles = []string{"libsignal-pqxdh-as-bob.txt", "libsignal-pqxdh-one-time-as-bob.txt"}

func readPQXDHVector(t *testing.T, name string) pqxdhVector {
	t.Helper()
	f := testvec.Read(t, "testdata/"+name)
	if f.Expect != "plaintext" {
		t.Fatalf("unknown expect %q", f.Expect)
	}
	v := pqxdhVector{
		ids:       map[string]uint32{},
		alice:     publicKey(t, f.Hex(t, "alice_identity_public")),
		message:   f.Hex(t, "prekey_message"),
		plaintext: f.Hex(t, "plaintext"),
	}
	v.keys.Identity = identity.IdentityKeyPair{KeyPair: keyPair(t, f.Hex(t, "bob_identity_private"))}
	v.keys.SignedPreKey = keyPair(t, f.Hex(t, "bob_signed_prekey_private"))
	if f.Has("bob_prekey_private") {
		opk := keyPair(t, f.Hex(t, "bob_prekey_private"))
		v.keys.PreKey = &opk
	}
	kp := kem.NewKeyPair([kem.SeedSize]byte(f.Hex(t, "bob_kyber_seed")))
	v.keys.KyberPreKey = &kp
	for _, k := range []string{"bob_signed_prekey_id", "bob_prekey_id", "bob_kyber_prekey_id"} {
		if f.Has(k) {
			n, err := strconv.ParseUint(f.Str(t, k), 10, 32)
			if err != nil {
				t.Fatal(err)
			}
			v.ids[k] = uint32(n)
		}
	}
	return v
}

// TestLibsignalPQXDHAsBob: Respond on libsignal's PreKeySignalMessage
// (its Kyber ciphertext decapsulated with round-3 Kyber1024, PQXDH's input
// and KDF) gives the keys that open the message libsignal sent.
func TestLibsignalPQXDHAsBob(t *testing.T) {
	for _, name := range pqxdhVectorFiles {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			v := readPQXDHVector(t, name)
			pm, err := wire.ParsePreKeySignalMessage(v.message)
			if err != nil {
				t.Fatal(err)
			}
			if pm.SessionVersion() != SessionVersionPQXDH || pm.KyberPreKeyID != v.ids["bob_kyber_prekey_id"] ||
				pm.SignedPreKeyID != v.ids["bob_signed_prekey_id"] || pm.HasPreKeyID != (v.keys.PreKey != nil) ||
				!pm.IdentityKey.Equal(v.alice) {
				t.Fatalf("unexpected message header: version %d, kyber id %d, signed id %d", pm.SessionVersion(), pm.KyberPreKeyID, pm.SignedPreKeyID)
			}
			ct, err := kem.ParseCiphertext(pm.KyberCiphertext)
			if err != nil {
				t.Fatal(err)
			}
			s, err := Respond(v.keys, pm.IdentityKey, pm.BaseKey, &ct)
			if err != nil {
				t.Fatal(err)
			}
			if s.Version != SessionVersionPQXDH {
				t.Fatalf("version %d", s.Version)
			}
			st := ratchet.NewResponder(s.Version, v.keys.Identity.Public, pm.IdentityKey, s.RootKey, s.ChainKey, v.keys.SignedPreKey)
			_, pt, err := st.Decrypt(pm.Message, rand.Reader)
			if err != nil {
				t.Fatalf("libsignal's first message does not open: %v", err)
			}
			if !bytes.Equal(pt, v.plaintext) {
				t.Fatalf("plaintext %q, want %q", pt, v.plaintext)
			}
			// The X3DH KDF on the same input (no KEM secret, WhisperText)
			// must not open it: the message is PQXDH's.
			keys := v.keys
			keys.KyberPreKey = nil
			x, err := Respond(keys, pm.IdentityKey, pm.BaseKey, nil)
			if err != nil {
				t.Fatal(err)
			}
			st = ratchet.NewResponder(SessionVersionPQXDH, v.keys.Identity.Public, pm.IdentityKey, x.RootKey, x.ChainKey, v.keys.SignedPreKey)
			if _, _, err := st.Decrypt(pm.Message, rand.Reader); err == nil {
				t.Fatal("X3DH keys open a PQXDH message")
			}
		})
	}
}
