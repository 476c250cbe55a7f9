package lab

import (
	"fmt"
	"io"
	"slices"

	"github.com/blindpost/blindpost/identity"
	"github.com/blindpost/blindpost/kem"
	"github.com/blindpost/blindpost/ratchet"
	"github.com/blindpost/blindpost/spqr"
	"github.com/blindpost/blindpost/x3dh"
)

// pqRun is the pqxdh lab's conversation: PQXDH, then pqMessages messages
// alternating from Alice, each delivered at once.
type pqRun struct {
	c *conversation
	// msgs pairs each message's send and delivery, in order.
	msgs []pqMessage
}

type pqMessage struct {
	s *sendEvent
	r *recvEvent
	n int // 1 for m1
}

func runPQ(seed uint64) (*pqRun, error) {
	c, err := newPQConversation(seed)
	if err != nil {
		return nil, err
	}
	run := &pqRun{c: c}
	for i := 1; i <= pqMessages; i++ {
		p := c.alice
		if i%2 == 0 {
			p = c.bob
		}
		s, r, err := c.exchange(p, fmt.Sprintf("m%d", i), pqText(i))
		if err != nil {
			return nil, err
		}
		if s.enc.pq == nil || r.dec.pq == nil {
			return nil, fmt.Errorf("lab: internal error: %s ran without SPQR", s.label)
		}
		run.msgs = append(run.msgs, pqMessage{s: s, r: r, n: i})
	}
	return run, nil
}

func pqText(i int) string {
	switch i {
	case 1:
		return "Hi Bob, it's Alice."
	case 2:
		return "Hi Alice! Post-quantum now?"
	}
	return fmt.Sprintf("Message %d.", i)
}

// dir is the SPQR direction of a message's sender.
func (r *pqRun) dir(s *sendEvent) spqr.Direction {
	if s.from == r.c.alice {
		return spqr.AToB
	}
	return spqr.BToA
}

// keyName names the SPQR key a message used.
func (r *pqRun) keyName(s *sendEvent) string {
	t := &s.enc.pq.trace
	return pqKeyName(t.KeyEpoch, r.dir(s), t.KeyIndex)
}

// PQXDH prints the PQXDH and SPQR walk-through: Bob's bundle with a signed
// Kyber prekey, both sides of PQXDH, the ratchets' start, the first
// message's SPQR key and salted message keys, SPQR's chunks over a
// conversation until an epoch completes, the epoch secret on both sides,
// and what a future attacker who breaks X25519 can and cannot compute.
func PQXDH(w io.Writer, seed uint64) error {
	run, err := runPQ(seed)
	if err != nil {
		return err
	}
	p := newPrinter(w)
	p.title("pqxdh", seed, specPQXDH+", and "+specBraid)
	p.line("Code: packages x3dh (InitiateTraced, RespondTraced, KDFPQXDH), kem, ratchet, spqr (SendTraced,")
	p.line("RecvTraced, Describe, KDFChainStart, KDFChainNext, KDFChainAddEpoch, KDFEpochSecret).")
	p.line("Lab keys only: this walk-through prints private keys; blindpost never prints real ones.")
	steps := []func(*printer, *pqRun) error{
		printPQBundle, printPQInitiator, printPQResponder, printPQStart, printPQFirst,
		printPQTable, printPQEpoch, printHarvest, printHealing,
	}
	for _, f := range steps {
		if err := f(p, run); err != nil {
			return err
		}
	}
	return p.Err()
}

