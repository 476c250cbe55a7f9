package lab

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/blindpost/blindpost/identity"
	"github.com/blindpost/blindpost/ratchet"
	"github.com/blindpost/blindpost/wire"
	"github.com/blindpost/blindpost/x3dh"
)

// providerView is everything the relay receives in the lab's model: the
// public keys the devices upload and the envelopes they send. It is built
// only from bytes an endpoint hands over.
type providerView struct {
	items []viewItem
}

type viewItem struct {
	what     string
	envelope bool // a message, not an uploaded key
	bytes    []byte
}

func (v *providerView) add(what string, envelope bool, b []byte) {
	v.items = append(v.items, viewItem{what, envelope, bytes.Clone(b)})
}

// contains reports whether secret occurs anywhere in the view.
func (v *providerView) contains(secret []byte) bool {
	for _, it := range v.items {
		if bytes.Contains(it.bytes, secret) {
			return true
		}
	}
	return false
}

// secret is one value that exists only on an endpoint.
type secret struct {
	kind  string // one of secretKinds
	name  string
	bytes []byte
}

// secretKinds are the groups the provider lab lists secrets in.
var secretKinds = []string{"private keys", "DH outputs", "root and chain keys", "message keys"}

// Provider prints the provider lab: what the relay holds after a
// conversation, the secrets that exist only on the two phones, a check
// that none of them (nor any plaintext) is in what the relay holds, and
// the relay's best attempt at decrypting.
func Provider(w io.Writer, seed uint64) error {
	c, err := runScript(seed, ratchetScript)
	if err != nil {
		return err
	}
	view := buildView(c)
	p := newPrinter(w)
	p.title("attack provider", seed, specX3DH+"; "+specRatchet)
	p.line("A warrant asks the provider for the content of Alice and Bob's conversation (the one of")
	p.line("blindpost lab ratchet --seed %d). This lab lists what the relay holds, what it can learn", seed)
	p.line("from it, and checks that the content is not in it.")

	p.heading("What the relay stores: public keys, uploaded by the devices")
	for _, it := range view.items {
		if !it.envelope {
			p.value(it.what, it.bytes, "")
		}
	}
	p.line("  Public by design: anyone may fetch a bundle. No private key is ever uploaded.")

	p.heading("What the relay carries: %d envelopes, opaque except for the header", countSends(c))
	p.line("  %-4s %-6s %-6s %-5s %-5s %-9s %-3s %s", "env", "from", "to", "type", "bytes", "DHs", "PN", "N")
	for _, ev := range c.events {
		if s := ev.send; s != nil {
			m := s.enc.msg
			p.line("  %-4s %-6s %-6s %-5d %-5d %-9s %-3d %d", s.label, s.from.name, s.to.name, s.typ, len(s.bytes), fp(m.RatchetKey[:]), m.PreviousCounter, m.Counter)
		}
	}
	p.line("  The relay learns who writes to whom, when, how much, and from the cleartext header which")
	p.line("  messages share a chain and when a DH ratchet step happened. That metadata is what it can")
	p.line("  hand over; blindpost demo and blindpost warrant show what a real relay records.")
	first := c.events[0].send
	p.value("env m1", first.bytes, "The whole first envelope: version, IK_A, EK_A, prekey ids, header, ciphertext, MAC.")

	secrets := endpointSecrets(c)
	p.heading("What exists only on the two phones: %d secrets", len(secrets))
	p.line("  Each as name and fingerprint; the relay's bytes are searched for each whole value.")
	found := 0
	for _, kind := range secretKinds {
		var row []string
		var names []string
		for _, s := range secrets {
			if s.kind != kind {
				continue
			}
			if view.contains(s.bytes) {
				found++
				names = append(names, s.name)
			}
			row = append(row, fmt.Sprintf("%-15s %s", s.name, fp(s.bytes)))
		}
		p.line("  %s (%d):", kind, len(row))
		for len(row) > 0 {
			n := min(3, len(row))
			p.line("    %s", strings.Join(row[:n], "  "))
			row = row[n:]
		}
		if len(names) > 0 {
			p.line("    FOUND in the relay's bytes: %s", strings.Join(names, ", "))
		}
	}
	leaked := 0
	for _, ev := range c.events {
		if s := ev.send; s != nil && view.contains([]byte(s.plaintext)) {
			leaked++
		}
	}
	p.check("none of the %d secrets occurs in the relay's bytes: %s", len(secrets), yesNo(found == 0))
	p.check("none of the %d plaintexts occurs in the relay's bytes: %s", countSends(c), yesNo(leaked == 0))

	p.heading("The relay's best attempt: X3DH as Bob, with keys of its own")
	a, err := providerAttempt(seed, first)
	if err != nil {
		return err
	}
	p.line("  CANNOT READ m1   %v", a)
	p.line("  Bob's X3DH needs IK_B.priv, SPK_B.priv and OPK_B.priv; the relay has only their public")
	p.line("  halves, and keys it makes itself give another SK, so the MAC check fails. Every later")
	p.line("  message key descends from that SK and from ratchet keys that never leave the phones.")
	p.line("  Substituting its own keys before a conversation is the man in the middle of")
	p.line("  blindpost lab attack mitm: it does not reach messages already sent, and safety numbers")
	p.line("  expose it.")

	p.blank()
	p.result("the relay holds %d public keys and %d envelopes; none of the %d endpoint secrets and none", countKeys(view), countSends(c), len(secrets))
	p.line("of the plaintexts is among them. What it can hand over is metadata, not content.")
	p.line("Scope: this checks the bytes the two endpoints hand to the relay in this model. That the")
	p.line("relay's code receives nothing more is checked in relay/ (TestBlindByConstruction).")
	return p.Err()
}

