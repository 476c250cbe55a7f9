package demo

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/blindpost/blindpost/escrow"
	"github.com/blindpost/blindpost/identity"
	"github.com/blindpost/blindpost/kem"
	"github.com/blindpost/blindpost/messenger"
	"github.com/blindpost/blindpost/ratchet"
	"github.com/blindpost/blindpost/relay/store"
	"github.com/blindpost/blindpost/relay/warrant"
	"github.com/blindpost/blindpost/wire"
)

// provider takes the users offline, stops the relay, and looks at
// everything the provider holds: the database, and a copy of every
// envelope that passed (as a wiretap would keep).
func (d *run) provider(ctx context.Context, archive *escrowArchive) error {
	tapped := d.st.wiretap()
	for _, u := range d.users {
		u.stop()
	}
	if err := d.stopRelay(); err != nil {
		return err
	}
	d.out.section("The provider's view")
	d.out.step("The demo now plays the provider: it opens the relay's database read-only, as an operator served with a warrant would")
	relayDir := filepath.Join(d.phase, "relay")
	r, err := store.OpenReadOnly(relayDir, store.Options{})
	if err != nil {
		return err
	}
	defer r.Close()
	for _, name := range []string{"alice", "bob"} {
		rep, err := warrant.Export(ctx, r, name, time.Now())
		if err != nil {
			return err
		}
		var b strings.Builder
		if err := rep.WriteText(&b); err != nil {
			return err
		}
		d.out.printf("\n%s", indent(b.String()))
	}

	d.out.section("Can the provider read the messages?")
	d.out.step("Besides the database it kept a copy of all %d envelopes that passed through the relay (ciphertext and metadata)", len(tapped))
	ids, err := identities(ctx, r, tapped)
	if err != nil {
		return err
	}
	kyberPublic, err := kyberPublicKeys(ctx, r, ids)
	if err != nil {
		return err
	}
	held, err := heldBytes(relayDir, tapped)
	if err != nil {
		return err
	}
	kyberPrivate, err := findKyberKeys(kyberPublic, held)
	if err != nil {
		return err
	}
	cts := kyberCiphertexts(tapped)
	secrets := decapsulateAll(kyberPrivate, cts)
	d.out.step("Kyber: its database holds %d public Kyber prekeys of Alice and Bob; the messages carried %s.",
		len(kyberPublic), plural(len(cts), "Kyber ciphertext"))
	d.out.detail("Opening one needs the matching Kyber private key. It searched the %s it holds (the relay's folder and",
		byteCount(held))
	d.out.detail("every envelope) for the private half of each public one, and it holds %d: %d decapsulations, %d shared secrets",
		len(kyberPrivate), len(kyberPrivate)*len(cts), len(secrets))
	candidates := append(candidateKeys(ids, tapped), secrets...)
	attempts, opened := tryKeys(tapped, ids, candidates)
	d.out.step("It tries every key it holds: %d candidate 32-byte values (identity keys, every public key in the message headers,", len(candidates))
	d.out.detail("digests of the ciphertexts, Kyber ciphertexts and SPQR data, any Kyber shared secret), each as a message key,")
	d.out.detail("a message seed and a chain key, and on SPQR messages every pair as seed or chain key and SPQR key,")
	d.out.detail("on every envelope: %d attempts, %d opened", attempts, opened)
	readable := 0
	if archive != nil {
		readable, err = d.openEscrow(archive, tapped, ids)
		if err != nil {
			return err
		}
	}
	d.result.Readable = readable
	d.out.section("Result")
	d.out.printf("provider could read %d of %d messages\n", readable, d.result.Messages)
	if archive == nil {
		d.out.printf("It holds metadata only: who is registered, with which public keys, who wrote to whom, when, and how large\n")
		d.out.printf("each message was. The message keys exist only on Alice's and Bob's devices, one per message, and are\n")
		d.out.printf("deleted after use. What a provider could still do: ship a modified client, or hand out its own keys\n")
		d.out.printf("for a user (try `blindpost demo --ghost`); safety numbers are how users detect the latter.\n")
	} else {
		d.out.printf("With key escrow the provider reads everything, for every user, whenever it (or anyone holding its\n")
		d.out.printf("escrow key) decides to: the end-to-end guarantee is gone.\n")
	}
	return nil
}

// identities maps each account in the envelopes to its identity key, as
// the relay's database records it.
func identities(ctx context.Context, r store.Reader, tapped []store.Envelope) (map[string]identity.PublicKey, error) {
	ids := map[string]identity.PublicKey{}
	for _, e := range tapped {
		for _, name := range []string{e.Sender.Name, e.Recipient.Name} {
			if _, ok := ids[name]; ok {
				continue
			}
			a, err := r.Account(ctx, name)
			if err != nil {
				return nil, err
			}
			ids[name] = a.IdentityKey
		}
	}
	return ids, nil
}

// signalMessage extracts the Double Ratchet message from an envelope's
// content, as anyone can parse the wire format.
func signalMessage(e store.Envelope) (*wire.SignalMessage, bool) {
	switch e.Type {
	case wire.TypeSignal:
		m, err := wire.ParseSignalMessage(e.Content)
		return m, err == nil
	case wire.TypePreKey:
		pm, err := wire.ParsePreKeySignalMessage(e.Content)
		if err != nil {
			return nil, false
		}
		return pm.Message, true
	}
	return nil, false
}