func printPQBundle(p *printer, r *pqRun) error {
	b, x := r.c.bob, &r.c.x
	k := x.kyber
	p.heading("Bob publishes a bundle with a signed Kyber prekey (PQXDH section 3.2)")
	p.value("IK_B", b.ik.Public[:], "Bob's identity key (X25519, 32 bytes; 33 with the 0x05 type byte): signs both prekeys.")
	p.value("SPK_B", x.spk.KeyPair.Public[:], fmt.Sprintf("Signed prekey, id %d (X25519).", x.spk.ID))
	p.value("Sig(IK_B, Encode(SPK_B))", x.spk.Signature[:], "XEdDSA over 0x05 || SPK_B (33 bytes).")
	p.value("OPK_B", x.opk.KeyPair.Public[:], fmt.Sprintf("One-time prekey, id %d (X25519).", x.opk.ID))
	enc := k.KeyPair.Public.Bytes()
	p.long("PQOPK_B", enc, fmt.Sprintf("Signed one-time Kyber1024 prekey, id %d: EncodeKEM = type byte 0x%02x (Kyber1024) || %d-byte key.",
		k.ID, enc[0], kem.PublicKeySize))
	p.value("Sig(IK_B, EncodeKEM(PQOPK_B))", k.Signature[:], fmt.Sprintf("XEdDSA over all %d bytes, type byte included.", len(enc)))
	p.long("PQOPK_B.priv", k.KeyPair.Private[:], fmt.Sprintf("The Kyber1024 private key (%d bytes): never leaves Bob's phone.", kem.PrivateKeySize))
	p.line("  The relay hands out one-time Kyber prekeys once each; when they run out it serves the")
	p.line("  last-resort PQSPK_B, signed the same way, which Bob keeps after use.")
	return nil
}

func printPQInitiator(p *printer, r *pqRun) error {
	c := r.c
	a, x, tr := c.alice, &c.x, &c.x.aliceTrace
	p.heading("Alice checks both signatures, then runs PQXDH (PQXDH section 3.3)")
	bad := x.bundle
	kp := *bad.KyberPreKey
	kp.Key[100] ^= 0x01
	bad.KyberPreKey = &kp
	flipped := bad.Verify()
	p.check("XEdDSA signature of SPK_B under IK_B verifies: %s", yesNo(identity.Verify(x.bundle.IdentityKey, x.bundle.SignedPreKey.Bytes(), x.bundle.SignedPreKeySignature[:])))
	p.check("XEdDSA signature of PQOPK_B under IK_B verifies: %s", yesNo(kem.VerifyPreKey(x.bundle.IdentityKey, x.bundle.KyberPreKey.Key, x.bundle.KyberPreKey.Signature[:]) == nil))
	p.check("PQOPK_B with one bit flipped is refused: %v", flipped)
	p.line("  The signature is what stops a relay from handing Alice a Kyber key of its own: it would")
	p.line("  decapsulate SS itself, and the day X25519 falls it would hold every input of SK.")
	p.value("IK_A", a.ik.Public[:], "Alice's identity key.")
	p.value("EK_A", x.ek.Public[:], "Her ephemeral key (libsignal's base key), fresh for this agreement.")
	for i, dh := range tr.DH {
		p.value(fmt.Sprintf("DH%d", i+1), dh[:], dhPurpose[i])
	}
	ct := tr.Secrets.KyberCiphertext.Bytes()
	p.long("CT", ct, fmt.Sprintf("(CT, SS) = PQKEM-ENC(PQOPK_B): Kyber1024 encapsulation of 32 random bytes, %d bytes with 0x%02x.", len(ct), ct[0]))
	p.value("SS", tr.KEM[:], "The KEM shared secret: only PQOPK_B.priv recovers it from CT.")
	p.line("  SK = HKDF-SHA256(salt = 32 zero bytes, ikm = F || DH1 || DH2 || DH3 || DH4 || SS,")
	p.line("                   info = \"WhisperText_X25519_SHA-256_CRYSTALS-KYBER-1024\"), F = 32 bytes of 0xFF;")
	p.line("  libsignal takes 96 bytes and splits them in three:")
	s := &tr.Secrets
	p.value("SK", slices.Concat(s.RootKey[:], s.ChainKey[:], s.PQRKey[:]), "")
	p.value("RK0", s.RootKey[:], "SK bytes 0-31: the first root key of the Double Ratchet.")
	p.value("CK0", s.ChainKey[:], "SK bytes 32-63: Bob's first sending chain key, on B0 = SPK_B.")
	p.value("PQR", s.PQRKey[:], "SK bytes 64-95: the PQR key, SPQR's first key (its auth key).")
	again := recomputeSK(tr.DH, tr.KEM)
	p.check("x3dh.KDFPQXDH(F || DH1 || DH2 || DH3 || DH4 || SS) gives this SK: %s", yesNo(sameSK(&again, s)))
	return nil
}

