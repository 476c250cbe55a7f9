package interop_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/blindpost/blindpost/interop/referee"
)

// TestNodeCurrentRefusesX3DH checks why node-current (libsignal 0.103.0)
// is paired in v4 only: it answers `unsupported` at each of the three
// places an X3DH session could start. It hands out no bundle without a
// Kyber prekey; it starts no session from one (node's, libsignal 0.72.1);
// and when node starts an X3DH session from node-current's own keys (its
// PQXDH bundle with the Kyber prekey left out), node-current refuses the
// PreKeySignalMessage.
func TestNodeCurrentRefusesX3DH(t *testing.T) {
	root := repoRoot(t)
	current, old := nodePeer(root, "node-current"), nodePeer(root, "node")
	need(t, current, old)
	start := func(p peer, name string) *referee.Peer {
		t.Helper()
		rp, err := referee.StartPeer(t.Context(), p.impl, name+" ("+p.impl.Name+")", 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(rp.Kill)
		if _, err := rp.Init(name, 1, 7); err != nil {
			t.Fatal(err)
		}
		return rp
	}
	alice, bob := start(old, "alice"), start(current, "bob")
	aliceAddr, bobAddr := referee.Address{Name: "alice", DeviceID: 1}, referee.Address{Name: "bob", DeviceID: 1}
	unsupported := func(what string, err error) {
		t.Helper()
		var pe *referee.PeerError
		if !errors.As(err, &pe) || pe.Kind != referee.KindUnsupported {
			t.Errorf("%s: %v, want unsupported", what, err)
		}
	}

	_, err := bob.Bundle(true, false)
	unsupported("node-current: bundle without kyber", err)

	x3dh, err := alice.Bundle(true, false)
	if err != nil {
		t.Fatal(err)
	}
	unsupported("node-current: process_bundle of an X3DH bundle", bob.ProcessBundle(aliceAddr, x3dh))
	if s, err := bob.Session(aliceAddr); err != nil || s.Exists {
		t.Errorf("node-current: session after a refused bundle: %+v, %v", s, err)
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
		t.Fatalf("node: X3DH from node-current's keys: %v", err)
	}
	ct, err := alice.Encrypt(bobAddr, []byte("hello"))
	if err != nil || ct.Type != referee.TypePreKey || ct.Bytes[0]>>4 != 3 {
		t.Fatalf("node: first X3DH message: type %d, %v", ct.Type, err)
	}
	_, err = bob.Decrypt(aliceAddr, ct)
	unsupported("node-current: decrypt of an X3DH PreKeySignalMessage", err)

	for _, p := range []*referee.Peer{alice, bob} {
		if err := p.Quit(); err != nil {
			t.Error(err)
		}
	}
}
