package profile

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/blindpost/blindpost/internal/testvec"
	"github.com/blindpost/blindpost/kem"
	"github.com/blindpost/blindpost/session"
	"github.com/blindpost/blindpost/spqr"
	"github.com/blindpost/blindpost/x3dh"
)

// pqCipherFor is cipherFor as blindpost's clients run it: SPQR required.
func pqCipherFor(s session.Store, name string) *session.Cipher {
	c := cipherFor(s, name)
	c.SPQRMinimum = spqr.V1
	return c
}

// pqBundleOf is bundleOf with the given Kyber prekey.
func pqBundleOf(t *testing.T, p *Profile, k kem.PreKey) *x3dh.Bundle {
	t.Helper()
	b := bundleOf(t, p)
	b.KyberPreKey = &x3dh.KyberPreKey{ID: k.ID, Key: k.KeyPair.Public, Signature: k.Signature}
	return b
}

// schemaOf reads the schema written in the account record.
func schemaOf(t *testing.T, p *Profile) int {
	t.Helper()
	var rec accountRecord
	if err := p.db.View(func(tx *bolt.Tx) error {
		_, err := p.get(tx, bucketMeta, keyAccount, &rec)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return rec.Schema
}

// startPQ starts a PQXDH session from sender to p's bundle carrying k and
// has p receive its first message through a deferred commit written with
// RecordIncoming, as the messenger does. It returns p's session version
// and whether SPQR is on.
func startPQ(t *testing.T, sender *Profile, from string, p *Profile, k kem.PreKey) (int, bool) {
	t.Helper()
	fromAddr, to := session.Address{Name: from, DeviceID: 1}, session.Address{Name: "bob", DeviceID: 1}
	sc := pqCipherFor(sender, from)
	if err := sc.ProcessBundle(to, pqBundleOf(t, p, k)); err != nil {
		t.Fatal(err)
	}
	typ, ct, err := sc.Encrypt(to, []byte("hello from "+from))
	if err != nil {
		t.Fatal(err)
	}
	d := p.Deferred()
	pt, err := pqCipherFor(d, "bob").Decrypt(fromAddr, typ, ct)
	if err != nil || string(pt) != "hello from "+from {
		t.Fatalf("decrypt: %q, %v", pt, err)
	}
	c := d.Take()
	if !c.HasUsedKyberPreKey || c.UsedKyberPreKey != k.ID {
		t.Fatalf("commit names kyber prekey %d (%v), want %d", c.UsedKyberPreKey, c.HasUsedKyberPreKey, k.ID)
	}
	if err := p.RecordIncoming(c, "env-"+from, nil); err != nil {
		t.Fatal(err)
	}
	rec, ok, err := p.Record(fromAddr)
	if err != nil || !ok {
		t.Fatalf("no session: %v", err)
	}
	return rec.Current.Ratchet.Version, rec.Current.Ratchet.PQ.Enabled()
}

func TestKyberOneTimeUsedOnceLastResortKept(t *testing.T) {
	bob, _ := newProfile(t, "bob", []byte("pw"))
	otks, err := bob.NewKyberPreKeys(rand.Reader, 2, now)
	if err != nil {
		t.Fatal(err)
	}
	lr, err := bob.NewKyberLastResort(rand.Reader, now)
	if err != nil {
		t.Fatal(err)
	}
	if got := []uint32{otks[0].ID, otks[1].ID, lr.ID}; !slices.Equal(got, []uint32{1, 2, 3}) {
		t.Fatalf("kyber ids %v: one counter for both kinds", got)
	}
	for _, k := range append(otks, lr) {
		got, ok, err := bob.KyberPreKey(k.ID)
		if err != nil || !ok || got.KeyPair != k.KeyPair || got.Signature != k.Signature || got.Created != k.Created {
			t.Fatalf("kyber prekey %d does not round-trip: %v %v", k.ID, ok, err)
		}
	}

	alice, _ := newProfile(t, "alice", nil)
	if v, pq := startPQ(t, alice, "alice", bob, otks[0]); v != 4 || !pq {
		t.Fatalf("session version %d, SPQR %v; want 4 with SPQR", v, pq)
	}
	if _, ok, _ := bob.KyberPreKey(otks[0].ID); ok {
		t.Fatal("a used one-time kyber prekey was kept")
	}
	if n, _ := bob.KyberPreKeyCount(); n != 1 {
		t.Fatalf("%d one-time kyber prekeys left, want 1", n)
	}

	// A second session naming the used key is refused and changes nothing.
	dave, _ := newProfile(t, "dave", nil)
	daveAddr, bAddr := session.Address{Name: "dave", DeviceID: 1}, session.Address{Name: "bob", DeviceID: 1}
	dc := pqCipherFor(dave, "dave")
	if err := dc.ProcessBundle(bAddr, pqBundleOf(t, bob, otks[0])); err != nil {
		t.Fatal(err)
	}
	typ, ct, _ := dc.Encrypt(bAddr, []byte("replayed key"))
	if _, err := pqCipherFor(bob, "bob").Decrypt(daveAddr, typ, ct); !errors.Is(err, session.ErrInvalidPreKeyID) {
		t.Fatalf("message to a used one-time kyber prekey: %v, want ErrInvalidPreKeyID", err)
	}
	if _, ok, _ := bob.Record(daveAddr); ok {
		t.Fatal("a refused message left a session")
	}
	if n, _ := bob.PreKeyCount(); n != 3*2-1 {
		t.Fatalf("%d EC one-time prekeys, want 5: a refused message consumes none", n)
	}

	// The last-resort key serves any number of sessions.
	for _, name := range []string{"carol", "erin"} {
		p, _ := newProfile(t, name, nil)
		if v, pq := startPQ(t, p, name, bob, lr); v != 4 || !pq {
			t.Fatalf("%s: session version %d, SPQR %v", name, v, pq)
		}
		if _, ok, _ := bob.KyberPreKey(lr.ID); !ok {
			t.Fatalf("%s: the last-resort kyber prekey was deleted", name)
		}
	}
}

func TestKyberPrivateKeysSealed(t *testing.T) {
	for _, encrypted := range []bool{true, false} {
		var pass []byte
		if encrypted {
			pass = []byte("pass")
		}
		p, path := newProfile(t, "carol", pass)
		ks, err := p.NewKyberPreKeys(rand.Reader, 2, now)
		if err != nil {
			t.Fatal(err)
		}
		lr, err := p.NewKyberLastResort(rand.Reader, now)
		if err != nil {
			t.Fatal(err)
		}
		p.Close()
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range append(ks, lr) {
			priv := k.KeyPair.Private[:48]
			found := bytes.Contains(raw, priv) || bytes.Contains(raw, []byte(base64.StdEncoding.EncodeToString(priv)))
			// The positive control: an unencrypted profile stores the key
			// base64-encoded, where the same search finds it.
			if found == encrypted {
				t.Fatalf("encrypted %v: kyber private key %d found in the file: %v", encrypted, k.ID, found)
			}
		}
	}
}

// openGzipped copies a gzipped profile from testdata to a temporary file
// and opens it.
func openGzipped(t *testing.T, name string, pass []byte) (*Profile, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "profile.db")
	if err := os.WriteFile(path, testvec.Gunzip(t, filepath.Join("testdata", name)), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := Open(path, pass)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p, path
}

// TestSchema1ProfileUpgrades opens profiles written by blindpost before
// Kyber prekeys (testdata/README.md): they open, their version-3 session
// goes on, and the first Kyber prekey makes them schema 2.
func TestSchema1ProfileUpgrades(t *testing.T) {
	alice, _ := openGzipped(t, "alice-schema1.db.gz", nil)
	bob, bobPath := openGzipped(t, "bob-schema1.db.gz", []byte("schema1 passphrase"))
	aAddr, bAddr := session.Address{Name: "alice", DeviceID: 1}, session.Address{Name: "bob", DeviceID: 1}
	for _, p := range []*Profile{alice, bob} {
		if _, err := p.Account(); err != nil {
			t.Fatal(err)
		}
		if s := schemaOf(t, p); s != 1 {
			t.Fatalf("testdata profile has schema %d, want 1", s)
		}
		if _, ok, err := p.LatestKyberLastResort(); ok || err != nil {
			t.Fatalf("a schema-1 profile has a kyber prekey: %v %v", ok, err)
		}
	}
	if h, _ := bob.History("alice"); len(h) != 2 || h[0].Text != "hello from schema 1" {
		t.Fatalf("bob's history %+v", h)
	}
	// The version-3 session goes on, with SPQR required for new sessions.
	typ, ct, err := pqCipherFor(alice, "alice").Encrypt(bAddr, []byte("still version 3"))
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := pqCipherFor(bob, "bob").Decrypt(aAddr, typ, ct); err != nil || string(pt) != "still version 3" {
		t.Fatalf("old session: %q, %v", pt, err)
	}
	if v, _, _ := pqCipherFor(bob, "bob").SessionVersion(aAddr); v != 3 {
		t.Fatalf("old session is version %d, want 3", v)
	}

	lr, err := bob.NewKyberLastResort(rand.Reader, now)
	if err != nil {
		t.Fatal(err)
	}
	if lr.ID != 1 {
		t.Fatalf("first kyber prekey of an upgraded profile has id %d, want 1", lr.ID)
	}
	if s := schemaOf(t, bob); s != schemaVersion {
		t.Fatalf("schema %d after the first kyber prekey, want %d", s, schemaVersion)
	}
	bob.Close()
	bob2, err := Open(bobPath, []byte("schema1 passphrase"))
	if err != nil {
		t.Fatal(err)
	}
	defer bob2.Close()
	if got, ok, err := bob2.LatestKyberLastResort(); err != nil || !ok || got.KeyPair != lr.KeyPair {
		t.Fatalf("kyber prekey after reopening: %v %v", ok, err)
	}
	if v, pq := startPQ(t, alice, "alice", bob2, lr); v != 4 || !pq {
		t.Fatalf("new session with the upgraded profile: version %d, SPQR %v", v, pq)
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	p, path := newProfile(t, "gina", nil)
	p.Close()
	p = editStored(t, path, nil, bucketMeta, keyAccount, editJSON(func(rec map[string]any) {
		rec["schema"] = schemaVersion + 1
	}))
	if _, err := p.Account(); err == nil || !strings.Contains(err.Error(), "newer than this blindpost") {
		t.Fatalf("account of a newer schema: %v", err)
	}
	if _, err := p.NewKyberPreKeys(rand.Reader, 1, now); err == nil {
		t.Fatal("kyber prekeys stored in a newer profile")
	}
}

func TestKyberRetireAndPrune(t *testing.T) {
	p, _ := newProfile(t, "hana", nil)
	old, _ := p.NewKyberPreKeys(rand.Reader, 3, now)
	cur, _ := p.NewKyberPreKeys(rand.Reader, 2, now.Add(time.Hour))
	replaced := now.Add(2 * time.Hour)
	if err := p.RetireKyberPreKeys([]uint32{cur[0].ID, cur[1].ID}, replaced); err != nil {
		t.Fatal(err)
	}
	// Within the grace period the replaced keys still serve late sessions.
	if err := p.PruneKyberPreKeys(replaced.Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	if n, _ := p.KyberPreKeyCount(); n != 5 {
		t.Fatalf("%d kyber prekeys before the grace period ended, want 5", n)
	}
	// Retiring again does not move the time a key became stale.
	if err := p.RetireKyberPreKeys([]uint32{cur[0].ID, cur[1].ID}, replaced.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := p.PruneKyberPreKeys(replaced.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	for _, k := range old {
		if _, ok, _ := p.KyberPreKey(k.ID); ok {
			t.Fatalf("stale kyber prekey %d kept after the grace period", k.ID)
		}
	}
	for _, k := range cur {
		if _, ok, _ := p.KyberPreKey(k.ID); !ok {
			t.Fatalf("live kyber prekey %d pruned", k.ID)
		}
	}
}

func TestKyberLastResortRotation(t *testing.T) {
	p, _ := newProfile(t, "ines", nil)
	old, _ := p.NewKyberLastResort(rand.Reader, now.Add(-60*24*time.Hour))
	atCutoff, _ := p.NewKyberLastResort(rand.Reader, now.Add(-40*24*time.Hour))
	grace, _ := p.NewKyberLastResort(rand.Reader, now.Add(-7*24*time.Hour))
	cur, _ := p.NewKyberLastResort(rand.Reader, now)
	if err := p.PruneKyberLastResort(now.Add(-30 * 24 * time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := p.KyberPreKey(old.ID); ok {
		t.Fatal("last-resort kyber prekey replaced before the cutoff kept")
	}
	for _, k := range []kem.PreKey{atCutoff, grace} {
		if _, ok, _ := p.KyberPreKey(k.ID); !ok {
			t.Fatalf("last-resort kyber prekey %d, replaced within the grace period, pruned", k.ID)
		}
	}
	latest, ok, _ := p.LatestKyberLastResort()
	if !ok || latest.ID != cur.ID {
		t.Fatalf("latest %d, want %d", latest.ID, cur.ID)
	}
	// The newest stays whatever its age.
	if err := p.PruneKyberLastResort(now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := p.LatestKyberLastResort(); !ok {
		t.Fatal("the only last-resort kyber prekey was pruned")
	}
}

func TestCorruptKyberPreKeyRefused(t *testing.T) {
	p, path := newProfile(t, "jo", nil)
	ks, _ := p.NewKyberPreKeys(rand.Reader, 1, now)
	p.Close()
	p = editStored(t, path, nil, bucketKyber, u32key(ks[0].ID), editJSON(func(r *kyberRecord) {
		r.Private = r.Private[1:]
	}))
	if _, _, err := p.KyberPreKey(ks[0].ID); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("short kyber private key: %v, want ErrCorrupt", err)
	}
}