// recomputeSK is PQXDH's KDF over F || DH1 || .. || DHn || SS, without SS
// when ss is nil (what the future attacker can compute).
func recomputeSK(dhs [][identity.SharedSecretSize]byte, ss *kem.SharedSecret) x3dh.Secrets {
	km := slices.Clone(pqxdhF[:])
	for _, dh := range dhs {
		km = append(km, dh[:]...)
	}
	if ss != nil {
		km = append(km, ss[:]...)
	}
	return x3dh.KDFPQXDH(km)
}

// sameSK compares the three keys of two agreements.
func sameSK(a, b *x3dh.Secrets) bool {
	return a.RootKey == b.RootKey && a.ChainKey == b.ChainKey && a.PQRKey == b.PQRKey
}

func printPQResponder(p *printer, r *pqRun) error {
	x := &r.c.x
	at, bt := &x.aliceTrace, &x.bobTrace
	p.heading("Bob decapsulates CT and computes the same SK (PQXDH section 3.4)")
	p.check("Bob's DH1..DH4, from his private keys and IK_A, EK_A, equal Alice's: %s", yesNo(slices.Equal(at.DH, bt.DH)))
	ss := x.kyber.KeyPair.Decapsulate(at.Secrets.KyberCiphertext)
	if bt.KEM == nil || ss != *bt.KEM {
		return fmt.Errorf("lab: internal error: Bob's traced SS is not PQKEM-DEC(PQOPK_B, CT)")
	}
	p.value("SS", bt.KEM[:], fmt.Sprintf("PQKEM-DEC(PQOPK_B.priv, CT); equals Alice's SS: %s.", yesNo(*bt.KEM == *at.KEM)))
	p.check("Bob's RK0, CK0 and PQR equal Alice's: %s", yesNo(sameSK(&at.Secrets, &bt.Secrets)))
	p.line("  Bob deletes OPK_B.priv and PQOPK_B.priv: nobody, Bob included, can compute DH4 or SS again.")
	return nil
}

func printPQStart(p *printer, r *pqRun) error {
	c := r.c
	a0, b0 := c.aliceStart.PQ, r.msgs[0].r.dec.pq
	p.heading("Both start the Double Ratchet and SPQR (Double Ratchet section 3.3; ML-KEM Braid)")
	p.line("  The Double Ratchet starts as in blindpost lab x3dh: RK0 and CK0 above, Alice's A1, Bob's B0 = SPK_B.")
	p.line("  SPQR starts from PQR: Alice (direction A2B) in the send_ek role, phase %s: she will send an", a0.Phase())
	p.line("  ML-KEM-768 encapsulation key. Bob (B2A) in the send_ct role, phase %s: he will encapsulate", b0.before)
	p.line("  to it. Both require SPQR (spqr.V1): every message key takes an SPQR key from m1 on.")
	pqr := c.x.aliceTrace.Secrets.PQRKey
	root, ab, ba := spqr.KDFChainStart(pqr)
	ch := c.pq
	if root != ch.roots[0] || ab != ch.chains[pqPos{0, spqr.AToB, 0}] || ba != ch.chains[pqPos{0, spqr.BToA, 0}] {
		return fmt.Errorf("lab: internal error: SPQR chain start")
	}
	p.line("  The SPQR chain of epoch 0: HKDF-SHA256(salt = 32 zero bytes, ikm = PQR,")
	p.line("  info = \"Signal PQ Ratchet V1 Chain  Start\") -> 96 bytes:")
	p.value("pqroot0", root[:], "Bytes 0-31: the salt that chains epoch 1 to this one.")
	p.value(pqChainName(0, spqr.AToB, 0), ab[:], "Bytes 32-63: the chain of Alice's (A-to-B) SPQR keys in epoch 0.")
	p.value(pqChainName(0, spqr.BToA, 0), ba[:], "Bytes 64-95: the chain of Bob's (B-to-A) SPQR keys in epoch 0.")
	return nil
}

