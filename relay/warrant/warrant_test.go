package warrant

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/blindpost/blindpost/identity"
	"github.com/blindpost/blindpost/relay/store"
)

func TestExport(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	keys := map[string]identity.PublicKey{}
	for _, name := range []string{"alice", "bob", "bob.x"} {
		kp, _ := identity.GenerateKeyPair(rand.Reader)
		keys[name] = kp.Public
		if _, err := s.Register(ctx, store.Registration{Name: name, IdentityKey: kp.Public, Device: 1, RegistrationID: 7, Time: now}); err != nil {
			t.Fatal(err)
		}
	}
	secret := []byte("ciphertext that only the endpoints can open")
	send := func(from, to string) {
		if _, err := s.Enqueue(ctx, store.Envelope{Kind: store.KindMessage, Sender: store.Address{Name: from, Device: 1},
			Recipient: store.Address{Name: to, Device: 1}, Type: 2, Content: secret, ServerTime: now}); err != nil {
			t.Fatal(err)
		}
	}
	// Bob's device has public Kyber prekeys on the relay: two one-time
	// ones and a last-resort one.
	kyber := func(id uint32) store.KEMPreKey {
		k := store.KEMPreKey{ID: id, Key: make([]byte, 1+1568)}
		k.Key[0] = 0x08
		rand.Read(k.Key[1:])
		return k
	}
	lr := kyber(9)
	if err := s.UploadPreKeys(ctx, store.Address{Name: "bob", Device: 1}, store.PreKeyUpload{
		KEMPreKeys: []store.KEMPreKey{kyber(1), kyber(2)}, KEMLastResort: &lr,
	}); err != nil {
		t.Fatal(err)
	}
	send("alice", "bob")
	send("alice", "bob")
	send("bob", "alice")
	send("bob.x", "alice") // a name with bob as a prefix is someone else
	s.Close()

	r, err := store.OpenReadOnly(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	rep, err := Export(ctx, r, "bob", now)
	if err != nil {
		t.Fatal(err)
	}
	if rep.IdentityKey != hex.EncodeToString(keys["bob"].Bytes()) {
		t.Errorf("identity key %s", rep.IdentityKey)
	}
	if len(rep.Inbound) != 2 || len(rep.Outbound) != 1 || len(rep.Devices) != 1 {
		t.Fatalf("inbound %d, outbound %d, devices %d", len(rep.Inbound), len(rep.Outbound), len(rep.Devices))
	}
	if rep.Inbound[0].Size != len(secret) || rep.Inbound[0].Sender != "alice.1" {
		t.Errorf("envelope %+v", rep.Inbound[0])
	}
	if d := rep.Devices[0]; d.KEMPreKeys != 2 || !d.KEMLastResort {
		t.Errorf("kyber prekeys %d, last resort %v; want 2 and true", d.KEMPreKeys, d.KEMLastResort)
	}
	var text, js bytes.Buffer
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{text.String(), js.String()} {
		if strings.Contains(out, string(secret)) || strings.Contains(out, hex.EncodeToString(secret)) {
			t.Fatal("the export contains message content")
		}
	}
	for _, want := range []string{"public prekeys on the relay: 0 one-time, signed prekey false, 2 one-time Kyber, Kyber last resort true",
		"private keys: none held"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text export lacks %q:\n%s", want, text.String())
		}
	}
	var back Report
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || back.Account != "bob" {
		t.Fatalf("json round trip: %v", err)
	}
	if _, err := Export(ctx, r, "nobody", now); err == nil {
		t.Fatal("export of an unknown account succeeded")
	}
}
