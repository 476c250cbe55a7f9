package lab

import (
	"errors"
	"fmt"
	"io"

	"github.com/blindpost/blindpost/fingerprint"
	"github.com/blindpost/blindpost/identity"
	"github.com/blindpost/blindpost/session"
)

// MITM prints the man-in-the-middle lab: Mallory, who controls the relay
// or the network, gives Alice her own bundle for Bob and Bob her own
// identity for Alice. Without verification she reads and alters every
// message; comparing safety numbers detects her.
func MITM(w io.Writer, seed uint64) error {
	p := newPrinter(w)
	p.title("attack mitm", seed, specX3DH+", section 4.1 (authentication); libsignal safety numbers")
	p.line("Mallory runs the relay, or sits between it and Alice. She cannot break X25519; she can")
	p.line("hand out bundles. Alice and Bob run the real session layer (session.Cipher).")
	honest, err := mitmHonest(p, seed)
	if err != nil {
		return err
	}
	attacked, err := mitmAttack(p, seed)
	if err != nil {
		return err
	}
	if err := mitmVerified(p, seed); err != nil {
		return err
	}
	p.blank()
	p.result("without verification Mallory read and altered the conversation, and both sides saw valid")
	p.line("messages. The safety numbers %s without her and %s with her: comparing them (in person,", matchWord(honest), matchWord(attacked))
	p.line("or by scanning the QR code) is what detects a man in the middle. Once a key is verified,")
	p.line("the session layer refuses any other key for that contact.")
	return p.Err()
}

func matchWord(match bool) string {
	if match {
		return "MATCH"
	}
	return "MISMATCH"
}

// mitmHonest is the control run: no attacker.
func mitmHonest(p *printer, seed uint64) (bool, error) {
	alice, bob, err := mitmPair(seed)
	if err != nil {
		return false, err
	}
	p.heading("Control: Alice gets Bob's real bundle")
	if err := alice.cipher.ProcessBundle(bob.addr, bob.bundle(nil)); err != nil {
		return false, fmt.Errorf("lab: %w", err)
	}
	for _, m := range []struct {
		from, to *device
		text     string
	}{{alice, bob, "Meet me at 6 at the station."}, {bob, alice, "OK, 6 it is."}} {
		e, err := m.from.send(m.to.addr, m.text)
		if err != nil {
			return false, err
		}
		pt, err := m.to.receive(e)
		if err != nil {
			return false, err
		}
		p.line("  %-5s -> %-5s %q; %s reads %q", m.from.name, m.to.name, m.text, m.to.name, pt)
	}
	return safetyNumbers(p, alice, bob, map[identity.PublicKey]string{
		alice.ik.Public: "IK_A " + fp(alice.ik.Public[:]),
		bob.ik.Public:   "IK_B " + fp(bob.ik.Public[:]),
	})
}

// mitmAttack is the attack without verification.
func mitmAttack(p *printer, seed uint64) (bool, error) {
	alice, bob, err := mitmPair(seed)
	if err != nil {
		return false, err
	}
	// Mallory has one device posing as Bob to Alice and one posing as
	// Alice to Bob, each with an identity key of her own.
	asBob, err := newDevice(seed, "mitm", "mallory-as-bob", "bob")
	if err != nil {
		return false, err
	}
	asAlice, err := newDevice(seed, "mitm", "mallory-as-alice", "alice")
	if err != nil {
		return false, err
	}
	p.heading("Attack: Mallory answers Alice's bundle request with her own")
	p.value("IK_B", bob.ik.Public[:], "Bob's real identity key.")
	p.value("IK_M1", asBob.ik.Public[:], "Mallory's key in the bundle Alice gets for bob; she signed its SPK with it.")
	p.value("IK_A", alice.ik.Public[:], "Alice's real identity key.")
	p.value("IK_M2", asAlice.ik.Public[:], "Mallory's key in the messages Bob gets from alice.")
	if err := alice.cipher.ProcessBundle(bob.addr, asBob.bundle(nil)); err != nil {
		return false, fmt.Errorf("lab: %w", err)
	}
	p.check("Alice's session layer accepts the bundle: the signature verifies under the key it names")
	if err := asAlice.cipher.ProcessBundle(bob.addr, bob.bundle(nil)); err != nil {
		return false, fmt.Errorf("lab: %w", err)
	}
	p.line("  Mallory starts her own session with Bob from his real bundle, as \"alice\".")
	p.line("  Each message is decrypted by Mallory, then encrypted again on her other session:")
	relay := []struct {
		from, to   *device
		in, out    *device // Mallory's device that receives, and that sends on
		text, edit string
	}{
		{alice, bob, asBob, asAlice, "Meet me at 6 at the station.", "Meet me at 7 at the station."},
		{bob, alice, asAlice, asBob, "OK, 7 it is.", "OK, 7 it is."},
	}
	for _, m := range relay {
		e, err := m.from.send(m.to.addr, m.text)
		if err != nil {
			return false, err
		}
		read, err := m.in.receive(e)
		if err != nil {
			return false, err
		}
		e2, err := m.out.send(m.to.addr, m.edit)
		if err != nil {
			return false, err
		}
		got, err := m.to.receive(e2)
		if err != nil {
			return false, err
		}
		p.line("  %-5s sends    %q", m.from.name, m.text)
		p.line("  READ        Mallory reads %q", read)
		if m.edit != m.text {
			p.line("  ALTERED     Mallory sends on %q", m.edit)
		}
		p.line("  %-5s reads    %q, from %q, with a valid MAC: nothing looks wrong", m.to.name, got, m.from.addr.Name)
	}
	return safetyNumbers(p, alice, bob, map[identity.PublicKey]string{
		asBob.ik.Public:   "IK_M1 " + fp(asBob.ik.Public[:]) + ", Mallory's",
		asAlice.ik.Public: "IK_M2 " + fp(asAlice.ik.Public[:]) + ", Mallory's",
	})
}

