package lab

import (
	"fmt"
	"io"

	"github.com/blindpost/blindpost/identity"
	"github.com/blindpost/blindpost/ratchet"
	"github.com/blindpost/blindpost/wire"
	"github.com/blindpost/blindpost/x3dh"
)

// Implementation constants of the prekey-exhaustion lab.
const (
	// exhaustionPreKeys is how many one-time prekeys Bob uploads.
	exhaustionPreKeys = 3
	// exhaustionLab names the lab's key streams.
	exhaustionLab = "prekey-exhaustion"
	// followed is the initiator whose conversation the thief follows
	// past the first messages; she gets no one-time prekey.
	followed = "erin"
)

// exhaustionSenders start sessions with Bob, in this order.
var exhaustionSenders = []string{"alice", "carol", "dave", "erin", "frank"}

// directory is the relay's prekey directory as the lab models it: the
// signed prekey, and one-time prekeys each handed out exactly once.
type directory struct {
	owner *device
	opks  []x3dh.OneTimePreKey
}

// fetch is one bundle request: it takes the next one-time prekey, if any.
func (d *directory) fetch() *x3dh.Bundle {
	var opk *x3dh.OneTimePreKey
	if len(d.opks) > 0 {
		opk = &d.opks[0]
		d.opks = d.opks[1:]
	}
	return d.owner.bundle(opk)
}

// initiation is one initiator's session with Bob as the network saw it.
type initiation struct {
	from *device
	// envs are the initiator's messages sent before Bob answered: all
	// PreKeySignalMessages.
	envs []envelope
	pk   *wire.PreKeySignalMessage // the first, parsed
	dh   int                       // DH values in Bob's X3DH for it
}

// PrekeyExhaustion prints the prekey-exhaustion lab: Bob's one-time
// prekeys run out, later sessions use X3DH without DH4, and a thief who
// later steals Bob's long-term keys reads exactly those sessions' first
// messages, up to Bob's first answer.
func PrekeyExhaustion(w io.Writer, seed uint64) error {
	p := newPrinter(w)
	p.title("attack prekey-exhaustion", seed, specX3DH+", sections 3.2-3.4, 4.6 and 4.7 (key compromise, server trust)")
	bob, err := newDevice(seed, exhaustionLab, "bob", "bob")
	if err != nil {
		return err
	}
	opks, err := bob.addPreKeys(1, exhaustionPreKeys)
	if err != nil {
		return err
	}
	dir := &directory{owner: bob, opks: opks}
	p.heading("Bob uploads SPK_B (id %d) and %d one-time prekeys, then goes offline", bob.spk.ID, exhaustionPreKeys)
	p.value("IK_B", bob.ik.Public[:], "Bob's identity key.")
	p.value("SPK_B", bob.spk.KeyPair.Public[:], "His signed prekey: in every bundle until he rotates it.")
	for _, k := range opks {
		p.value(fmt.Sprintf("OPK_B #%d", k.ID), k.Key[:], "A one-time prekey: the relay hands it to one initiator, then drops it.")
	}

	p.heading("%d people start a session with Bob while he is offline", len(exhaustionSenders))
	var all []*initiation
	var erin *initiation
	for _, name := range exhaustionSenders {
		in, err := initiate(seed, name, bob, dir)
		if err != nil {
			return err
		}
		all = append(all, in)
		if name == followed {
			erin = in
		}
		what := "no one-time prekey left: DH1..DH3 only, DH4 absent"
		if in.pk.HasPreKeyID {
			what = fmt.Sprintf("OPK_B #%d: DH1..DH4", in.pk.PreKeyID)
		}
		p.line("  %-6s gets a bundle with %s (%d DH values)", name, what, in.dh)
	}
	p.line("  (%s sends a second message before Bob answers; the others send one.)", followed)

	p.heading("Bob comes online and reads every message (session.Cipher)")
	for _, in := range all {
		for _, e := range in.envs {
			pt, err := bob.receive(e)
			if err != nil {
				return err
			}
			p.line("  %-6s %q", in.from.name, pt)
		}
	}
	for _, k := range opks {
		_, ok, err := bob.store.PreKey(k.ID)
		if err != nil {
			return fmt.Errorf("lab: %w", err)
		}
		p.check("OPK_B #%d is deleted from Bob's store after its use: %s", k.ID, yesNo(!ok))
	}
	p.line("  Every session works: without a one-time prekey X3DH still authenticates both sides")
	p.line("  (DH1, DH2) and is fresh on the initiator's side (DH3, from her ephemeral key).")

	reply, answer, err := continueWith(bob, erin)
	if err != nil {
		return err
	}

	p.heading("Months later a thief steals Bob's keys: IK_B and SPK_B (not rotated yet)")
	thief, err := stealLongTerm(seed, bob)
	if err != nil {
		return err
	}
	p.line("  It also has every recorded message. The one-time prekeys are gone from Bob's store.")
	p.line("  The thief runs X3DH as Bob (x3dh.RespondTraced) and the ratchet on each first message:")
	readable := 0
	for _, in := range all {
		a, _ := thief.first(in)
		if a.read {
			readable++
			p.line("  READ        %-6s %q", in.from.name, a.text)
			p.line("                     %s", a.how)
		} else {
			p.line("  CANNOT READ %-6s %v", in.from.name, a.err)
			p.line("                     %s", a.why)
		}
	}

	p.heading("How far into %s's conversation does the thief get?", followed)
	tries, err := thief.follow(erin, reply, answer)
	if err != nil {
		return err
	}
	for _, a := range tries {
		if a.read {
			p.line("  READ        %-14s %q", a.how, a.text)
		} else {
			p.line("  CANNOT READ %-14s %v", a.how, a.err)
		}
	}
	p.line("  Bob's answer is on his ratchet key B1, made when %s's first message arrived. The thief", followed)
	p.line("  has neither B1.priv nor the private half of %s's ratchet key A1, so DH(B1, A1), and", followed)
	p.line("  every chain after it, is out of reach.")

	p.blank()
	p.result("the thief reads the start of %d of %d sessions: exactly those made without a one-time", readable, len(all))
	p.line("prekey. Their SK = KDF(DH1 || DH2 || DH3) needs only IK_B.priv, SPK_B.priv and the public")
	p.line("IK_A and EK_A of the first message; DH4 needed OPK_B.priv, which Bob deleted. The thief reads")
	p.line("the initiator's messages up to Bob's first answer, and nothing after it.")
	p.line("Defences: Bob uploads more one-time prekeys when the relay's count runs low, and rotates")
	p.line("SPK_B, deleting old signed prekeys once their sessions have moved on.")
	return p.Err()
}

