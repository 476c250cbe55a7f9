package demo

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/blindpost/blindpost/messenger"
	"github.com/blindpost/blindpost/profile"
	"github.com/blindpost/blindpost/relay/store"
	"github.com/blindpost/blindpost/relay/warrant"
)

func runDemo(t *testing.T, opts Options) (*Result, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out bytes.Buffer
	opts.Out = &out
	res, err := Run(ctx, opts)
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	return res, out.String()
}

func TestNormalProviderReadsNothing(t *testing.T) {
	res, out := runDemo(t, Options{Mode: Normal})
	if res.Messages != 12 || res.Readable != 0 {
		t.Fatalf("messages %d, readable %d", res.Messages, res.Readable)
	}
	for _, want := range []string{"provider could read 0 of 12 messages", "WARRANT EXPORT for account \"alice\"",
		"sent by this account, still queued: 2", "0 opened", "PQXDH", "and it holds 0: 0 decapsulations"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	for _, l := range defaultScript {
		if strings.Contains(out[strings.Index(out, "The provider's view"):], l.Text) {
			t.Errorf("the provider's part of the output shows %q", l.Text)
		}
	}
}

func TestEscrowProviderReadsEverything(t *testing.T) {
	res, out := runDemo(t, Options{Mode: Escrow})
	if res.Messages != 12 || res.Readable != 12 {
		t.Fatalf("messages %d, readable %d", res.Messages, res.Readable)
	}
	if !strings.Contains(out, "provider could read 12 of 12 messages") {
		t.Error("no 12 of 12 line")
	}
}

func TestGhostDetectedAfterVerification(t *testing.T) {
	res, _ := runDemo(t, Options{Mode: Ghost})
	if res.GhostReadUnverified != 3 {
		t.Errorf("ghost read %d of 3 unverified messages", res.GhostReadUnverified)
	}
	if res.GhostReadVerified != 0 || res.RefusedAfterChange != 2 {
		t.Errorf("after verification: ghost read %d, client refused %d (want 0 and 2)", res.GhostReadVerified, res.RefusedAfterChange)
	}
}

// canaries returns n random strings that cannot appear by chance.
func canaries(t *testing.T, n int) []string {
	out := make([]string, n)
	for i := range out {
		b := make([]byte, 12)
		rand.Read(b)
		out[i] = "canary-" + hex.EncodeToString(b)
	}
	return out
}

// encodings are the forms a leaked canary could take on disk.
func encodings(c string) [][]byte {
	forms := [][]byte{[]byte(c), []byte(hex.EncodeToString([]byte(c))), []byte(strings.ToUpper(hex.EncodeToString([]byte(c))))}
	// base64 at each of the three alignments, without the edge characters
	// that depend on neighbouring bytes.
	for shift := range 3 {
		enc := base64.StdEncoding.EncodeToString(append(make([]byte, shift), c...))
		core := enc[4 : len(enc)-4]
		forms = append(forms, []byte(core), []byte(strings.NewReplacer("+", "-", "/", "_").Replace(core)))
	}
	return forms
}

// scan reads every byte of every file under the given paths (free pages of
// a database file included) and counts the canaries found in any form.
func scan(t *testing.T, paths []string, extra [][]byte, cs []string) map[string]bool {
	t.Helper()
	var blobs [][]byte
	for _, root := range paths {
		filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			blobs = append(blobs, b)
			return nil
		})
	}
	blobs = append(blobs, extra...)
	found := map[string]bool{}
	for _, c := range cs {
		for _, form := range encodings(c) {
			for _, b := range blobs {
				if bytes.Contains(b, form) {
					found[c] = true
				}
			}
		}
	}
	return found
}

