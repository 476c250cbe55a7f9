package lab

import (
	"fmt"
	"io"
)

// action is one line of a scripted conversation: a party sends a message,
// or a message is delivered.
type action struct {
	send    bool
	alice   bool   // the sender, for a send
	label   string // the message
	text    string // its plaintext, for a send
	comment string // why this step is in the script, for the visual
}

func sends(alice bool, label, text, comment string) action {
	return action{send: true, alice: alice, label: label, text: text, comment: comment}
}

func delivers(label, comment string) action {
	return action{label: label, comment: comment}
}

// ratchetScript is the conversation of `blindpost lab ratchet` and of the
// visual ratchet: three DH ratchet steps, a second prekey message, and one
// message delivered late.
var ratchetScript = []action{
	sends(true, "m1", "Hi Bob, it's Alice.", "Alice's first message: a PreKeySignalMessage on her first chain, A1."),
	delivers("m1", "Bob runs X3DH as the responder, then a DH ratchet step: a receiving chain for A1 and his own new key B1."),
	sends(true, "m2", "Lunch tomorrow?", "Still a PreKeySignalMessage: Alice has not heard from Bob yet. Same chain A1, next key."),
	delivers("m2", "A symmetric step on Bob's receiving chain for A1: no DH."),
	sends(false, "m3", "Yes! Where?", "Bob's first message, on B1."),
	delivers("m3", "New ratchet key B1: Alice's DH ratchet step gives a receiving chain for B1 and her new key A2."),
	sends(true, "m4", "The usual place.", "First message on A2."),
	sends(true, "m5", "At noon.", "Second message on A2; the network will deliver it before m4."),
	delivers("m5", "m5 overtakes m4: Bob steps his new chain for A2 past m4 and stores m4's key (skipped)."),
	delivers("m4", "m4 arrives late: Bob uses the stored key and deletes it."),
	sends(false, "m6", "See you there.", "Bob's first message on B2, the key from his last DH ratchet step."),
	delivers("m6", "New ratchet key B2: Alice's DH ratchet step; she will send on A3."),
}

