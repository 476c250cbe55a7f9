package lab

import (
	"fmt"
	"slices"

	"github.com/blindpost/blindpost/identity"
	"github.com/blindpost/blindpost/ratchet"
	"github.com/blindpost/blindpost/spqr"
)

// futureAttacker is the "harvest now, decrypt later" adversary of the
// pqxdh lab: it recorded every byte the relay carried and, years later,
// computes X25519 discrete logs. The lab simulates that by handing it
// every X25519 private key of the conversation. It has no Kyber1024 or
// ML-KEM-768 secret. It computes with the specification functions only
// (x3dh.KDFPQXDH, ratchet.KDFRK, KDFCK, DeriveMessageKeys, spqr's KDFs)
// and tries each key on the recorded message with ratchet.Open: a message
// is read when the MAC verifies and the ciphertext decrypts.
type futureAttacker struct {
	r     *pqRun
	privs map[identity.PublicKey]identity.KeyPair
	// steps are the DH ratchet steps of the transcript, Alice's initial
	// one first: the new ratchet key and the peer key that caused it.
	steps []ratchetStep
}

type ratchetStep struct{ ours, theirs identity.PublicKey }

// harvestTry is the attacker's attempt at one message.
type harvestTry struct {
	m pqMessage
	// mk names the Double Ratchet message key, seedOK says whether the
	// attacker's equals the real one.
	mk     string
	seedOK bool
	// pq names the message's SPQR key; pqOK says whether the attacker's
	// is the real one (it has one only in epoch 0: pqKnown).
	pq    string
	epoch uint64 // of the SPQR key
	pqOK  bool
	read  bool
	text  string
	err   error
}

func newFutureAttacker(r *pqRun) *futureAttacker {
	c := r.c
	a := &futureAttacker{r: r, privs: map[identity.PublicKey]identity.KeyPair{}}
	for _, kp := range []identity.KeyPair{c.alice.ik.KeyPair, c.bob.ik.KeyPair, c.x.spk.KeyPair, c.x.opk.KeyPair, c.x.ek, c.x.init.ours} {
		a.privs[kp.Public] = kp
	}
	a.steps = []ratchetStep{{c.x.init.ours.Public, c.x.init.theirs}} // A1
	for _, m := range r.msgs {
		if st := m.r.dec.step; st != nil {
			a.privs[st[1].ours.Public] = st[1].ours
			a.steps = append(a.steps, ratchetStep{st[1].ours.Public, st[1].theirs})
		}
	}
	return a
}

// dh is DH with whichever of the two keys it holds the private half of.
func (a *futureAttacker) dh(k1, k2 identity.PublicKey) ([32]byte, error) {
	if kp, ok := a.privs[k1]; ok {
		return kp.DH(k2)
	}
	if kp, ok := a.privs[k2]; ok {
		return kp.DH(k1)
	}
	return [32]byte{}, fmt.Errorf("lab: internal error: the attacker holds neither private key")
}

// agreementDH is its DH1..DH4 of PQXDH, from the public keys on the wire.
func (a *futureAttacker) agreementDH() ([][32]byte, error) {
	x := &a.r.c.x
	pairs := [][2]identity.PublicKey{
		{a.r.c.alice.ik.Public, x.bundle.SignedPreKey},
		{x.ek.Public, x.bundle.IdentityKey},
		{x.ek.Public, x.bundle.SignedPreKey},
		{x.ek.Public, x.bundle.PreKey.Key},
	}
	var out [][32]byte
	for _, p := range pairs {
		dh, err := a.dh(p[0], p[1])
		if err != nil {
			return nil, err
		}
		out = append(out, dh)
	}
	return out, nil
}