func printPQFirst(p *printer, r *pqRun) error {
	m := r.msgs[0]
	s, e := m.s, m.s.enc
	pq := e.pq
	in, err := spqr.Describe(e.msg.PQRatchet)
	if err != nil {
		return fmt.Errorf("lab: internal error: %w", err)
	}
	k := e.msg.RatchetKey
	p.heading("Alice sends m1: the pq_ratchet field and the salted message keys")
	p.field("plaintext", fmt.Sprintf("%q", s.plaintext), "")
	p.value("pq_ratchet", e.msg.PQRatchet, fmt.Sprintf("SignalMessage field 5 (%d bytes), covered by the message MAC. spqr.Describe reads:", len(e.msg.PQRatchet)))
	p.field("version", fmt.Sprintf("0x%02x", e.msg.PQRatchet[0]), "SPQR version 1: the ML-KEM Braid over ML-KEM-768.")
	p.field("epoch", fmt.Sprintf("%d", in.Epoch), fmt.Sprintf("Alice's braid epoch; the key comes from the SPQR chain of epoch %d.", in.Epoch-1))
	p.field("index", fmt.Sprintf("%d", in.Index), "The key's index in Alice's SPQR chain of that epoch.")
	p.field("type", fmt.Sprintf("%d (%s)", in.Type, in.Type), fmt.Sprintf("A chunk of the %s: ML-KEM-768 rho || H(ek) (64 bytes) and its MAC (32).", in.Data))
	p.field("chunk index", fmt.Sprintf("%d", in.ChunkIndex), fmt.Sprintf("Chunk %d of the %d that rebuild the %d bytes.", in.ChunkIndex, in.DataSize/spqr.ChunkSize, in.DataSize))
	p.value("chunk", in.Chunk[:], "32 bytes of the erasure-coded data.")
	p.line("  SPQR phase: %s -> %s: Alice sampled an ML-KEM-768 key pair for this message.", pq.before, pq.after)
	t := &pq.trace
	d := r.dir(s)
	p.value(pqKeyName(t.KeyEpoch, d, t.KeyIndex), pq.key[:], fmt.Sprintf("HKDF(zero salt, %s, BE32(%d) || \"Signal PQ Ratchet V1 Chain Next\"), bytes 32-63.", pqChainName(t.KeyEpoch, d, t.KeyIndex-1), t.KeyIndex))
	p.value(r.c.names.mk(k, e.ck.Index), e.seed[:], "KDF_CK(CK(A1,0)), as in version 3: the Double Ratchet's message key.")
	p.line("  Version 4 salts its expansion with the SPQR key:")
	p.line("  HKDF-SHA256(salt = %s, ikm = mk, info = \"WhisperMessageKeys\") -> 80 bytes:", r.keyName(s))
	printMessageKeys(p, e.keys.CipherKey[:], e.keys.MACKey[:], e.keys.IV[:])
	plain := ratchet.DeriveMessageKeys(e.seed, nil)
	p.value("unsalted", plain.CipherKey[:], "The cipher key without the salt, as a version-3 session derives it: another key.")
	p.check("the salted keys verify m1's MAC: %s; the unsalted ones fail it: %s",
		yesNo(macVerifies(&e.keys, e.msg, r.c.alice.ik.Public, r.c.bob.ik.Public)),
		yesNo(!macVerifies(&plain, e.msg, r.c.alice.ik.Public, r.c.bob.ik.Public)))
	pk := s.prekey
	p.line("  Until Bob answers, Alice's messages travel in a PreKeySignalMessage:")
	p.field("version", fmt.Sprintf("0x%02x", pk.Version), "The PreKeySignalMessage of a version-4 session.")
	p.field("Kyber id", fmt.Sprintf("%d", pk.KyberPreKeyID), "Which Kyber prekey Alice encapsulated to.")
	p.long("Kyber CT", pk.KyberCiphertext, "CT, in clear: Bob needs it to decapsulate SS.")
	p.field("bytes", fmt.Sprintf("%d", len(s.bytes)), fmt.Sprintf("What the relay carries for m1 (type %d): CT is most of it.", s.typ))
	d2 := m.r.dec
	p.check("Bob reads m1 (%q); his SPQR key for it equals Alice's: %s", d2.plaintext, yesNo(d2.pq.key != nil && *d2.pq.key == *pq.key))
	return nil
}