// initiate is one initiator fetching Bob's bundle and sending her first
// message (two for the followed initiator) through the session layer.
func initiate(seed uint64, name string, bob *device, dir *directory) (*initiation, error) {
	d, err := newDevice(seed, exhaustionLab, name, name)
	if err != nil {
		return nil, err
	}
	if err := d.cipher.ProcessBundle(bob.addr, dir.fetch()); err != nil {
		return nil, fmt.Errorf("lab: %s: %w", name, err)
	}
	in := &initiation{from: d}
	texts := []string{fmt.Sprintf("Hi Bob, this is %s.", name)}
	if name == followed {
		texts = append(texts, "Call me when you are back.")
	}
	for _, text := range texts {
		e, err := d.send(bob.addr, text)
		if err != nil {
			return nil, err
		}
		in.envs = append(in.envs, e)
	}
	if in.pk, err = wire.ParsePreKeySignalMessage(in.envs[0].bytes); err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}
	// Bob's X3DH for this message, traced on the keys his store holds now.
	var tr x3dh.Trace
	keys := x3dh.ResponderKeys{Identity: bob.ik, SignedPreKey: bob.spk.KeyPair}
	if in.pk.HasPreKeyID {
		k, ok, err := bob.store.PreKey(in.pk.PreKeyID)
		if err != nil || !ok {
			return nil, fmt.Errorf("lab: internal error: Bob lacks one-time prekey %d", in.pk.PreKeyID)
		}
		keys.PreKey = &k.KeyPair
	}
	if _, err := x3dh.RespondTraced(keys, in.pk.IdentityKey, in.pk.BaseKey, nil, &tr); err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}
	in.dh = len(tr.DH)
	return in, nil
}

// continueWith has Bob answer the initiator and the initiator answer back.
func continueWith(bob *device, in *initiation) (envelope, envelope, error) {
	reply, err := bob.send(in.from.addr, "Back now. Calling you.")
	if err != nil {
		return envelope{}, envelope{}, err
	}
	if _, err := in.from.receive(reply); err != nil {
		return envelope{}, envelope{}, err
	}
	answer, err := in.from.send(bob.addr, "Great, talk soon.")
	if err != nil {
		return envelope{}, envelope{}, err
	}
	if _, err := bob.receive(answer); err != nil {
		return envelope{}, envelope{}, err
	}
	return reply, answer, nil
}