// attack tries every message from a first root key and PQR key: the root
// chain through every DH ratchet step (the new ratchet key of each step
// with the peer key that caused it, as the transcript shows), the sending
// chains, the SPQR chain of epoch 0 from pqr, and the message keys.
func (a *futureAttacker) attack(rk0 ratchet.RootKey, pqr [32]byte) ([]harvestTry, error) {
	c := a.r.c
	root := rk0
	chains := map[identity.PublicKey]ratchet.ChainKey{}
	for _, st := range a.steps {
		dh, err := a.dh(st.ours, st.theirs)
		if err != nil {
			return nil, err
		}
		var ck ratchet.ChainKey
		root, ck = ratchet.KDFRK(root, dh)
		chains[st.ours] = ck
	}
	pq := newPQChain(pqr)
	var tries []harvestTry
	for _, m := range a.r.msgs {
		msg := m.s.enc.msg
		ck, ok := chains[msg.RatchetKey]
		if !ok {
			return nil, fmt.Errorf("lab: internal error: no chain for %s", m.s.label)
		}
		var seed ratchet.MessageSeed
		for ck.Index <= msg.Counter {
			ck, seed = ratchet.KDFCK(ck)
		}
		chains[msg.RatchetKey] = ck
		t := harvestTry{m: m, mk: c.names.mk(msg.RatchetKey, msg.Counter), seedOK: seed == m.s.enc.seed}
		in, err := spqr.Describe(msg.PQRatchet)
		if err != nil {
			return nil, fmt.Errorf("lab: internal error: %w", err)
		}
		t.pq, t.epoch = pqKeyName(in.Epoch-1, a.r.dir(m.s), in.Index), in.Epoch-1
		var salt *[32]byte
		if in.Epoch-1 == 0 {
			k, ok := pq.key(0, a.r.dir(m.s), in.Index)
			if !ok {
				return nil, fmt.Errorf("lab: internal error: no epoch-0 SPQR key for %s", m.s.label)
			}
			salt, t.pqOK = &k, k == *m.s.enc.pq.key
		}
		keys := ratchet.DeriveMessageKeys(seed, salt)
		pt, err := ratchet.Open(keys, m.s.from.ik.Public, m.s.to.ik.Public, msg)
		t.text, t.read, t.err = string(pt), err == nil, err
		tries = append(tries, t)
	}
	return tries, nil
}

func printHarvest(p *printer, r *pqRun) error {
	a := newFutureAttacker(r)
	at := &r.c.x.aliceTrace
	p.heading("Harvest now, decrypt later: a future attacker who breaks X25519 (PQXDH, security considerations)")
	p.line("  The attacker recorded every byte the relay carried: Bob's bundle and the %d messages. Years", len(r.msgs))
	p.line("  later it computes X25519 discrete logs (a large quantum computer); the lab simulates that by")
	p.line("  handing it every X25519 private key of the conversation: IK_A, IK_B, SPK_B, OPK_B, EK_A and")
	p.line("  the %d ratchet keys A1..A%d, B1..B%d. It has no Kyber1024 or ML-KEM-768 secret.",
		len(a.steps), r.c.names.count["A"], r.c.names.count["B"])
	dhs, err := a.agreementDH()
	if err != nil {
		return err
	}
	p.check("its DH1..DH4 equal Alice's: %s", yesNo(slices.Equal(dhs, at.DH)))
	p.line("  SS is out of reach: CT opens only with PQOPK_B.priv, which Bob deleted, and breaking Kyber1024")
	p.line("  is what a quantum computer is not known to do. Its best SK is the KDF without SS:")
	guess := recomputeSK(dhs, nil)
	s := &at.Secrets
	p.value("RK0'", guess.RootKey[:], fmt.Sprintf("KDF(F || DH1 || DH2 || DH3 || DH4) bytes 0-31; equals RK0: %s.", yesNo(guess.RootKey == s.RootKey)))
	p.value("PQR'", guess.PQRKey[:], fmt.Sprintf("Bytes 64-95; equals PQR: %s.", yesNo(guess.PQRKey == s.PQRKey)))
	p.line("  From RK0' it follows every DH ratchet step (it holds a private key of each) and from PQR'")
	p.line("  the SPQR chain, then tries each message key on the recorded MAC:")
	tries, err := a.attack(guess.RootKey, guess.PQRKey)
	if err != nil {
		return err
	}
	for _, t := range tries[:min(3, len(tries))] {
		printTry(p, t)
	}
	read := countTries(tries, harvestTry.wasRead)
	if len(tries) > 3 {
		p.line("  ..          %s..%s: %s", tries[3].m.s.label, tries[len(tries)-1].m.s.label, outcomeCount(tries[3:]))
	}
	p.blank()
	p.result("with every X25519 private key the attacker reads %d of %d messages: SK needs SS,", read, len(tries))
	p.line("a Kyber1024 secret, so recording today and breaking X25519 tomorrow is not enough.")
	return nil
}