// printPQTable prints each message's SPQR data, with a note where the
// braid changes phase, and long runs of alike messages summarised.
func printPQTable(p *printer, r *pqRun) error {
	p.heading("SPQR at work: one chunk per message (ML-KEM Braid)")
	p.line("  Each message carries at most one 32-byte chunk; any n distinct chunks rebuild n x 32 bytes")
	p.line("  (a Reed-Solomon erasure code over GF(2^16)): header || MAC %d bytes = %d chunks, key vector %d = %d,",
		spqr.HeaderDataSize, spqr.HeaderDataSize/spqr.ChunkSize, spqr.KeyVectorDataSize, spqr.KeyVectorDataSize/spqr.ChunkSize)
	p.line("  ct1 %d = %d, ct2 || MAC %d = %d. Chunk k/n is chunk k of the n needed; SPQR key pqk(epoch,AB|BA,index).",
		spqr.Ct1DataSize, spqr.Ct1DataSize/spqr.ChunkSize, spqr.Ct2DataSize, spqr.Ct2DataSize/spqr.ChunkSize)
	p.line("  %-4s %-6s %-3s %-4s %-11s %-6s %s", "msg", "from", "ep", "idx", "type", "chunk", "SPQR key")
	var run []pqMessage
	flush := func() {
		if len(run) <= 4 {
			for _, m := range run {
				r.row(p, m)
			}
			run = nil
			return
		}
		r.row(p, run[0])
		r.row(p, run[1])
		r.summary(p, run[2:len(run)-1])
		r.row(p, run[len(run)-1])
		run = nil
	}
	for _, m := range r.msgs {
		notes := r.notes(m)
		if len(notes) == 0 {
			run = append(run, m)
			continue
		}
		flush()
		r.row(p, m)
		for _, n := range notes {
			p.line("%s%s", noteIndent, n)
		}
	}
	flush()
	p.check("each of the %d messages: the replayed SPQR calls left the states the ratchet left, and every", len(r.msgs))
	p.line("         SPQR key equals the lab's own KDFChainStart / KDFChainNext / KDFChainAddEpoch: yes")
	p.check("the receiver's SPQR key equals the sender's, and the salted keys verify the MAC: %s (%d of %d)",
		yesNo(r.agreed() == len(r.msgs)), r.agreed(), len(r.msgs))
	return nil
}

const noteIndent = "                "

// agreed counts the messages whose SPQR key both sides share.
func (r *pqRun) agreed() int {
	n := 0
	for _, m := range r.msgs {
		a, b := m.s.enc.pq.key, m.r.dec.pq.key
		if a != nil && b != nil && *a == *b {
			n++
		}
	}
	return n
}

func (r *pqRun) row(p *printer, m pqMessage) {
	t := &m.s.enc.pq.trace
	in := t.Message
	chunk := "-"
	if in.HasChunk {
		chunk = fmt.Sprintf("%d/%d", in.ChunkIndex, in.DataSize/spqr.ChunkSize)
	}
	p.line("  %-4s %-6s %-3d %-4d %-11s %-6s %-13s %s", m.s.label, m.s.from.name, in.Epoch, in.Index, in.Type, chunk,
		r.keyName(m.s), fp(m.s.enc.pq.key[:]))
}

