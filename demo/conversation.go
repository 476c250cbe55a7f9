package demo

import (
	"context"
	"fmt"
	"time"

	"github.com/blindpost/blindpost/escrow"
	"github.com/blindpost/blindpost/identity"
	"github.com/blindpost/blindpost/messenger"
	"github.com/blindpost/blindpost/relay/store"
	"github.com/blindpost/blindpost/session"
	"github.com/blindpost/blindpost/wire"
	"github.com/blindpost/blindpost/x3dh"
)

// waitLimit bounds each wait for a message to cross the relay.
const waitLimit = 15 * time.Second

// escrowArchive is where a "TCN-compliant" client's capsules end up: in
// the provider's hands.
type escrowArchive struct {
	key      identity.KeyPair
	capsules [][]byte
}

// conversation runs the script, then shows the provider's view.
func (d *run) conversation(ctx context.Context) error {
	var archive *escrowArchive
	d.out.section("The conversation")
	if d.opts.Mode == Escrow {
		k, err := identity.GenerateKeyPair(d.rand)
		if err != nil {
			return err
		}
		archive = &escrowArchive{key: k}
		d.out.step("INSECURE VARIANT: the provider holds an escrow key %s; every client must encrypt each message key to it", short(k.Public[:]))
	}
	if err := d.startRelay(d.dir); err != nil {
		return err
	}
	d.out.step("An embedded relay listens on %s (loopback only); its database is in %s", d.url, d.dir)
	for i, line := range d.opts.Script {
		if err := d.say(ctx, i, len(d.opts.Script), line, archive); err != nil {
			return err
		}
	}
	return d.provider(ctx, archive)
}

// say sends one line of the script and narrates what the protocol does.
func (d *run) say(ctx context.Context, i, total int, line Line, archive *escrowArchive) error {
	from, err := d.user(ctx, line.From)
	if err != nil {
		return err
	}
	to, err := d.user(ctx, line.To)
	if err != nil {
		return err
	}
	if from.cancel == nil {
		if err := from.start(ctx); err != nil {
			return err
		}
		d.out.step("%s comes back online", title(from.name))
	}
	if line.Offline && to.cancel != nil {
		to.stop()
		d.out.step("%s goes offline: the relay will hold what arrives for %s", title(to.name), to.name)
	}
	if _, had := from.state(to.name); !had {
		if err := from.m.StartSession(ctx, to.name); err != nil {
			return err
		}
		d.describeStart(from, to)
	}
	if archive != nil {
		st, _ := from.state(to.name)
		tag, mk, err := escrow.NextMessageKeys(st.Ratchet, d.rand)
		if err != nil {
			return err
		}
		c, err := escrow.Seal(d.rand, archive.key.Public, tag, mk)
		if err != nil {
			return err
		}
		archive.capsules = append(archive.capsules, c)
	}
	cur, _ := from.state(to.name)
	d.out.printf("\n[%d/%d] %s -> %s: %q\n", i+1, total, title(from.name), title(to.name), line.Text)
	key := cur.Ratchet.Sender.RatchetKey.Public
	if last, ok := d.lastKey[from.name]; ok && last != key {
		d.out.step("%s's ratchet has turned since the last message: %s's messages or receipts brought a new ratchet key,",
			title(from.name), title(to.name))
		d.out.detail("so a DH ratchet step made a new root key and a new sending chain (ratchet key %s)", short(key[:]))
	}
	d.lastKey[from.name] = key
	if archive != nil {
		d.out.step("INSECURE: %s's client also encrypts this message's key to the provider's escrow key", title(from.name))
	}
	msg, err := from.m.Send(ctx, to.name, line.Text)
	if err != nil {
		return err
	}
	d.result.Messages++
	env := d.lastEnvelope(from.name, to.name)
	kind := "SignalMessage"
	if env.Type == wire.TypePreKey {
		kind = fmt.Sprintf("PreKeySignalMessage (carries what %s needs to run %s)", title(to.name), agreement(cur))
	}
	d.out.step("%s encrypts it with message key #%d of the sending chain and sends a %s of %d bytes",
		title(from.name), cur.Ratchet.Sender.Chain.Index, kind, len(env.Content))
	d.out.detail("the relay stored it for %s and acknowledged it; it sees sender, recipient, time and size, not the text", to.name)
	if to.cancel == nil {
		return nil // offline: it waits in the relay
	}
	if err := to.waitFor(ctx, waitLimit, func(e messenger.Event) bool {
		return e.Kind == messenger.EventMessage && e.Message.ID == msg.ID
	}); err != nil {
		return err
	}
	d.describeReceive(to, from.name)
	return from.waitFor(ctx, waitLimit, func(e messenger.Event) bool {
		return e.Kind == messenger.EventDelivered && e.Message.ID == msg.ID
	})
}

// agreement names the key agreement a session started with.
func agreement(st session.State) string {
	if st.Ratchet.Version >= x3dh.SessionVersionPQXDH {
		return "PQXDH"
	}
	return "X3DH"
}

// describeStart narrates the key agreement as the initiator: PQXDH with a
// blindpost peer, X3DH with a peer that publishes no Kyber prekey.
func (d *run) describeStart(from, to *user) {
	st, _ := from.state(to.name)
	pk := "no one-time prekey (DH4 skipped)"
	if st.Pending != nil && st.Pending.HasPreKeyID {
		pk = fmt.Sprintf("one-time prekey #%d (DH4)", st.Pending.PreKeyID)
	}
	if st.Pending == nil || !st.Pending.HasKyber {
		d.out.step("%s fetches %s's prekey bundle from the relay: identity key %s, signed prekey (signature checked), one-time prekey",
			title(from.name), title(to.name), short(st.Ratchet.RemoteIdentity[:]))
		d.out.detail("X3DH: four Diffie-Hellman agreements (%s) -> a root key and a chain key only the two of them can compute", pk)
		return
	}
	d.out.step("%s fetches %s's prekey bundle from the relay: identity key %s, signed prekey and Kyber prekey (signatures checked), one-time prekey",
		title(from.name), title(to.name), short(st.Ratchet.RemoteIdentity[:]))
	d.out.detail("PQXDH: four Diffie-Hellman agreements (%s) and a Kyber1024 encapsulation to Kyber prekey #%d", pk, st.Pending.KyberPreKeyID)
	d.out.detail("-> a root key and a chain key only the two of them can compute; the Kyber part keeps them secret even from")
	d.out.detail("someone who records the traffic now and has a quantum computer later. SPQR, the post-quantum ratchet, then")
	d.out.detail("salts every message key, with ML-KEM secrets it renews as the conversation goes on")
}

// describeReceive narrates decryption on the receiving side.
func (d *run) describeReceive(to *user, from string) {
	st, ok := to.state(from)
	if !ok {
		return
	}
	last := st.Ratchet.Receivers[len(st.Ratchet.Receivers)-1]
	d.out.step("%s decrypts it with message key #%d of the receiving chain for ratchet key %s; the key is then deleted",
		title(to.name), last.Chain.Index-1, short(last.RatchetKey[:]))
	d.out.detail("a delivery receipt goes back to %s, itself an encrypted message", title(from))
}

// lastEnvelope is the newest message envelope from one user to another.
func (d *run) lastEnvelope(from, to string) store.Envelope {
	tap := d.st.wiretap()
	for i := len(tap) - 1; i >= 0; i-- {
		e := tap[i]
		if e.Kind == store.KindMessage && e.Sender.Name == from && e.Recipient.Name == to {
			return e
		}
	}
	return store.Envelope{}
}