// TestCanariesNotHeldByTheRelay sends random canaries through the relay,
// then searches the relay's data folder, its log and the warrant export
// for each canary raw, hex and base64. The positive control runs the same
// scanner on the clients' profiles, which keep message history in plain
// text, so the test can fail.
func TestCanariesNotHeldByTheRelay(t *testing.T) {
	cs := canaries(t, 8)
	script := make([]Line, len(cs))
	for i, c := range cs {
		from, to := "alice", "bob"
		if i%3 == 1 && i < len(cs)-2 {
			from, to = to, from
		}
		script[i] = Line{From: from, To: to, Text: c, Offline: i == len(cs)-2}
	}
	dir := t.TempDir()
	if _, out := runDemo(t, Options{Mode: Normal, Dir: dir, Script: script}); !strings.Contains(out, "provider could read 0 of 8") {
		t.Fatalf("unexpected result:\n%s", out)
	}
	exports := warrantExports(t, dir)
	if found := scan(t, []string{filepath.Join(dir, "relay"), filepath.Join(dir, "relay.log")}, exports, cs); len(found) != 0 {
		t.Fatalf("relay side holds %d of %d canaries: %v", len(found), len(cs), found)
	}
	if found := scan(t, []string{filepath.Join(dir, "clients")}, nil, cs); len(found) != len(cs) {
		t.Fatalf("positive control: the clients' plain-text history shows %d of %d canaries", len(found), len(cs))
	}
	if st, err := os.Stat(filepath.Join(dir, "relay.log")); err != nil || st.Size() == 0 {
		t.Fatalf("relay log missing or empty: %v", err)
	}
}

// TestKyberPrivateKeysNotHeldByTheRelay: after the demo's conversation
// the relay's data folder, its log and the warrant exports hold no Kyber
// private key of either client, raw, hex or base64; the same search finds
// the clients' last-resort Kyber public keys in the relay's database, and
// the private keys in the clients' profiles (positive controls).
func TestKyberPrivateKeysNotHeldByTheRelay(t *testing.T) {
	dir := t.TempDir()
	if _, out := runDemo(t, Options{Mode: Normal, Dir: dir}); !strings.Contains(out, "provider could read 0 of 12") {
		t.Fatalf("unexpected result:\n%s", out)
	}
	var private, public []string
	for _, name := range []string{"alice", "bob"} {
		p, err := profile.Open(filepath.Join(dir, "clients", name, "profile.db"), nil)
		if err != nil {
			t.Fatal(err)
		}
		lr, ok, err := p.LatestKyberLastResort()
		if err != nil || !ok {
			t.Fatalf("%s has no last-resort kyber prekey: %v", name, err)
		}
		public = append(public, string(lr.KeyPair.Public[:48]))
		for id := uint32(1); id <= messenger.KyberPreKeyBatch+1; id++ {
			if k, ok, err := p.KyberPreKey(id); err != nil {
				t.Fatal(err)
			} else if ok {
				private = append(private, string(k.KeyPair.Private[:48]))
			}
		}
		p.Close()
	}
	if len(private) != 2*messenger.KyberPreKeyBatch+1 {
		t.Fatalf("found %d kyber private keys in the profiles, want %d (one one-time key used)", len(private), 2*messenger.KyberPreKeyBatch+1)
	}
	exports := warrantExports(t, dir)
	relaySide := []string{filepath.Join(dir, "relay"), filepath.Join(dir, "relay.log")}
	if found := scan(t, relaySide, exports, private); len(found) != 0 {
		t.Fatalf("relay side holds %d kyber private keys", len(found))
	}
	if found := scan(t, relaySide, nil, public); len(found) != len(public) {
		t.Fatalf("positive control: the relay's database shows %d of %d last-resort kyber public keys", len(found), len(public))
	}
	if found := scan(t, []string{filepath.Join(dir, "clients")}, nil, private); len(found) != len(private) {
		t.Fatalf("positive control: the clients' profiles show %d of %d kyber private keys", len(found), len(private))
	}
}

// TestEscrowNotReachableFromClients checks that no package of the client
// path depends on the insecure escrow package.
func TestEscrowNotReachableFromClients(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "../messenger", "../profile", "../session", "../relay/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if strings.HasSuffix(pkg, "/escrow") || strings.HasSuffix(pkg, "/demo") {
			t.Errorf("the client path depends on %s", pkg)
		}
	}

}

// warrantExports returns the warrant exports (text and JSON) for alice and
// bob from the demo's relay data in dir.
func warrantExports(t *testing.T, dir string) [][]byte {
	t.Helper()
	r, err := store.OpenReadOnly(filepath.Join(dir, "relay"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var exports [][]byte
	for _, name := range []string{"alice", "bob"} {
		rep, err := warrant.Export(context.Background(), r, name, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		var text, js bytes.Buffer
		rep.WriteText(&text)
		rep.WriteJSON(&js)
		exports = append(exports, text.Bytes(), js.Bytes())
	}
	return exports
}