// summary prints one line for a run of alike messages.
func (r *pqRun) summary(p *printer, run []pqMessage) {
	type span struct {
		typ        spqr.MessageType
		first, end uint16
		chunk      bool
	}
	per := map[*party]*span{}
	var order []*party
	for _, m := range run {
		in := m.s.enc.pq.trace.Message
		sp, ok := per[m.s.from]
		if !ok {
			sp = &span{typ: in.Type, first: in.ChunkIndex, chunk: in.HasChunk}
			per[m.s.from] = sp
			order = append(order, m.s.from)
		}
		sp.end = in.ChunkIndex
	}
	desc := ""
	for _, who := range order {
		sp := per[who]
		if desc != "" {
			desc += ", "
		}
		if sp.chunk {
			desc += fmt.Sprintf("%s %s chunks %d..%d", who.name, sp.typ, sp.first, sp.end)
		} else {
			desc += fmt.Sprintf("%s %s", who.name, sp.typ)
		}
	}
	p.line("  ..   %s..%s: %d messages alike: %s", run[0].s.label, run[len(run)-1].s.label, len(run), desc)
}

// notes explains what a message did to the braid, from the phases before
// and after on both sides.
func (r *pqRun) notes(m pqMessage) []string {
	s, d := m.s.enc.pq, m.r.dec.pq
	from, to := m.s.from.name, m.s.to.name
	var out []string
	switch {
	case s.before == "KeysUnsampled":
		out = append(out, fmt.Sprintf("%s samples an ML-KEM-768 key pair; header || MAC goes out in %d chunks.", from, spqr.HeaderDataSize/spqr.ChunkSize))
	case s.before == "HeaderReceived":
		out = append(out, fmt.Sprintf("%s runs Encaps1 on the header alone: K, the epoch %d secret, and ct1 (%d chunks).", from, s.epochBefore, spqr.Ct1DataSize/spqr.ChunkSize))
	}
	switch {
	case d.before == d.after:
	case d.after == "HeaderReceived":
		out = append(out, fmt.Sprintf("%s has the header (%d chunks); its MAC verifies.", to, spqr.HeaderDataSize/spqr.ChunkSize))
	case d.after == "HeaderSent":
		out = append(out, fmt.Sprintf("%s sees ct1 start: no more header; the key vector goes out (%d chunks).", to, spqr.KeyVectorDataSize/spqr.ChunkSize))
	case d.after == "Ct1Received":
		out = append(out, fmt.Sprintf("%s has ct1 (%d chunks): each key vector chunk now acknowledges it.", to, spqr.Ct1DataSize/spqr.ChunkSize))
	case d.after == "Ct1Acknowledged":
		out = append(out, fmt.Sprintf("%s sees the ct1 acknowledgement; waits for the rest of the key vector.", to))
	case d.after == "EkReceivedCt1Sampled":
		out = append(out, fmt.Sprintf("%s has the key vector; waits for the ct1 acknowledgement.", to))
	case d.after == "Ct2Sampled":
		out = append(out, fmt.Sprintf("%s has the key vector (%d chunks), checks it against the header, runs Encaps2: ct2 || MAC (%d chunks).",
			to, spqr.KeyVectorDataSize/spqr.ChunkSize, spqr.Ct2DataSize/spqr.ChunkSize))
	case d.after == "EkSentCt1Received":
		out = append(out, fmt.Sprintf("%s sees ct2 start: no more key vector, only the ct1 acknowledgement.", to))
	case d.trace.Epoch != nil:
		out = append(out, fmt.Sprintf("%s has ct2 || MAC (%d chunks): Decaps gives K, the MAC verifies, epoch %d secret; %s moves to epoch %d.",
			to, spqr.Ct2DataSize/spqr.ChunkSize, d.trace.Epoch.Epoch, to, d.epochAfter))
	case d.epochAfter > d.epochBefore:
		out = append(out, fmt.Sprintf("%s sees epoch %d: the roles swap, %s will send the next encapsulation key.", to, d.epochAfter, to))
	}
	if t := s.trace; t.KeyEpoch > 0 && t.KeyIndex == 1 {
		out = append(out, fmt.Sprintf("First message keyed from SPQR epoch %d (its secret is in the chain).", t.KeyEpoch))
	}
	return out
}