// safetyNumbers prints both parties' safety numbers, each computed from
// the key their store trusts for the other, and reports whether they match.
func safetyNumbers(p *printer, alice, bob *device, keyNames map[identity.PublicKey]string) (bool, error) {
	aliceSees, err := alice.trusted(bob.addr)
	if err != nil {
		return false, err
	}
	bobSees, err := bob.trusted(alice.addr)
	if err != nil {
		return false, err
	}
	a, err := fingerprint.NewStandard([]byte(alice.name), alice.ik.Public, []byte(bob.name), aliceSees)
	if err != nil {
		return false, fmt.Errorf("lab: %w", err)
	}
	b, err := fingerprint.NewStandard([]byte(bob.name), bob.ik.Public, []byte(alice.name), bobSees)
	if err != nil {
		return false, fmt.Errorf("lab: %w", err)
	}
	p.line("  Safety numbers (fingerprint.NewStandard: version 2, 5200 iterations of SHA-512):")
	p.line("  Alice's screen for bob:  %s", a)
	p.line("                           from IK_A and the key Alice trusts for bob: %s", keyNames[aliceSees])
	p.line("  Bob's screen for alice:  %s", b)
	p.line("                           from IK_B and the key Bob trusts for alice: %s", keyNames[bobSees])
	match := a.Displayable() == b.Displayable()
	if match {
		p.line("  MATCH       the two screens show the same 60 digits: each holds the other's real key.")
	} else {
		p.line("  MISMATCH    the screens differ: at least one of them holds a key that is not the other's.")
	}
	return match, nil
}

// mitmVerified shows what verification buys afterwards: a key verified
// once cannot be replaced silently, and a bundle cannot pair Bob's
// identity key with Mallory's signed prekey.
func mitmVerified(p *printer, seed uint64) error {
	alice, bob, err := mitmPair(seed)
	if err != nil {
		return err
	}
	asBob, err := newDevice(seed, "mitm", "mallory-as-bob", "bob")
	if err != nil {
		return err
	}
	p.heading("After verification: Alice has compared numbers with Bob and marked IK_B verified")
	alice.store.Approve(bob.addr, bob.ik.Public)
	err = alice.cipher.ProcessBundle(bob.addr, asBob.bundle(nil))
	p.line("  REFUSED     Mallory's bundle (IK_M1): %v", err)
	if !errors.Is(err, session.ErrUntrustedIdentity) {
		return fmt.Errorf("lab: internal error: a bundle with an unverified key was accepted: %v", err)
	}
	forged := bob.bundle(nil)
	forged.SignedPreKey = asBob.spk.KeyPair.Public
	forged.SignedPreKeySignature = asBob.spk.Signature
	err = alice.cipher.ProcessBundle(bob.addr, forged)
	p.line("  REFUSED     IK_B with Mallory's signed prekey: %v", err)
	if !errors.Is(err, session.ErrBadSignature) {
		return fmt.Errorf("lab: internal error: a forged signed prekey was accepted: %v", err)
	}
	p.line("  To pass as Bob with his own identity key, Mallory would need IK_B.priv to sign her prekey.")
	return nil
}

// mitmPair returns fresh devices for Alice and Bob; their identity keys are
// the same in every run of the lab with the same seed.
func mitmPair(seed uint64) (*device, *device, error) {
	alice, err := newDevice(seed, "mitm", "alice", "alice")
	if err != nil {
		return nil, nil, err
	}
	bob, err := newDevice(seed, "mitm", "bob", "bob")
	if err != nil {
		return nil, nil, err
	}
	return alice, bob, nil
}
