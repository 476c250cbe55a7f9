package x3dh

import (
	"bufio"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"github.com/blindpost/blindpost/identity"
)

// readVector reads a testdata file of "key: hex" lines with an expect: header.
func readVector(t *testing.T, path string) (string, map[string][]byte) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	expect, vals := "", map[string][]byte{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, _ := strings.Cut(line, ":")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if k == "expect" {
			expect = v
			continue
		}
		b, err := hex.DecodeString(v)
		if err != nil {
			t.Fatalf("%s: %s: %v", path, k, err)
		}
		vals[k] = b
	}
	if expect == "" {
		t.Fatalf("%s: no expect: header", path)
	}
	return expect, vals
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
	expect, v := readVector(t, "testdata/libsignal-session-as-bob.txt")
	if expect != "chain_key" {
		t.Fatalf("unknown expect %q", expect)
	}
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
	expect, v := readVector(t, "testdata/libsignal-session-as-alice.txt")
	if expect != "chain_key" {
		t.Fatalf("unknown expect %q", expect)
	}
	ik := identity.IdentityKeyPair{KeyPair: keyPair(t, v["alice_identity_private"])}
	b := &Bundle{
		IdentityKey:  publicKey(t, v["bob_identity_public"]),
		SignedPreKey: publicKey(t, v["bob_signed_prekey_public"]),
	}
	s, err := initiate(ik, keyPair(t, v["alice_base_private"]), b)
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(s.ChainKey[:]); got != hex.EncodeToString(v["chain_key"]) {
		t.Fatalf("chain key %s, want %x", got, v["chain_key"])
	}
}