func printPQEpoch(p *printer, r *pqRun) error {
	var send, recv *pqStep
	var sendMsg, recvMsg pqMessage
	for _, m := range r.msgs {
		if e := m.s.enc.pq.trace.Epoch; e != nil && e.Epoch == 1 {
			send, sendMsg = m.s.enc.pq, m
		}
		if e := m.r.dec.pq.trace.Epoch; e != nil && e.Epoch == 1 {
			recv, recvMsg = m.r.dec.pq, m
		}
	}
	if send == nil || recv == nil {
		return fmt.Errorf("lab: internal error: epoch 1 did not complete in %d messages", len(r.msgs))
	}
	es, er := send.trace.Epoch, recv.trace.Epoch
	p.heading("Epoch 1: one secret, computed on both sides (ML-KEM Braid, \"Key derivation\")")
	p.line("  %s, sending %s (%s -> %s): Encaps1 on the header gives K before the key vector arrives.",
		sendMsg.s.from.name, sendMsg.s.label, send.before, send.after)
	p.value("K", es.KEMSecret[:], fmt.Sprintf("%s's ML-KEM-768 shared secret.", sendMsg.s.from.name))
	p.line("  %s, receiving %s (%s -> %s): Decaps(dk, ct1 || ct2) with the key only she ever held.",
		recvMsg.s.to.name, recvMsg.s.label, recv.before, recv.after)
	p.value("K", er.KEMSecret[:], fmt.Sprintf("%s's; equals %s's: %s.", recvMsg.s.to.name, sendMsg.s.from.name, yesNo(er.KEMSecret == es.KEMSecret)))
	sec := spqr.KDFEpochSecret(1, es.KEMSecret)
	p.value("S1", sec[:], "HKDF(zero salt, K, \"Signal_PQCKA_V1_MLKEM768:SCKA Key\" || BE64(1)): the epoch 1 secret.")
	p.check("both sides' epoch 1 secrets equal KDFEpochSecret(1, K): %s", yesNo(sec == es.Secret && sec == er.Secret))
	root, ab, ba := spqr.KDFChainAddEpoch(r.c.pq.roots[0], sec)
	ch := r.c.pq
	if len(ch.roots) < 2 || root != ch.roots[1] || ab != ch.chains[pqPos{1, spqr.AToB, 0}] || ba != ch.chains[pqPos{1, spqr.BToA, 0}] {
		return fmt.Errorf("lab: internal error: SPQR chain of epoch 1")
	}
	p.line("  HKDF-SHA256(salt = pqroot0, ikm = S1, info = \"Signal PQ Ratchet V1 Chain Add Epoch\") -> 96 bytes:")
	p.value("pqroot1", root[:], "The salt of epoch 2's chain.")
	p.value(pqChainName(1, spqr.AToB, 0), ab[:], "Alice's SPQR chain in epoch 1.")
	p.value(pqChainName(1, spqr.BToA, 0), ba[:], "Bob's SPQR chain in epoch 1.")
	for _, m := range r.msgs {
		t := m.s.enc.pq.trace
		if t.KeyEpoch == 1 && t.KeyIndex == 1 {
			p.value(r.keyName(m.s), m.s.enc.pq.key[:], fmt.Sprintf("The SPQR key of %s, %s's first from epoch 1; %s's equals it: %s.",
				m.s.label, m.s.from.name, m.s.to.name, yesNo(*m.r.dec.pq.key == *m.s.enc.pq.key)))
		}
	}
	p.line("  S1 also updates the authenticator, whose key MACs the next epoch's header and ciphertext.")
	p.line("  Each side uses a new epoch's keys only once it knows the other has the secret too: Alice from")
	p.line("  her first epoch-2 message, Bob once it arrived. The roles alternate: in epoch 2 Bob sends an")
	p.line("  encapsulation key and Alice encapsulates. Both steps need no X25519 at all.")
	return nil
}