func countKeys(v *providerView) int {
	n := 0
	for _, it := range v.items {
		if !it.envelope {
			n++
		}
	}
	return n
}

// buildView collects what the devices hand the relay: the identity keys
// and Bob's bundle at registration, then every envelope.
func buildView(c *conversation) *providerView {
	v := &providerView{}
	b := c.x.bundle
	v.add("IK_A", false, c.alice.ik.Public.Bytes())
	v.add("IK_B", false, b.IdentityKey.Bytes())
	v.add("SPK_B", false, b.SignedPreKey.Bytes())
	v.add("Sig(SPK_B)", false, b.SignedPreKeySignature[:])
	if b.PreKey != nil {
		v.add("OPK_B", false, b.PreKey.Key.Bytes())
	}
	for _, ev := range c.events {
		if s := ev.send; s != nil {
			v.add(s.label, true, s.bytes)
		}
	}
	return v
}

// endpointSecrets lists every private key and derived secret of the
// conversation: what a provider would need, and never receives.
func endpointSecrets(c *conversation) []secret {
	n, x := c.names, &c.x
	l := &secretList{seen: map[string]bool{}}
	l.add("private keys", "IK_A.priv", c.alice.ik.Private[:])
	l.add("private keys", "EK_A.priv", x.ek.Private[:])
	l.add("private keys", "IK_B.priv", c.bob.ik.Private[:])
	l.add("private keys", "SPK_B.priv", x.spk.KeyPair.Private[:])
	if x.opk != nil {
		l.add("private keys", "OPK_B.priv", x.opk.KeyPair.Private[:])
	}
	for i, dh := range x.aliceTrace.DH {
		l.add("DH outputs", fmt.Sprintf("DH%d", i+1), dh[:])
	}
	l.add("root and chain keys", "CK0", x.aliceTrace.Secrets.ChainKey[:])
	for i, rk := range n.roots {
		l.add("root and chain keys", fmt.Sprintf("RK%d", i), rk[:])
	}
	step := func(k kdfRK) {
		l.add("private keys", n.keyName(k.ours.Public)+".priv", k.ours.Private[:])
		l.add("DH outputs", fmt.Sprintf("DH(%s,%s)", n.keyName(k.ours.Public), n.keyName(k.theirs)), k.dh[:])
	}
	step(x.init)
	for _, ev := range c.events {
		switch {
		case ev.send != nil:
			e, m := ev.send.enc, ev.send.enc.msg
			mk := n.mk(m.RatchetKey, m.Counter)
			l.add("root and chain keys", n.chain(m.RatchetKey, e.ck.Index), e.ck.Key[:])
			l.add("message keys", mk, e.seed[:])
			l.add("message keys", mk+".cipher", e.keys.CipherKey[:])
			l.add("message keys", mk+".mac", e.keys.MACKey[:])
			l.add("message keys", mk+".iv", e.keys.IV[:])
		case ev.recv != nil && ev.recv.dec.step != nil:
			st := ev.recv.dec.step
			l.add("root and chain keys", n.chain(st[0].theirs, 0), st[0].chain.Key[:])
			step(st[1])
		}
	}
	return l.list
}

// secretList collects secrets, each value once.
type secretList struct {
	list []secret
	seen map[string]bool
}

func (l *secretList) add(kind, name string, b []byte) {
	if l.seen[string(b)] {
		return
	}
	l.seen[string(b)] = true
	l.list = append(l.list, secret{kind: kind, name: name, bytes: bytes.Clone(b)})
}

// providerAttempt is the relay trying to read m1: it runs X3DH as Bob with
// key pairs it generates, on the keys named in the message, then the
// ratchet. refused is the protocol's answer; err is set if the lab itself
// failed (or, impossibly, the relay read the message).
func providerAttempt(seed uint64, first *sendEvent) (refused, err error) {
	r := NewStream(seed, "provider")
	pk, err := wire.ParsePreKeySignalMessage(first.bytes)
	if err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}
	ik, err := identity.GenerateIdentityKeyPair(r)
	if err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}
	spk, err := identity.GenerateKeyPair(r)
	if err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}
	opk, err := identity.GenerateKeyPair(r)
	if err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}
	sk, err := x3dh.Respond(x3dh.ResponderKeys{Identity: ik, SignedPreKey: spk, PreKey: &opk}, pk.IdentityKey, pk.BaseKey, nil)
	if err != nil {
		return err, nil
	}
	st := ratchet.NewResponder(x3dh.SessionVersion, first.to.ik.Public, pk.IdentityKey, sk.RootKey, sk.ChainKey, spk)
	if _, _, err := st.Decrypt(pk.Message, r); err != nil {
		return err, nil
	}
	return nil, fmt.Errorf("lab: internal error: the provider read a message")
}
