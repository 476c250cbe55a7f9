package main

import (
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"os"
	"testing"
)

// TestMain silences the library's logger for the in-process tests. When the test binary is started
// with GOMAU_PEER_CHILD=1 it is the peer itself (see subprocess_test.go); then
// GOMAU_PEER_LIBRARY_LOGGER=default keeps the library's own logger, to show what it writes.
func TestMain(m *testing.M) {
	if os.Getenv("GOMAU_PEER_CHILD") == "1" {
		if os.Getenv("GOMAU_PEER_LIBRARY_LOGGER") != "default" {
			silenceLibraryLogger()
		}
		log := slog.New(slog.NewTextHandler(os.Stderr, nil))
		if err := run(os.Stdin, os.Stdout, log); err != nil {
			log.Error("peer stopped", "err", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	silenceLibraryLogger()
	os.Exit(m.Run())
}

// testPeer drives an in-process peer through JSON request lines, as the referee would.
type testPeer struct {
	t           testing.TB
	name        string
	p           *peer
	identityKey []byte
}

// newTestPeer starts a peer and initialises it as name, device 1.
func newTestPeer(t testing.TB, name string) *testPeer {
	t.Helper()
	tp := &testPeer{t: t, name: name, p: newPeer(slog.New(slog.DiscardHandler))}
	res := tp.ok(obj{"op": "init", "name": name, "device_id": 1, "registration_id": 1234})
	tp.identityKey = bytesField(t, res, "identity_key")
	return tp
}

type obj = map[string]any

// addr is the contract address of this peer.
func (tp *testPeer) addr() obj { return obj{"name": tp.name, "device_id": 1} }

// call sends one request and returns the decoded reply.
func (tp *testPeer) call(req obj) obj {
	tp.t.Helper()
	line, err := json.Marshal(req)
	if err != nil {
		tp.t.Fatalf("encode request: %v", err)
	}
	return tp.callLine(line)
}

// callLine sends one raw request line and returns the decoded reply.
func (tp *testPeer) callLine(line []byte) obj {
	tp.t.Helper()
	out, _ := tp.p.handleLine(line)
	var reply obj
	if err := json.Unmarshal(out, &reply); err != nil {
		tp.t.Fatalf("reply %q is not JSON: %v", out, err)
	}
	return reply
}

// ok sends a request that must succeed.
func (tp *testPeer) ok(req obj) obj {
	tp.t.Helper()
	reply := tp.call(req)
	if reply["ok"] != true {
		tp.t.Fatalf("%s %v: want ok, got %v", tp.name, req["op"], reply)
	}
	return reply
}

// kind returns the error kind of a reply, or "" if it succeeded.
func kind(reply obj) string {
	if reply["ok"] == true {
		return ""
	}
	e, _ := reply["error"].(map[string]any)
	k, _ := e["kind"].(string)
	return k
}

// wantKind sends a request that must fail with the given kind.
func (tp *testPeer) wantKind(want string, req obj) obj {
	tp.t.Helper()
	reply := tp.call(req)
	if got := kind(reply); got != want {
		tp.t.Fatalf("%s %v: want error %q, got %v", tp.name, req["op"], want, reply)
	}
	return reply
}

func bytesField(t testing.TB, m obj, field string) []byte {
	t.Helper()
	s, ok := m[field].(string)
	if !ok {
		t.Fatalf("reply has no string field %q: %v", field, m)
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatalf("field %q is not base64: %v", field, err)
	}
	return b
}

// bundle asks tp for a bundle.
func (tp *testPeer) bundle(oneTime bool) obj {
	tp.t.Helper()
	return tp.ok(obj{"op": "bundle", "one_time_prekey": oneTime, "kyber": false})["bundle"].(obj)
}

// startSession has tp start a session to remote from one of remote's bundles.
func (tp *testPeer) startSession(remote *testPeer, oneTime bool) {
	tp.t.Helper()
	tp.ok(obj{"op": "process_bundle", "remote": remote.addr(), "bundle": remote.bundle(oneTime)})
}

// message is a ciphertext as it travels.
type message struct {
	typ int
	ct  []byte
}

// encrypt encrypts pt from tp to remote.
func (tp *testPeer) encrypt(remote *testPeer, pt []byte) message {
	tp.t.Helper()
	res := tp.ok(obj{"op": "encrypt", "remote": remote.addr(), "plaintext": pt})
	return message{typ: int(res["type"].(float64)), ct: bytesField(tp.t, res, "ciphertext")}
}

// decrypt has tp decrypt m from remote and returns the reply.
func (tp *testPeer) decrypt(remote *testPeer, m message) obj {
	tp.t.Helper()
	return tp.call(obj{"op": "decrypt", "remote": remote.addr(), "type": m.typ, "ciphertext": m.ct})
}

// mustDecrypt has tp decrypt m from remote and checks the plaintext.
func (tp *testPeer) mustDecrypt(remote *testPeer, m message, want []byte) {
	tp.t.Helper()
	reply := tp.decrypt(remote, m)
	if reply["ok"] != true {
		tp.t.Fatalf("%s decrypt from %s: %v", tp.name, remote.name, reply)
	}
	if got := bytesField(tp.t, reply, "plaintext"); string(got) != string(want) {
		tp.t.Fatalf("%s decrypt from %s: plaintext differs (%d bytes, want %d)", tp.name, remote.name, len(got), len(want))
	}
}

// flipBit returns a copy of b with one bit flipped.
func flipBit(b []byte, bit int) []byte {
	c := append([]byte(nil), b...)
	c[bit/8] ^= 1 << (bit % 8)
	return c
}