// candidateKeys collects every 32-byte value the provider holds.
func candidateKeys(ids map[string]identity.PublicKey, tapped []store.Envelope) [][32]byte {
	seen := map[[32]byte]bool{}
	var out [][32]byte
	add := func(k [32]byte) {
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	for _, k := range ids {
		add(k)
	}
	for _, e := range tapped {
		add(sha256.Sum256(e.Content))
		if m, ok := signalMessage(e); ok {
			add(m.RatchetKey)
			if m.PQRatchet != nil {
				add(sha256.Sum256(m.PQRatchet))
			}
		}
		if e.Type == wire.TypePreKey {
			if pm, err := wire.ParsePreKeySignalMessage(e.Content); err == nil {
				add(pm.BaseKey)
				add(pm.IdentityKey)
				if pm.KyberCiphertext != nil {
					add(sha256.Sum256(pm.KyberCiphertext))
				}
			}
		}
	}
	return out
}

// kyberCiphertexts collects the distinct Kyber ciphertexts of the tapped
// PreKeySignalMessages (a session's first messages repeat its one).
func kyberCiphertexts(tapped []store.Envelope) []kem.Ciphertext {
	var out []kem.Ciphertext
	for _, e := range tapped {
		if e.Type != wire.TypePreKey {
			continue
		}
		pm, err := wire.ParsePreKeySignalMessage(e.Content)
		if err != nil || pm.KyberCiphertext == nil {
			continue
		}
		if ct, err := kem.ParseCiphertext(pm.KyberCiphertext); err == nil && !slices.Contains(out, ct) {
			out = append(out, ct)
		}
	}
	return out
}

// decapsulateAll opens every ciphertext with every private key, as the
// recipient would: each result is a candidate shared secret.
func decapsulateAll(keys []kem.KeyPair, cts []kem.Ciphertext) [][32]byte {
	var out [][32]byte
	for _, k := range keys {
		for _, ct := range cts {
			out = append(out, k.Decapsulate(ct))
		}
	}
	return out
}

// tryKeys runs the recipient's own MAC check and decryption with each
// candidate in three roles, on every envelope; on a message with SPQR
// data, whose keys are salted with an SPQR key, also with every pair of
// candidates as (message seed or chain key, SPQR key).
func tryKeys(tapped []store.Envelope, ids map[string]identity.PublicKey, candidates [][32]byte) (attempts, opened int) {
	try := func(mk ratchet.MessageKeys, sender, receiver identity.PublicKey, m *wire.SignalMessage) {
		attempts++
		if _, err := ratchet.Open(mk, sender, receiver, m); err == nil {
			opened++
		}
	}
	for _, e := range tapped {
		m, ok := signalMessage(e)
		if !ok {
			continue
		}
		sender, receiver := ids[e.Sender.Name], ids[e.Recipient.Name]
		for _, k := range candidates {
			_, seedFromChain := ratchet.KDFCK(ratchet.ChainKey{Key: k})
			try(ratchet.MessageKeys{CipherKey: k, MACKey: k, IV: [16]byte(k[:16])}, sender, receiver, m)
			for _, seed := range []ratchet.MessageSeed{ratchet.MessageSeed(k), seedFromChain} {
				try(ratchet.DeriveMessageKeys(seed, nil), sender, receiver, m)
				if m.PQRatchet == nil {
					continue
				}
				for _, salt := range candidates {
					try(ratchet.DeriveMessageKeys(seed, &salt), sender, receiver, m)
				}
			}
		}
	}
	return attempts, opened
}

// openEscrow is what key escrow gives the provider: it opens each capsule
// with its escrow key and decrypts the matching envelope.
func (d *run) openEscrow(a *escrowArchive, tapped []store.Envelope, ids map[string]identity.PublicKey) (int, error) {
	keys := map[escrow.Tag]ratchet.MessageKeys{}
	for _, c := range a.capsules {
		tag, mk, err := escrow.Open(a.key, c)
		if err != nil {
			return 0, err
		}
		keys[tag] = mk
	}
	d.out.step("But it also holds the escrow key: it opens %d capsules the clients were made to send, one per message", len(a.capsules))
	read := 0
	for _, e := range tapped {
		m, ok := signalMessage(e)
		if !ok {
			continue
		}
		mk, ok := keys[escrow.Tag{RatchetKey: m.RatchetKey, Counter: m.Counter}]
		if !ok {
			continue
		}
		pt, err := ratchet.Open(mk, ids[e.Sender.Name], ids[e.Recipient.Name], m)
		if err != nil {
			continue
		}
		text, isText, err := messenger.PayloadText(pt)
		if err != nil || !isText {
			continue
		}
		read++
		d.out.detail("%s -> %s at %s: %q", e.Sender.Name, e.Recipient.Name, e.ServerTime.Format("15:04:05"), text)
	}
	return read, nil
}

// plural is "1 thing" or "n things".
func plural(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}

func indent(s string) string {
	var b bytes.Buffer
	for _, line := range strings.SplitAfter(s, "\n") {
		if line != "" {
			b.WriteString("  " + line)
		}
	}
	return b.String()
}
