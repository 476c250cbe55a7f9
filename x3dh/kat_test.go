package x3dh

import (
	"encoding/hex"
	"testing"

	"github.com/blindpost/blindpost/internal/testvec"

	"github.com/blindpost/blindpost/identity"
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
	s, err := Respond(keys, publicKey(t, v["alice_identity_public"]), publicKey(t, v["alice_base_public"]))
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
	s, err := initiate(ik, keyPair(t, v["alice_base_private"]), b, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(s.ChainKey[:]); got != hex.EncodeToString(v["chain_key"]) {
		t.Fatalf("chain key %s, want %x", got, v["chain_key"])
	}
}
