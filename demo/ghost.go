package demo

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/blindpost/blindpost/fingerprint"
	"github.com/blindpost/blindpost/identity"
	"github.com/blindpost/blindpost/kem"
	"github.com/blindpost/blindpost/messenger"
	"github.com/blindpost/blindpost/relay/store"
	"github.com/blindpost/blindpost/session"
)

// ghostDevice is the provider's impostor for one user: keys it generated,
// and the session machinery to read what is encrypted to them.
type ghostDevice struct {
	ik     identity.IdentityKeyPair
	cipher *session.Cipher
	bundle store.Bundle
}

func newGhost(d *run, victim string) (*ghostDevice, error) {
	ik, err := identity.GenerateIdentityKeyPair(d.rand)
	if err != nil {
		return nil, err
	}
	ms := session.NewMemoryStore(ik, 4242)
	spk, err := identity.GenerateSignedPreKey(d.rand, ik, 1, time.Now().UnixMilli())
	if err != nil {
		return nil, err
	}
	ms.AddSignedPreKey(spk)
	pks, err := identity.GeneratePreKeys(d.rand, 1, 1)
	if err != nil {
		return nil, err
	}
	ms.AddPreKey(pks[0])
	// A Kyber prekey too, so that the ghost's bundle looks like a blindpost
	// client's (PQXDH): post-quantum keys do not help against a provider
	// that hands out its own.
	kpk, err := kem.GeneratePreKey(d.rand, ik, 1, time.Now().UnixMilli())
	if err != nil {
		return nil, err
	}
	ms.AddKyberPreKey(kpk, true)
	return &ghostDevice{
		ik: ik,
		cipher: &session.Cipher{Store: ms, Local: session.Address{Name: victim, DeviceID: messenger.DeviceID},
			Rand: d.rand, Now: time.Now, SPQRMinimum: messenger.SPQRMinimum},
		bundle: store.Bundle{IdentityKey: ik.Public, Devices: []store.DeviceBundle{{
			Device: messenger.DeviceID, RegistrationID: 4242,
			Signed:        store.SignedPreKey{ID: spk.ID, Key: spk.KeyPair.Public, Signature: spk.Signature},
			PreKey:        &store.PreKey{ID: pks[0].ID, Key: pks[0].KeyPair.Public},
			KEM:           &store.KEMPreKey{ID: kpk.ID, Key: kpk.KeyPair.Public.Bytes(), Signature: kpk.Signature},
			KEMLastResort: true,
		}}},
	}, nil
}

// read decrypts, with the ghost's keys, every message sent to the victim
// after the envelope index from, and returns the texts it could read.
func (g *ghostDevice) read(tapped []store.Envelope, from int, sender, victim string) []string {
	var texts []string
	for _, e := range tapped[from:] {
		if e.Kind != store.KindMessage || e.Sender.Name != sender || e.Recipient.Name != victim {
			continue
		}
		pt, err := g.cipher.Decrypt(session.Address{Name: sender, DeviceID: e.Sender.Device}, int(e.Type), e.Content)
		if err != nil {
			continue
		}
		if text, isText, err := messenger.PayloadText(pt); err == nil && isText {
			texts = append(texts, text)
		}
	}
	return texts
}

// ghost runs the "ghost participant" design twice: against a first contact
// that nobody verified, then against a conversation whose safety number
// the users compared.
func (d *run) ghost(ctx context.Context) error {
	d.out.section("A ghost participant, without verification")
	d.out.step("The provider silently serves its own keys when Alice asks for Bob's: a \"ghost\" Bob")
	if err := d.ghostUnverified(ctx); err != nil {
		return err
	}
	d.closeAll()
	d.out.section("A ghost participant, after Alice and Bob verified their safety number")
	if err := d.ghostVerified(ctx); err != nil {
		return err
	}
	d.out.section("Result")
	d.out.printf("without verification the ghost read %d of %d messages; after verification it read %d, and Alice's client refused to send %d\n",
		d.result.GhostReadUnverified, 3, d.result.GhostReadVerified, d.result.RefusedAfterChange)
	d.out.printf("A provider can always try this (it hands out the keys); safety numbers are how users find out.\n")
	return nil
}

// startPair starts a relay with its data in d.dir/sub and Alice and Bob
// on it.
func (d *run) startPair(ctx context.Context, sub string) (alice, bob *user, err error) {
	if err := d.startRelay(filepath.Join(d.dir, sub)); err != nil {
		return nil, nil, err
	}
	if alice, err = d.user(ctx, "alice"); err != nil {
		return nil, nil, err
	}
	bob, err = d.user(ctx, "bob")
	return alice, bob, err
}

