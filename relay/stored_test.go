package relay_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/blindpost/blindpost/relay/client"
	"github.com/blindpost/blindpost/relay/store"
)

// TestStoredBytesHoldNoSecrets runs a full workload through the relay,
// then reads its database file byte by byte for every private key and
// secret the clients held, and walks every record to check that nothing
// outside the documented schema was written.
func TestStoredBytesHoldNoSecrets(t *testing.T) {
	tr := startRelay(t)
	alice, bob := newAccount(t, "alice"), newAccount(t, "bob")
	recovery, err := client.GenerateSecret(bytes.NewReader(bytes.Repeat([]byte{0x5a}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	a := dial(t, tr.url)
	if _, err := a.Register(ctxT(t), client.Registration{
		Name: alice.name, DeviceID: 1, RegistrationID: alice.regID, IdentityKey: alice.ik,
		DeviceSecret: &alice.secret, RecoverySecret: &recovery,
	}); err != nil {
		t.Fatal(err)
	}
	b := register(t, tr.url, bob)
	uploadKeys(t, a, alice, 5)
	if _, err := b.FetchBundle(ctxT(t), alice.name, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Send(ctxT(t), alice.name, 1, 3, []byte("opaque ciphertext")); err != nil {
		t.Fatal(err)
	}
	tr.stop()

	raw, err := os.ReadFile(filepath.Join(tr.dir, store.FileName))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(raw, alice.ik.Public[:]) {
		t.Fatal("the public identity key is not in the file: the scan below proves nothing")
	}
	for name, secret := range map[string][]byte{
		"alice's identity private key": alice.ik.Private[:],
		"bob's identity private key":   bob.ik.Private[:],
		"alice's device secret":        alice.secret[:],
		"bob's device secret":          bob.secret[:],
		"alice's recovery secret":      recovery[:],
	} {
		if bytes.Contains(raw, secret) {
			t.Errorf("the database holds %s", name)
		}
	}

	ro, err := store.OpenReadOnly(tr.dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	buckets := map[string]int{}
	if err := ro.Walk(func(r store.Record) error {
		buckets[r.Bucket]++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"accounts", "devices", "signed_prekeys", "prekeys", "kem_prekeys", "kem_last_resort", "queues", "queue_meta", "contacts"} {
		if buckets[want] == 0 {
			t.Errorf("workload left nothing in %s: %v", want, buckets)
		}
	}
	acc, err := ro.Account(context.Background(), alice.name)
	if err != nil || acc.Recovery == nil || acc.Devices[0].Secret == nil {
		t.Fatalf("alice's secret hashes missing: %+v %v", acc, err)
	}
	contacts, err := ro.Contacts(context.Background(), bob.name)
	if err != nil || strings.Join(contacts, ",") != alice.name {
		t.Fatalf("bob's contacts: %v %v", contacts, err)
	}
}
