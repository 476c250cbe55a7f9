package profile

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/blindpost/blindpost/session"
	"github.com/blindpost/blindpost/x3dh"
)

var now = time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)

func newProfile(t *testing.T, name string, pass []byte) (*Profile, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), name, "profile.db")
	p, err := Open(path, pass)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	if _, err := p.Create(name, 1, rand.Reader, now); err != nil {
		t.Fatal(err)
	}
	return p, path
}

func bundleOf(t *testing.T, p *Profile) *x3dh.Bundle {
	t.Helper()
	acct, err := p.Account()
	if err != nil {
		t.Fatal(err)
	}
	spk, err := p.NewSignedPreKey(rand.Reader, now)
	if err != nil {
		t.Fatal(err)
	}
	pks, err := p.NewPreKeys(rand.Reader, 3)
	if err != nil {
		t.Fatal(err)
	}
	return &x3dh.Bundle{
		RegistrationID: acct.RegistrationID, DeviceID: 1, IdentityKey: acct.Identity.Public,
		SignedPreKeyID: spk.ID, SignedPreKey: spk.KeyPair.Public, SignedPreKeySignature: spk.Signature,
		PreKey: &x3dh.OneTimePreKey{ID: pks[1].ID, Key: pks[1].KeyPair.Public},
	}
}

func cipherFor(s session.Store, name string) *session.Cipher {
	return &session.Cipher{Store: s, Local: session.Address{Name: name, DeviceID: 1}, Rand: rand.Reader, Now: func() time.Time { return now }}
}

// editStored changes one stored value of the closed profile at path with
// edit, straight in its database (sealed values stay sealed), and reopens
// the profile with pass.
func editStored(t *testing.T, path string, pass []byte, bucket, key []byte, edit func([]byte) ([]byte, error)) *Profile {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		v, err := edit(bytes.Clone(tx.Bucket(bucket).Get(key)))
		if err != nil {
			return err
		}
		return tx.Bucket(bucket).Put(key, v)
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	p, err := Open(path, pass)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// editJSON is an edit of an unsealed JSON value as a T.
func editJSON[T any](change func(T)) func([]byte) ([]byte, error) {
	return func(v []byte) ([]byte, error) {
		var rec T
		if err := json.Unmarshal(v, &rec); err != nil {
			return nil, err
		}
		change(rec)
		return json.Marshal(rec)
	}
}

func TestFileMode(t *testing.T) {
	_, path := newProfile(t, "alice", nil)
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("profile mode %v, want 0600", st.Mode().Perm())
	}
}

func TestConversationSurvivesReopen(t *testing.T) {
	alice, _ := newProfile(t, "alice", nil)
	bob, bobPath := newProfile(t, "bob", []byte("correct horse"))
	aAddr, bAddr := session.Address{Name: "alice", DeviceID: 1}, session.Address{Name: "bob", DeviceID: 1}
	ac := cipherFor(alice, "alice")
	if err := ac.ProcessBundle(bAddr, bundleOf(t, bob)); err != nil {
		t.Fatal(err)
	}
	typ, ct, err := ac.Encrypt(bAddr, []byte("hello"))
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := bob.PreKeyCount(); n != 3 {
		t.Fatalf("%d prekeys before use", n)
	}
	pt, err := cipherFor(bob, "bob").Decrypt(aAddr, typ, ct)
	if err != nil || string(pt) != "hello" {
		t.Fatalf("decrypt: %q, %v", pt, err)
	}
	if n, _ := bob.PreKeyCount(); n != 2 {
		t.Fatalf("%d prekeys after use, want 2", n)
	}
	// Reopen Bob's encrypted profile: the session survives.
	bob.Close()
	if _, err := Open(bobPath, []byte("wrong")); !errors.Is(err, ErrBadPassphrase) {
		t.Fatalf("wrong passphrase: %v", err)
	}
	if _, err := Open(bobPath, nil); !errors.Is(err, ErrNeedPassword) {
		t.Fatalf("no passphrase: %v", err)
	}
	bob2, err := Open(bobPath, []byte("correct horse"))
	if err != nil {
		t.Fatal(err)
	}
	defer bob2.Close()
	typ, ct, err = cipherFor(bob2, "bob").Encrypt(aAddr, []byte("hi alice"))
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := ac.Decrypt(bAddr, typ, ct); err != nil || string(pt) != "hi alice" {
		t.Fatalf("reply: %q, %v", pt, err)
	}
}

func TestEncryptedValuesHideSecrets(t *testing.T) {
	p, path := newProfile(t, "carol", []byte("pass"))
	acct, _ := p.Account()
	if err := p.AddContact("dave-the-secret-contact-name-value", now); err != nil {
		t.Fatal(err)
	}
	p.Close()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, acct.Identity.Private[:]) {
		t.Fatal("identity private key stored in clear")
	}
}