func (d *run) ghostUnverified(ctx context.Context) error {
	alice, bob, err := d.startPair(ctx, "unverified")
	if err != nil {
		return err
	}
	g, err := newGhost(d, "bob")
	if err != nil {
		return err
	}
	d.st.setGhost("bob", g.bundle)
	start := len(d.st.wiretap())
	texts := []string{"Hi Bob, here is the address: 12 Hill Road.", "Call me when you land.", "Don't tell anyone yet."}
	for _, t := range texts {
		if _, err := alice.m.Send(ctx, "bob", t); err != nil {
			return err
		}
		d.out.step("Alice -> \"Bob\": %q (encrypted to the key the relay handed her)", t)
	}
	if st, ok := alice.state("bob"); ok {
		d.out.detail("the ghost's bundle has a Kyber prekey too, so Alice's client runs %s with it: post-quantum keys protect", agreement(st))
		d.out.detail("against eavesdroppers, not against a provider that hands out keys of its own")
	}
	read := g.read(d.st.wiretap(), start, "alice", "bob")
	d.result.GhostReadUnverified = len(read)
	for _, t := range read {
		d.out.detail("the provider, as the ghost, reads: %q", t)
	}
	seen, err := alice.m.SafetyNumber("bob")
	if err != nil {
		return err
	}
	bacct, _ := bob.p.Account()
	aacct, _ := alice.p.Account()
	real, err := fingerprint.NewStandard([]byte("bob"), bacct.Identity.Public, []byte("alice"), aacct.Identity.Public)
	if err != nil {
		return err
	}
	d.out.step("Had they compared safety numbers, they would have seen different ones:")
	d.out.detail("Alice's screen for Bob: %s", seen)
	d.out.detail("Bob's screen for Alice: %s", real)
	return nil
}

func (d *run) ghostVerified(ctx context.Context) error {
	alice, bob, err := d.startPair(ctx, "verified")
	if err != nil {
		return err
	}
	hello := []Line{{From: "alice", To: "bob", Text: "Hi Bob!"}, {From: "bob", To: "alice", Text: "Hi Alice!"}}
	for i, l := range hello {
		if err := d.say(ctx, i, len(hello), l, nil); err != nil {
			return err
		}
	}
	na, err := alice.m.SafetyNumber("bob")
	if err != nil {
		return err
	}
	nb, err := bob.m.SafetyNumber("alice")
	if err != nil {
		return err
	}
	if na.Displayable() != nb.Displayable() {
		return fmt.Errorf("demo: safety numbers differ before any attack")
	}
	d.out.step("They meet and compare safety numbers; both screens show %s", na)
	if err := errors.Join(alice.m.MarkVerified("bob"), bob.m.MarkVerified("alice")); err != nil {
		return err
	}
	// The attack: Bob's key is swapped for the ghost's, and Alice is told
	// Bob "reinstalled", hoping her client re-keys to the ghost.
	g, err := newGhost(d, "bob")
	if err != nil {
		return err
	}
	alice.stop()
	d.st.setGhost("bob", g.bundle)
	if _, err := d.st.Enqueue(ctx, store.Envelope{Kind: store.KindIdentityChange,
		Sender:     store.Address{Name: "bob", Device: messenger.DeviceID},
		Recipient:  store.Address{Name: "alice", Device: messenger.DeviceID},
		ServerTime: time.Now(), IdentityKey: g.ik.Public}); err != nil {
		return err
	}
	d.out.step("The provider now serves the ghost's keys for Bob and tells Alice's client that Bob changed his key")
	start := len(d.st.wiretap())
	if err := alice.start(ctx); err != nil {
		return err
	}
	if err := alice.waitFor(ctx, waitLimit, func(e messenger.Event) bool { return e.Kind == messenger.EventIdentityChanged }); err != nil {
		return err
	}
	d.out.step("Alice's client: WARNING, Bob's safety number changed; messages to Bob are blocked until Alice compares again")
	for _, t := range []string{"The code is 4711.", "Are you there?"} {
		_, err := alice.m.Send(ctx, "bob", t)
		if !errors.Is(err, messenger.ErrIdentityChanged) {
			return fmt.Errorf("demo: send after the key change: %v", err)
		}
		d.result.RefusedAfterChange++
		d.out.detail("not sent: %q", t)
	}
	d.result.GhostReadVerified = len(g.read(d.st.wiretap(), start, "alice", "bob"))
	return nil
}