func printHealing(p *printer, r *pqRun) error {
	a := newFutureAttacker(r)
	s := &r.c.x.aliceTrace.Secrets
	p.heading("What SPQR adds: the same attacker with Alice's first keys (ML-KEM Braid, introduction)")
	p.line("  Suppose it had also copied Alice's session right after PQXDH, before m1: RK0, CK0 and PQR.")
	tries, err := a.attack(s.RootKey, s.PQRKey)
	if err != nil {
		return err
	}
	seeds := countTries(tries, func(t harvestTry) bool { return t.seedOK })
	p.check("following every DH ratchet step from RK0, its Double Ratchet message keys are the real ones: %s (%d of %d)",
		yesNo(seeds == len(tries)), seeds, len(tries))
	p.line("  Without SPQR that would read every message: DH ratchet steps heal a session only against an")
	p.line("  attacker who cannot compute X25519. SPQR's epoch 1 secret comes from ML-KEM-768: K needs Alice's")
	p.line("  decapsulation key, sampled at m1 after the copy, or Bob's Encaps1 randomness; neither travels,")
	p.line("  and ML-KEM-768, like Kyber1024, is built to resist a quantum computer.")
	first := slices.IndexFunc(tries, func(t harvestTry) bool { return !t.pqKnown() })
	if first < 0 {
		return fmt.Errorf("lab: internal error: no message keyed from epoch 1")
	}
	for i, t := range tries {
		switch {
		case i < 2 || i == first-1:
			printTry(p, t)
		case i == 2 && first > 3:
			p.line("  ..          %s..%s: %s", t.m.s.label, tries[first-2].m.s.label, outcomeCount(tries[2:first-1]))
		case i == first:
			p.line("  ---- %s is the first message keyed from SPQR epoch 1 ----", t.m.s.label)
			printTry(p, t)
		case i > first:
			printTry(p, t)
		}
	}
	before, after := countTries(tries[:first], harvestTry.wasRead), countTries(tries[first:], harvestTry.wasRead)
	p.blank()
	p.result("the attacker reads %d of the first %d messages; from %s on, keyed from SPQR epoch 1, it reads %d of %d.",
		before, first, tries[first].m.s.label, after, len(tries)-first)
	p.line("Post-quantum post-compromise security: each completed epoch locks out an attacker that")
	p.line("can compute every X25519 secret, as the DH ratchet locks out one that cannot.")
	return nil
}

func printTry(p *printer, t harvestTry) {
	if t.read {
		p.line("  READ        %-5s %q", t.m.s.label, t.text)
		return
	}
	pq := t.pq + " wrong"
	switch {
	case !t.pqKnown():
		pq = fmt.Sprintf("%s unknown, it needs S%d", t.pq, t.epoch)
	case t.pqOK:
		pq = t.pq + " right"
	}
	mk := t.mk + " wrong"
	if t.seedOK {
		mk = t.mk + " right"
	}
	p.line("  CANNOT READ %-5s %v; %s, %s", t.m.s.label, t.err, mk, pq)
}

// pqKnown says whether the attacker can compute the message's SPQR key:
// only in epoch 0, from PQR.
func (t harvestTry) pqKnown() bool { return t.epoch == 0 }

func (t harvestTry) wasRead() bool { return t.read }

// countTries counts the attempts for which f holds.
func countTries(tries []harvestTry, f func(harvestTry) bool) int {
	n := 0
	for _, t := range tries {
		if f(t) {
			n++
		}
	}
	return n
}

// outcomeCount summarises a run of attempts.
func outcomeCount(tries []harvestTry) string {
	read := countTries(tries, harvestTry.wasRead)
	switch read {
	case 0:
		return fmt.Sprintf("CANNOT READ any of these %d", len(tries))
	case len(tries):
		return fmt.Sprintf("READ all %d", len(tries))
	}
	return fmt.Sprintf("READ %d of %d", read, len(tries))
}
