package lab

import (
	"fmt"
	"io"
	"slices"
)

// X3DH prints the X3DH walk-through: Bob's bundle, Alice's four DH values
// and SK, her first ratchet step and first message, and Bob's side of the
// same computation.
func X3DH(w io.Writer, seed uint64) error {
	c, err := newConversation(seed, true)
	if err != nil {
		return err
	}
	first, err := c.send(c.alice, "m1", "Hi Bob, it's Alice.")
	if err != nil {
		return err
	}
	if _, err := c.deliver(first); err != nil {
		return err
	}
	p := newPrinter(w)
	p.title("x3dh", seed, specX3DH+` and "The Double Ratchet Algorithm" section 3.3`)
	p.line("Code: package x3dh (InitiateTraced, RespondTraced), identity, ratchet, wire.")
	p.line("Lab keys only: this walk-through prints private keys; blindpost never prints real ones.")
	printBundle(p, c)
	printInitiator(p, c)
	printFirstMessage(p, c, first)
	printResponder(p, c)
	p.blank()
	p.result("Alice and Bob share SK = RK0 || CK0 without SK ever leaving either device.")
	p.line("Next: blindpost lab ratchet --seed %d continues this conversation.", seed)
	return p.Err()
}

func printBundle(p *printer, c *conversation) {
	b, x := c.bob, &c.x
	p.heading("Bob publishes a prekey bundle (X3DH section 3.2)")
	p.value("IK_B.priv", b.ik.Private[:], "Bob's identity private key: never leaves his device.")
	p.value("IK_B", b.ik.Public[:], "Bob's identity public key: names Bob; his safety number is computed from it.")
	p.value("SPK_B.priv", x.spk.KeyPair.Private[:], "Private half of the signed prekey: Bob keeps it until he rotates SPK_B.")
	p.value("SPK_B", x.spk.KeyPair.Public[:], fmt.Sprintf("Signed prekey, id %d: medium-term, shared by every initiator until rotated.", x.spk.ID))
	p.value("Sig(IK_B, Encode(SPK_B))", x.spk.Signature[:], "XEdDSA signature over 0x05 || SPK_B: proves SPK_B comes from the owner of IK_B.")
	if x.opk != nil {
		p.value("OPK_B.priv", x.opk.KeyPair.Private[:], "Private half of the one-time prekey: Bob deletes it after its one use.")
		p.value("OPK_B", x.opk.KeyPair.Public[:], fmt.Sprintf("One-time prekey, id %d: the relay hands it to one initiator only.", x.opk.ID))
	}
	p.line("  The bundle (IK_B, SPK_B, its signature, OPK_B and their ids) is public: the relay stores it.")
}

func printInitiator(p *printer, c *conversation) {
	a, x, tr := c.alice, &c.x, &c.x.aliceTrace
	p.heading("Alice checks the bundle and makes her keys (X3DH section 3.3)")
	p.check("XEdDSA signature of SPK_B under IK_B verifies: %s", yesNo(x.bundle.Verify() == nil))
	p.value("IK_A.priv", a.ik.Private[:], "Alice's identity private key.")
	p.value("IK_A", a.ik.Public[:], "Alice's identity public key: Bob's safety number for her is computed from it.")
	p.value("EK_A.priv", x.ek.Private[:], "Ephemeral private key: used for this agreement only, then deleted.")
	p.value("EK_A", x.ek.Public[:], "Ephemeral public key (libsignal's base key): sent to Bob in her first message.")

	p.heading("Alice computes DH1..DH4 and SK (X3DH section 3.3)")
	for i, dh := range tr.DH {
		p.value(fmt.Sprintf("DH%d", i+1), dh[:], dhPurpose[i])
	}
	if len(tr.DH) == 3 {
		p.line("  No one-time prekey in the bundle: DH4 is absent and SK = KDF(DH1 || DH2 || DH3).")
	}
	p.line("  SK = HKDF-SHA256(salt = 32 zero bytes, ikm = F || DH1 || .. || DH%d, info = \"WhisperText\"),", len(tr.DH))
	p.line("  F = 32 bytes of 0xFF; libsignal takes 64 bytes and splits them:")
	p.value("RK0", tr.Secrets.RootKey[:], "SK, first half: the first root key of the Double Ratchet.")
	p.value("CK0", tr.Secrets.ChainKey[:], "SK, second half: Bob's first sending chain key, on B0 = SPK_B.")
	ad := slices.Concat(a.ik.Public.Bytes(), c.bob.ik.Public.Bytes())
	p.value("AD", ad, "Encode(IK_A) || Encode(IK_B): bound into every message MAC, so both identities are checked.")

	p.heading("Alice starts the Double Ratchet (RatchetInitAlice, Double Ratchet section 3.3)")
	in := &x.init
	p.value("A1.priv", in.ours.Private[:], "DHs: Alice's first ratchet key pair, fresh.")
	p.value("A1", in.ours.Public[:], "Her ratchet public key: every message she sends on this chain carries it.")
	p.line("  DHr = B0 = SPK_B: Bob's signed prekey is his first ratchet key.")
	p.value("dh_out", in.dh[:], "DH(A1, SPK_B): the first DH ratchet output.")
	p.value("RK1", in.rkOut[:], "KDF_RK(RK0, dh_out), first half: the new root key.")
	p.value(c.names.chain(in.ours.Public, 0), in.chain.Key[:], "KDF_RK(RK0, dh_out), second half: CKs, Alice's first sending chain key.")
}

