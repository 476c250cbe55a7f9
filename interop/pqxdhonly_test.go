package interop_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/blindpost/blindpost/interop/referee"
)

// TestPQXDHOnlyRefuseX3DH checks why node-0.90 and node-current
// (libsignal 0.90.0 and 0.103.0) are paired in v4 only: each answers
// `unsupported` at each of the three places an X3DH session could start.
// It hands out no bundle without a Kyber prekey; it starts no session from
// one (node's, libsignal 0.72.1); and when node starts an X3DH session from
// its own keys (its PQXDH bundle with the Kyber prekey left out), it
// refuses the PreKeySignalMessage.
func TestPQXDHOnlyRefuseX3DH(t *testing.T) {
	for _, name := range []string{"node-0.90", "node-current"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			refusesX3DH(t, name)
		})
	}
}

// refusesX3DH is TestPQXDHOnlyRefuseX3DH for the node peer name.
func refusesX3DH(t *testing.T, name string) {
	root := repoRoot(t)
	pqOnly, old := nodePeer(root, name), nodePeer(root, "node")
	need(t, pqOnly, old)
	start := func(p peer, party string) *referee.Peer {
		t.Helper()
		rp, err := referee.StartPeer(t.Context(), p.impl, party+" ("+p.impl.Name+")", 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(rp.Kill)
		if _, err := rp.Init(party, 1, 7); err != nil {
			t.Fatal(err)
		}
		return rp
	}
	alice, bob := start(old, "alice"), start(pqOnly, "bob")
	aliceAddr, bobAddr := referee.Address{Name: "alice", DeviceID: 1}, referee.Address{Name: "bob", DeviceID: 1}
	unsupported := func(what string, err error) {
		t.Helper()
		var pe *referee.PeerError
		if !errors.As(err, &pe) || pe.Kind != referee.KindUnsupported {
			t.Errorf("%s: %v, want unsupported", what, err)
		}
	}

	_, err := bob.Bundle(true, false)
	unsupported(name+": bundle without kyber", err)

	x3dh, err := alice.Bundle(true, false)
	if err != nil {
		t.Fatal(err)
	}
	unsupported(name+": process_bundle of an X3DH bundle", bob.ProcessBundle(aliceAddr, x3dh))
	if s, err := bob.Session(aliceAddr); err != nil || s.Exists {
		t.Errorf("%s: session after a refused bundle: %+v, %v", name, s, err)
	}

	pq, err := bob.Bundle(true, true)
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(pq.Raw, &fields); err != nil {
		t.Fatal(err)
	}
	delete(fields, "kyber_prekey_id")
	delete(fields, "kyber_prekey")
	delete(fields, "kyber_prekey_signature")
	raw, err := json.Marshal(fields)
	if err != nil {
		t.Fatal(err)
	}
	if err := alice.ProcessBundle(bobAddr, &referee.Bundle{Raw: raw}); err != nil {
		t.Fatalf("node: X3DH from %s's keys: %v", name, err)
	}
	ct, err := alice.Encrypt(bobAddr, []byte("hello"))
	if err != nil || ct.Type != referee.TypePreKey || ct.Bytes[0]>>4 != 3 {
		t.Fatalf("node: first X3DH message: type %d, %v", ct.Type, err)
	}
	_, err = bob.Decrypt(aliceAddr, ct)
	unsupported(name+": decrypt of an X3DH PreKeySignalMessage", err)

	for _, p := range []*referee.Peer{alice, bob} {
		if err := p.Quit(); err != nil {
			t.Error(err)
		}
	}
}