// longTermThief holds what a thief takes from Bob's device after the
// fact: the identity key, the signed prekey and whatever one-time prekeys
// are still stored.
type longTermThief struct {
	bob  *device
	ik   identity.IdentityKeyPair
	spk  identity.SignedPreKey
	rand io.Reader
}

func stealLongTerm(seed uint64, bob *device) (*longTermThief, error) {
	ik, _, err := bob.store.LocalIdentity()
	if err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}
	spk, ok, err := bob.store.SignedPreKey(bob.spk.ID)
	if err != nil || !ok {
		return nil, fmt.Errorf("lab: internal error: no signed prekey %d", bob.spk.ID)
	}
	return &longTermThief{bob: bob, ik: ik, spk: spk, rand: NewStream(seed, exhaustionLab+"/thief")}, nil
}

// first runs X3DH as Bob with the stolen keys, then the ratchet, on an
// initiation's first message. On success it returns the thief's state.
func (t *longTermThief) first(in *initiation) (attempt, ratchet.State) {
	keys := x3dh.ResponderKeys{Identity: t.ik, SignedPreKey: t.spk.KeyPair}
	missing := ""
	if in.pk.HasPreKeyID {
		k, ok, err := t.bob.store.PreKey(in.pk.PreKeyID)
		switch {
		case err != nil:
			return attempt{err: err, why: "the store failed"}, ratchet.State{}
		case ok:
			keys.PreKey = &k.KeyPair
		default:
			missing = fmt.Sprintf("OPK_B #%d", in.pk.PreKeyID)
		}
	}
	var tr x3dh.Trace
	sk, err := x3dh.RespondTraced(keys, in.pk.IdentityKey, in.pk.BaseKey, nil, &tr)
	if err != nil {
		return attempt{err: err, why: "X3DH refused the message"}, ratchet.State{}
	}
	st := ratchet.NewResponder(x3dh.SessionVersion, t.ik.Public, in.pk.IdentityKey, sk.RootKey, sk.ChainKey, t.spk.KeyPair)
	next, pt, err := st.Decrypt(in.pk.Message, t.rand)
	if err != nil {
		why := "No key the thief holds gives this session's SK."
		if missing != "" {
			why = fmt.Sprintf("Its SK needs DH4 = DH(%s, EK_A); %s.priv was deleted after use.", missing, missing)
		}
		return attempt{err: err, why: why}, ratchet.State{}
	}
	return attempt{read: true, text: string(pt),
		how: fmt.Sprintf("SK = KDF(DH1 || DH2 || DH%d) from IK_B.priv and SPK_B.priv alone.", len(tr.DH))}, next
}

// follow tries the rest of an initiation's conversation: the initiator's
// further first messages, Bob's reply (through a mirror of the thief's
// state, as in the post-compromise lab) and the initiator's answer.
func (t *longTermThief) follow(in *initiation, reply, answer envelope) ([]attempt, error) {
	a, st := t.first(in)
	a.how = in.from.name + " message 1"
	tries := []attempt{a}
	if !a.read {
		return tries, nil
	}
	for i, e := range in.envs[1:] {
		m, _, err := parseMessage(e.typ, e.bytes)
		if err != nil {
			return nil, fmt.Errorf("lab: %w", err)
		}
		a := attempt{how: fmt.Sprintf("%s message %d", in.from.name, i+2)}
		var pt []byte
		if next, got, err := st.Decrypt(m, t.rand); err == nil {
			st, pt = next, got
			a.read, a.text = true, string(pt)
		} else {
			a.err = err
		}
		tries = append(tries, a)
	}
	for _, e := range []struct {
		env   envelope
		label string
		bob   bool
	}{{reply, "Bob's answer", true}, {answer, in.from.name + " again", false}} {
		m, _, err := parseMessage(e.env.typ, e.env.bytes)
		if err != nil {
			return nil, fmt.Errorf("lab: %w", err)
		}
		s := st
		if e.bob {
			s = mirrorState(st)
		}
		a := attempt{how: e.label}
		if _, pt, err := s.Decrypt(m, t.rand); err == nil {
			a.read, a.text = true, string(pt)
		} else {
			a.err = err
		}
		tries = append(tries, a)
	}
	return tries, nil
}