var dhPurpose = [4]string{
	"DH(IK_A, SPK_B): binds Alice's identity key (mutual authentication).",
	"DH(EK_A, IK_B): binds Bob's identity key (mutual authentication).",
	"DH(EK_A, SPK_B): fresh secret from the ephemeral key (forward secrecy).",
	"DH(EK_A, OPK_B): one-time secret; gone once Bob deletes OPK_B.",
}

func printFirstMessage(p *printer, c *conversation, s *sendEvent) {
	pk := s.prekey
	p.heading("Alice's first message carries what Bob needs (X3DH section 3.3, PreKeySignalMessage)")
	p.field("type", fmt.Sprintf("%d", s.typ), "PreKeySignalMessage: libsignal's ciphertext type 3.")
	p.field("version", fmt.Sprintf("0x%02x", pk.Version), "Session version 3 (X3DH) in both nibbles.")
	p.field("registration", fmt.Sprintf("%d", pk.RegistrationID), "Alice's registration id.")
	p.field("SPK id", fmt.Sprintf("%d", pk.SignedPreKeyID), "Which signed prekey Alice used.")
	if pk.HasPreKeyID {
		p.field("OPK id", fmt.Sprintf("%d", pk.PreKeyID), "Which one-time prekey Alice used.")
	}
	p.value("base key", pk.BaseKey[:], "EK_A, in clear: Bob needs it for DH2..DH4.")
	p.value("identity", pk.IdentityKey[:], "IK_A, in clear: Bob needs it for DH1 and the MAC.")
	p.value("bytes", s.bytes, fmt.Sprintf("The %d bytes the relay carries; the inner SignalMessage holds %q encrypted.", len(s.bytes), s.plaintext))
	p.line("  blindpost lab ratchet --seed %d shows the keys of this inner message.", c.seed)
}

func printResponder(p *printer, c *conversation) {
	at, bt := &c.x.aliceTrace, &c.x.bobTrace
	p.heading("Bob computes the same values from his private keys (X3DH section 3.4)")
	for i, dh := range bt.DH {
		p.value(fmt.Sprintf("DH%d", i+1), dh[:], fmt.Sprintf("%s; equals Alice's DH%d: %s.", bobDH[i], i+1, yesNo(i < len(at.DH) && at.DH[i] == dh)))
	}
	p.check("Bob's SK equals Alice's SK: %s", yesNo(bt.Secrets == at.Secrets && len(at.DH) == len(bt.DH)))
	p.check("Bob reads m1 with it: %q", c.events[len(c.events)-1].recv.dec.plaintext)
	if c.x.opk != nil {
		p.line("  Bob now deletes OPK_B.priv (id %d): nobody, Bob included, can compute DH4 again.", c.x.opk.ID)
	}
}

var bobDH = [4]string{
	"DH(SPK_B, IK_A)",
	"DH(IK_B, EK_A)",
	"DH(SPK_B, EK_A)",
	"DH(OPK_B, EK_A)",
}