func TestDeferredCommitAndIncoming(t *testing.T) {
	alice, _ := newProfile(t, "alice", nil)
	bob, _ := newProfile(t, "bob", nil)
	aAddr, bAddr := session.Address{Name: "alice", DeviceID: 1}, session.Address{Name: "bob", DeviceID: 1}
	ac := cipherFor(alice, "alice")
	if err := ac.ProcessBundle(bAddr, bundleOf(t, bob)); err != nil {
		t.Fatal(err)
	}
	typ, ct, _ := ac.Encrypt(bAddr, []byte("one"))

	d := bob.Deferred()
	bc := cipherFor(d, "bob")
	if _, err := bc.Decrypt(aAddr, typ, ct); err != nil {
		t.Fatal(err)
	}
	// Nothing written yet: a crash here loses nothing, the relay redelivers.
	if _, ok, _ := bob.Record(aAddr); ok {
		t.Fatal("deferred commit was written")
	}
	if _, err := bc.Decrypt(aAddr, typ, ct); err != nil {
		t.Fatalf("redelivery before the commit must decrypt again: %v", err)
	}
	c := d.Take()
	m := &Message{ID: "m1", Conversation: "alice", From: "alice", Text: "one", SentAt: now, ReceivedAt: now}
	if err := bob.RecordIncoming(c, "env-1", m); err != nil {
		t.Fatal(err)
	}
	if seen, _ := bob.EnvelopeSeen("env-1"); !seen {
		t.Fatal("envelope not recorded")
	}
	h, _ := bob.History("alice")
	if len(h) != 1 || h[0].Text != "one" {
		t.Fatalf("history %+v", h)
	}
	acct, _ := alice.Account()
	if ct, _, _ := bob.Contact("alice"); ct.Unread != 1 || !ct.Added.Equal(now) {
		t.Fatalf("contact after the first message: unread %d, added %v", ct.Unread, ct.Added)
	}
	if k, _, _ := bob.TrustedIdentity(aAddr); k != acct.Identity.Public {
		t.Fatalf("trusted key of alice after her first message: %v, want %v", k, acct.Identity.Public)
	}
	if _, err := cipherFor(bob, "bob").Decrypt(aAddr, typ, ct); !errors.Is(err, session.ErrDuplicate) {
		t.Fatalf("after the commit the message is a duplicate: %v", err)
	}
}

func TestOutbox(t *testing.T) {
	alice, _ := newProfile(t, "alice", nil)
	bob, _ := newProfile(t, "bob", nil)
	bAddr := session.Address{Name: "bob", DeviceID: 1}
	if err := cipherFor(alice, "alice").ProcessBundle(bAddr, bundleOf(t, bob)); err != nil {
		t.Fatal(err)
	}
	d := alice.Deferred()
	typ, ct, err := cipherFor(d, "alice").Encrypt(bAddr, []byte("queued"))
	if err != nil {
		t.Fatal(err)
	}
	m := &Message{ID: "x", Conversation: "bob", From: "alice", Text: "queued", SentAt: now}
	o, err := alice.RecordOutgoing(d.Take(), m, Outgoing{To: "bob", DeviceID: 1, Type: typ, Ciphertext: ct})
	if err != nil {
		t.Fatal(err)
	}
	box, _ := alice.Outbox()
	if len(box) != 1 || !bytes.Equal(box[0].Ciphertext, ct) {
		t.Fatalf("outbox %+v", box)
	}
	if err := alice.MarkDelivered("bob", "x"); err != nil {
		t.Fatal(err)
	}
	if err := alice.MarkSent(o); err != nil {
		t.Fatal(err)
	}
	box, _ = alice.Outbox()
	h, _ := alice.History("bob")
	if len(box) != 0 || len(h) != 1 || h[0].Status != StatusDelivered {
		t.Fatalf("outbox %d, history %+v", len(box), h)
	}
}

func TestCorruptValueRefused(t *testing.T) {
	p, path := newProfile(t, "erin", []byte("pw"))
	if err := p.AddContact("frank", now); err != nil {
		t.Fatal(err)
	}
	p.Close()
	p = editStored(t, path, []byte("pw"), bucketContacts, []byte("frank"), func(v []byte) ([]byte, error) {
		v[len(v)-1] ^= 1
		return v, nil
	})
	if _, _, err := p.Contact("frank"); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("tampered value: %v, want ErrCorrupt", err)
	}
}

func TestSignedPreKeyRotation(t *testing.T) {
	p, _ := newProfile(t, "gina", nil)
	older, _ := p.NewSignedPreKey(rand.Reader, now.Add(-90*24*time.Hour))
	old, _ := p.NewSignedPreKey(rand.Reader, now.Add(-60*24*time.Hour))
	cur, _ := p.NewSignedPreKey(rand.Reader, now)
	if err := p.PruneSignedPreKeys(now.Add(-30 * 24 * time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := p.SignedPreKey(older.ID); ok {
		t.Fatal("signed prekey replaced before the cutoff kept")
	}
	latest, ok, _ := p.LatestSignedPreKey()
	if !ok || latest.ID != cur.ID {
		t.Fatalf("latest %d, want %d", latest.ID, cur.ID)
	}
	if _, ok, _ := p.SignedPreKey(old.ID); !ok {
		t.Fatal("the signed prekey current at the cutoff was pruned")
	}
}

// TestSignedPreKeyReplacedAfterLongAbsenceKept is the regression test for
// pruning by age: a device offline for longer than the grace period
// replaces its signed prekey on reconnection, and a message a peer sent
// meanwhile to the old one must still find it.
func TestSignedPreKeyReplacedAfterLongAbsenceKept(t *testing.T) {
	p, _ := newProfile(t, "hal", nil)
	before, _ := p.NewSignedPreKey(rand.Reader, now.Add(-40*24*time.Hour))
	if _, err := p.NewSignedPreKey(rand.Reader, now); err != nil {
		t.Fatal(err)
	}
	if err := p.PruneSignedPreKeys(now.Add(-30 * 24 * time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := p.SignedPreKey(before.ID); !ok {
		t.Fatal("the signed prekey replaced just now was pruned for its age")
	}
}