// runScript runs a script on a fresh conversation.
func runScript(seed uint64, script []action) (*conversation, error) {
	c, err := newConversation(seed, true)
	if err != nil {
		return nil, err
	}
	sent := map[string]*sendEvent{}
	for _, a := range script {
		if a.send {
			p := c.bob
			if a.alice {
				p = c.alice
			}
			s, err := c.send(p, a.label, a.text)
			if err != nil {
				return nil, err
			}
			sent[a.label] = s
			continue
		}
		s, ok := sent[a.label]
		if !ok {
			return nil, fmt.Errorf("lab: internal error: %s delivered before it was sent", a.label)
		}
		if _, err := c.deliver(s); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// Ratchet prints the Double Ratchet walk-through: every root, chain and
// message key of a short conversation, and every header.
func Ratchet(w io.Writer, seed uint64) error {
	c, err := runScript(seed, ratchetScript)
	if err != nil {
		return err
	}
	p := newPrinter(w)
	p.title("ratchet", seed, specRatchet)
	p.line("Code: package ratchet (State.Encrypt, State.Decrypt; KDFRK, KDFCK, DeriveMessageKeys).")
	p.line("The conversation starts from the X3DH of blindpost lab x3dh --seed %d:", seed)
	p.value("RK0", c.x.aliceTrace.Secrets.RootKey[:], "SK, first half: the first root key.")
	p.value("RK1", c.x.init.rkOut[:], "KDF_RK(RK0, DH(A1, SPK_B)): Alice's root after RatchetInitAlice.")
	p.value(c.names.chain(c.x.init.ours.Public, 0), c.x.init.chain.Key[:], "Alice's first sending chain key (CKs).")
	p.line("Names: A1, A2.. are Alice's ratchet keys, B0 = SPK_B then B1, B2.. Bob's; CK(key,n) is the chain key")
	p.line("that gives message n of that key's chain, mk(key,n) that message's key, RK0, RK1.. the root keys.")
	for _, ev := range c.events {
		if ev.send != nil {
			printSend(p, c, ev.send)
		} else {
			printReceive(p, c, ev.recv)
		}
	}
	printSummary(p, c)
	return p.Err()
}

func printSend(p *printer, c *conversation, s *sendEvent) {
	e, m := s.enc, s.enc.msg
	k := m.RatchetKey
	p.heading("%s sends %s (RatchetEncrypt, Double Ratchet section 3.4)", s.from.name, s.label)
	p.field("plaintext", fmt.Sprintf("%q", s.plaintext), "")
	p.value(c.names.chain(k, e.ck.Index), e.ck.Key[:], fmt.Sprintf("CKs: %s's sending chain key for message %d on %s.", s.from.name, e.ck.Index, c.names.keyName(k)))
	p.value(c.names.mk(k, e.ck.Index), e.seed[:], "KDF_CK: HMAC-SHA256(CKs, 0x01). This message's key: used once, then deleted.")
	p.value(c.names.chain(k, e.next.Index), e.next.Key[:], "KDF_CK: HMAC-SHA256(CKs, 0x02). The next CKs; the one above is deleted.")
	printMessageKeys(p, e.keys.CipherKey[:], e.keys.MACKey[:], e.keys.IV[:])
	p.field("header", fmt.Sprintf("DHs = %s, PN = %d, N = %d", c.names.keyName(k), m.PreviousCounter, m.Counter),
		"HEADER(DHs, PN, N), in clear. PN is the last N of the previous chain (the spec: its length).")
	p.value("DHs", k[:], "The ratchet public key in the header.")
	p.value("ciphertext", m.Ciphertext, "ENCRYPT: AES-256-CBC(mk.cipher, mk.iv, plaintext with PKCS#7 padding).")
	p.value("MAC", m.MAC[:], "HMAC-SHA256(mk.mac, IK_sender || IK_receiver || version || protobuf), first 8 bytes.")
	purpose := fmt.Sprintf("The SignalMessage (type 2) the relay carries: %d bytes.", len(s.bytes))
	if s.prekey != nil {
		purpose = fmt.Sprintf("Wrapped in a PreKeySignalMessage (type 3, %d bytes): %s has not heard from %s yet.", len(s.bytes), s.from.name, s.to.name)
	}
	p.value("bytes", s.bytes, purpose)
}

func printMessageKeys(p *printer, cipher, mac, iv []byte) {
	p.value("mk.cipher", cipher, "HKDF-SHA256(ikm = mk, info \"WhisperMessageKeys\") bytes 0-31: the AES-256 key.")
	p.value("mk.mac", mac, "Bytes 32-63: the HMAC-SHA256 key of the message MAC.")
	p.value("mk.iv", iv, "Bytes 64-79: the AES-CBC IV.")
}

func printReceive(p *printer, c *conversation, r *recvEvent) {
	s, d := r.send, r.dec
	m := s.enc.msg
	k := m.RatchetKey
	to := s.to
	p.heading("%s receives %s (RatchetDecrypt, Double Ratchet section 3.5)", to.name, s.label)
	p.field("header", fmt.Sprintf("DHs = %s, PN = %d, N = %d", c.names.keyName(k), m.PreviousCounter, m.Counter), "")
	if r.respond {
		p.line("  A PreKeySignalMessage and no session: Bob runs X3DH as the responder (blindpost lab x3dh)")
		p.line("  and starts with RK0, DHs = B0 = SPK_B and CKs = CK0 (RatchetInitBob).")
	}
	if st := d.step; st != nil {
		recv, send := &st[0], &st[1]
		p.line("  %s is a ratchet key %s has not seen: a DH ratchet step (DHRatchet, section 3.5).", c.names.keyName(k), to.name)
		p.value("dh_out", recv.dh[:], fmt.Sprintf("DH(%s, %s): %s's current ratchet key with the new one.", c.names.keyName(recv.ours.Public), c.names.keyName(k), to.name))
		p.value(c.names.root(recv.rkOut), recv.rkOut[:], fmt.Sprintf("KDF_RK(%s, dh_out), first half: the next root key.", c.names.root(recv.rkIn)))
		p.value(c.names.chain(k, 0), recv.chain.Key[:], "KDF_RK second half: CKr, the receiving chain for "+c.names.keyName(k)+".")
		nk := c.names.keyName(send.ours.Public)
		p.value(nk+".priv", send.ours.Private[:], fmt.Sprintf("DHs: %s's new ratchet key pair, fresh from %s stream.", to.name, possessive(to)))
		p.value(nk, send.ours.Public[:], "Its public key: the header of every message on the new sending chain.")
		p.value("dh_out", send.dh[:], fmt.Sprintf("DH(%s, %s): the sending half of the step.", nk, c.names.keyName(k)))
		p.value(c.names.root(send.rkOut), send.rkOut[:], fmt.Sprintf("KDF_RK(%s, dh_out), first half: the root key from now on.", c.names.root(send.rkIn)))
		p.value(c.names.chain(send.ours.Public, 0), send.chain.Key[:], "KDF_RK second half: CKs, the new sending chain.")
	}
	switch {
	case d.fromSkipped:
		p.line("  N = %d is behind the chain: the key comes from MKSKIPPED, and is deleted there.", m.Counter)
	case len(d.skipped) > 0:
		p.value(c.names.chain(k, d.ck.Index), d.ck.Key[:], "CKr before this message.")
		for _, sk := range d.skipped {
			p.value(c.names.mk(k, sk.Index)+"*", sk.Seed[:], fmt.Sprintf("SkipMessageKeys: message %d has not arrived; its key is stored in MKSKIPPED.", sk.Index))
		}
	default:
		p.value(c.names.chain(k, d.ck.Index), d.ck.Key[:], "CKr: the receiving chain key for this message.")
	}
	p.value(c.names.mk(k, m.Counter), d.seed[:], fmt.Sprintf("The message key; equals the one %s used: %s.", s.from.name, yesNo(d.seed == s.enc.seed)))
	p.check("the MAC verifies and %s reads %q", to.name, d.plaintext)
}

func printSummary(p *printer, c *conversation) {
	p.heading("Which key encrypted which message")
	p.line("  %-4s %-6s %-5s %-3s %-3s %-11s %s", "msg", "from", "DHs", "PN", "N", "key", "mk")
	for _, ev := range c.events {
		s := ev.send
		if s == nil {
			continue
		}
		m := s.enc.msg
		p.line("  %-4s %-6s %-5s %-3d %-3d %-11s %s", s.label, s.from.name, c.names.keyName(m.RatchetKey),
			m.PreviousCounter, m.Counter, c.names.mk(m.RatchetKey, m.Counter), fp(s.enc.seed[:]))
	}
	steps := 0
	for _, ev := range c.events {
		if ev.recv != nil && ev.recv.dec.step != nil {
			steps++
		}
	}
	p.blank()
	p.result("%d messages, each under its own message key, used once.", countSends(c))
	p.result("RatchetInitAlice and %d DH ratchet steps took the root chain from RK0 to RK%d.", steps, len(c.names.roots)-1)
	p.line("Next: blindpost lab serve --seed %d draws this conversation step by step.", c.seed)
}

func countSends(c *conversation) int {
	n := 0
	for _, ev := range c.events {
		if ev.send != nil {
			n++
		}
	}
	return n
}

// possessive is "his" or "her" for a party.
func possessive(p *party) string {
	if p.letter == "A" {
		return "her"
	}
	return "his"
}
