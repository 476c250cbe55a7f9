package referee

import (
	"errors"
	"fmt"
)

// Scenario is one conversation the referee drives between an initiator and
// a responder.
type Scenario struct {
	Name    string
	Summary string
	run     func(r *run, d Direction) error
}

// Scenario names.
const (
	ScenarioAlternating     = "alternating"
	ScenarioNoOneTimePreKey = "no_one_time_prekey"
	ScenarioOutOfOrder      = "out_of_order"
	ScenarioLossy           = "lossy"
	ScenarioDuplicate       = "duplicate"
	ScenarioTamper          = "tamper"
	ScenarioPreKeyReuse     = "prekey_reuse"
	ScenarioSimultaneous    = "simultaneous_initiation"
	ScenarioFingerprint     = "fingerprint"
	ScenarioIdentityChange  = "identity_change"
)

// Sizes of the scenarios: moderate, so that all pairings fit in CI on two cores.
const (
	alternatingMessages = 300
	maxPlaintext        = 65536
	// In v4 the alternating scenario runs long enough for SPQR to rotate
	// its ML-KEM key many times. With strictly alternating messages an
	// epoch takes 87 messages with libsignal 0.103.0 (the 1152-byte key
	// vector travels as 36 chunks of 32 bytes, one per message, then the
	// two ciphertext halves come back), so 2,400 messages reach epoch 28:
	// 27 epochs crossed. A run in which both sides speak SPQR fails below
	// minEpochsCrossed.
	alternatingMessagesV4 = 2400
	minEpochsCrossed      = 20
	outOfOrderBurst       = 20
	outOfOrderRounds      = 3
	spanningBurst         = 5
	simultaneousRounds    = 10
	// The lossy scenario: bursts of 1 to lossyMaxBurst messages, each
	// dropped with probability 1/lossyDropOneIn. In v3, and in v4 when a
	// side has no SPQR, it runs lossyRounds bursts; when both sides speak
	// SPQR it runs until lossyEpochs are crossed, or fails after
	// lossyMaxMessages. An epoch takes about 120 messages, both ways
	// together, at this loss with libsignal 0.103.0 and blindpost.
	lossyMaxBurst    = 8
	lossyDropOneIn   = 5
	lossyRounds      = 40
	lossyEpochs      = 20
	lossyMaxMessages = 6000
)

// Scenarios lists every scenario, in the order they are run.
func Scenarios() []Scenario {
	return []Scenario{
		{ScenarioAlternating, "300 strictly alternating messages of random length, empty and 64 KiB included; in v4 2,400, crossing at least 20 SPQR epochs when both sides speak SPQR", alternating},
		{ScenarioNoOneTimePreKey, "a session from a bundle without one-time prekey, short exchange both ways", noOneTimePreKey},
		{ScenarioOutOfOrder, "shuffled bursts both ways, and a burst spanning a DH ratchet step", outOfOrder},
		{ScenarioLossy, "bursts both ways with one message in five dropped and the rest shuffled; in v4 until SPQR crosses 20 epochs when both sides speak it, its chunks lost and reordered", lossy},
		{ScenarioDuplicate, "re-delivered type-3 and type-2 messages are duplicates; the next message decrypts", duplicate},
		{ScenarioTamper, "one-bit flips in authenticated bytes are invalid_message; the real message still decrypts", tamperScenario},
		{ScenarioPreKeyReuse, "a second initiator using the same one-time prekey gets invalid_key_id", preKeyReuse},
		{ScenarioSimultaneous, "both sides initiate before receiving anything, then keep talking", simultaneous},
		{ScenarioFingerprint, "both sides show the same safety number, equal to the one computed here", fingerprintScenario},
		{ScenarioIdentityChange, "a re-installed responder is refused until its new identity is approved", identityChange},
	}
}

// LookupScenario finds a scenario by name.
func LookupScenario(name string) (Scenario, bool) {
	for _, s := range Scenarios() {
		if s.Name == name {
			return s, true
		}
	}
	return Scenario{}, false
}

// alternatingLength picks the plaintext length of message i: fixed edge
// cases first (empty both ways, 64 KiB both ways), then mostly short
// messages with the odd long one.
func (r *run) alternatingLength(i int) int {
	switch {
	case i == 1 || i == 2 || i%97 == 0:
		return 0
	case i == 3 || i == 4 || i%101 == 0:
		return maxPlaintext
	}
	switch p := r.rng.IntN(100); {
	case p < 70:
		return r.rng.IntN(256)
	case p < 95:
		return 256 + r.rng.IntN(4096-256)
	default:
		return 4096 + r.rng.IntN(maxPlaintext-4096+1)
	}
}

func alternating(r *run, d Direction) error {
	if err := r.establish(d, true); err != nil {
		return err
	}
	a, b := r.initiator, r.responder
	n := alternatingMessages
	if r.opts.mode() == ModeV4 {
		n = alternatingMessagesV4
	}
	for i := range n {
		from, to := a, b
		if i%2 == 1 {
			from, to = b, a
		}
		m, err := r.send(from, to, r.plaintext(r.alternatingLength(i)))
		if err != nil {
			return err
		}
		if err := r.deliver(m); err != nil {
			return err
		}
		if i == 0 {
			if err := r.expectSession(b, a); err != nil {
				return err
			}
		}
	}
	return r.expectEpochs(minEpochsCrossed)
}

// expectEpochs requires a run in which both sides sent SPQR data to have
// crossed at least min epochs. Which side lags cannot be told from the
// wire, so the failure names both.
func (r *run) expectEpochs(want int) error {
	if !SpeakSPQR(r.fromInitiator, r.fromResponder) {
		return nil
	}
	if n := EpochsCrossed(r.fromInitiator, r.fromResponder); n < want {
		return fmt.Errorf("SPQR crossed %d epochs in %d messages, want at least %d (initiator %s sent %s; responder %s sent %s)",
			n, r.messages, want, r.initiator, r.fromInitiator, r.responder, r.fromResponder)
	}
	return nil
}

func noOneTimePreKey(r *run, d Direction) error {
	if err := r.establish(d, false); err != nil {
		return err
	}
	a, b := r.initiator, r.responder
	for _, step := range []struct {
		from, to *party
		n        int
	}{{a, b, 3}, {b, a, 3}, {a, b, 3}, {b, a, 3}} {
		if err := r.exchange(step.from, step.to, step.n); err != nil {
			return err
		}
	}
	return nil
}

func outOfOrder(r *run, d Direction) error {
	if err := r.establish(d, true); err != nil {
		return err
	}
	a, b := r.initiator, r.responder
	for range outOfOrderRounds {
		for _, dir := range [][2]*party{{a, b}, {b, a}} {
			ms, err := r.burst(dir[0], dir[1], outOfOrderBurst)
			if err != nil {
				return err
			}
			if err := r.deliverAll(r.shuffled(ms)); err != nil {
				return err
			}
		}
	}
	if err := r.spanRatchetStep(a, b); err != nil {
		return err
	}
	if err := r.spanRatchetStep(b, a); err != nil {
		return err
	}
	return r.roundTrips(a, b, 2)
}

// lossy is a conversation over a network that loses and reorders: each
// side in turn sends a burst, of which the referee drops about one message
// in five and delivers the rest shuffled. A burst always delivers at least
// one message, so that the other side hears from its peer; the dropped ones
// are never delivered. When both sides speak SPQR its chunks are lost and
// reordered too, so the receiver must rebuild the key and ciphertexts
// from whichever chunks arrive (the erasure code), and message keys of an
// epoch the receiver has left must still be found.
func lossy(r *run, d Direction) error {
	if err := r.establish(d, true); err != nil {
		return err
	}
	a, b := r.initiator, r.responder
	for round := 0; ; round++ {
		// Both sides have sent once after two rounds, and have shown by
		// then whether they speak SPQR (SpeakSPQR only ever turns true).
		if round >= 2 && SpeakSPQR(r.fromInitiator, r.fromResponder) {
			if EpochsCrossed(r.fromInitiator, r.fromResponder) >= lossyEpochs {
				break
			}
			if r.messages >= lossyMaxMessages {
				return r.expectEpochs(lossyEpochs)
			}
		} else if round == lossyRounds {
			break
		}
		from, to := a, b
		if round%2 == 1 {
			from, to = b, a
		}
		ms, err := r.burst(from, to, 1+r.rng.IntN(lossyMaxBurst))
		if err != nil {
			return err
		}
		if err := r.deliverAll(r.shuffled(r.dropSome(ms))); err != nil {
			return err
		}
	}
	return r.roundTrips(a, b, 2)
}

// dropSome drops each of ms with probability 1/lossyDropOneIn, keeping at
// least one, and returns the rest in their order.
func (r *run) dropSome(ms []*message) []*message {
	kept := make([]*message, 0, len(ms))
	for _, m := range ms {
		if r.rng.IntN(lossyDropOneIn) != 0 {
			kept = append(kept, m)
		}
	}
	if len(kept) == 0 {
		kept = append(kept, ms[r.rng.IntN(len(ms))])
	}
	return kept
}

// spanRatchetStep makes p send a burst on its current chain, of which q
// receives only the first; q answers, so p steps its DH ratchet and sends a
// burst on a new chain. q receives the whole new chain (shuffled) before the
// rest of the old one (shuffled).
func (r *run) spanRatchetStep(p, q *party) error {
	old, err := r.burst(p, q, spanningBurst)
	if err != nil {
		return err
	}
	if err := r.deliver(old[0]); err != nil {
		return err
	}
	if err := r.exchange(q, p, 1); err != nil {
		return err
	}
	next, err := r.burst(p, q, spanningBurst)
	if err != nil {
		return err
	}
	if err := r.deliverAll(r.shuffled(next)); err != nil {
		return err
	}
	return r.deliverAll(r.shuffled(old[1:]))
}

func simultaneous(r *run, d Direction) error {
	if err := r.startPair(d); err != nil {
		return err
	}
	a, b := r.initiator, r.responder
	ba, err := r.bundle(a, b, true)
	if err != nil {
		return err
	}
	bb, err := r.bundle(b, a, true)
	if err != nil {
		return err
	}
	if err := r.processBundle(a, b, bb); err != nil {
		return err
	}
	if err := r.processBundle(b, a, ba); err != nil {
		return err
	}
	ma, err := r.send(a, b, r.plaintext(40))
	if err != nil {
		return err
	}
	mb, err := r.send(b, a, r.plaintext(40))
	if err != nil {
		return err
	}
	if err := r.deliverAll([]*message{ma, mb}); err != nil {
		return err
	}
	if err := r.roundTrips(a, b, simultaneousRounds); err != nil {
		return err
	}
	if err := r.exchange(a, b, 3); err != nil {
		return err
	}
	return r.exchange(b, a, 3)
}

func fingerprintScenario(r *run, d Direction) error {
	if err := r.startPair(d); err != nil {
		return err
	}
	a, b := r.initiator, r.responder
	if err := r.expectNoFingerprint(a, b); err != nil {
		return err
	}
	bundle, err := r.bundle(b, a, true)
	if err != nil {
		return err
	}
	if err := r.processBundle(a, b, bundle); err != nil {
		return err
	}
	if err := r.roundTrips(a, b, 1); err != nil {
		return err
	}
	fa, err := r.fingerprint(a, b)
	if err != nil {
		return err
	}
	fb, err := r.fingerprint(b, a)
	if err != nil {
		return err
	}
	return crossCheck(a, b, fa, fb)
}

// expectNoFingerprint asks p for a fingerprint of q before p knows q.
func (r *run) expectNoFingerprint(p, q *party) error {
	_, err := p.peer.Fingerprint(p.addr.Name, q.addr.Name, q.addr)
	return r.expectKind(err, p.role, solo(p), fmt.Sprintf("%s: fingerprint of unknown %s", p, q), KindNoSession)
}

// fingerprint asks p for its fingerprint with q and checks it against the
// one computed from both identity keys.
func (r *run) fingerprint(p, q *party) (Fingerprint, error) {
	f, err := p.peer.Fingerprint(p.addr.Name, q.addr.Name, q.addr)
	if err != nil {
		return f, stepError(p.role, solo(p), fmt.Sprintf("%s: fingerprint with %s", p, q), err)
	}
	want := expectFingerprint(p.addr.Name, p.identity, q.addr.Name, q.identity)
	if err := checkFingerprint(f, want); err != nil {
		return f, fail(p.role, solo(p), "%s: fingerprint with %s: %w", p, q, err)
	}
	return f, nil
}

// crossCheck compares both sides' fingerprints with each other. Each was
// checked against the expected value already; this states the property the
// users rely on.
func crossCheck(a, b *party, fa, fb Fingerprint) error {
	impls := map[Role]string{RoleInitiator: a.impl.Name, RoleResponder: b.impl.Name}
	if fa.Displayable != fb.Displayable {
		return fail(RoleResponder, impls, "displayable fingerprints differ: %s shows %s, %s shows %s", a, fa.Displayable, b, fb.Displayable)
	}
	sa, errA := parseScannable(fa.Scannable)
	sb, errB := parseScannable(fb.Scannable)
	if err := errors.Join(errA, errB); err != nil {
		return fail(RoleResponder, impls, "scannable fingerprints: %w", err)
	}
	if string(sa.local) != string(sb.remote) || string(sa.remote) != string(sb.local) {
		return fail(RoleResponder, impls, "scannable fingerprints of %s and %s do not mirror each other", a, b)
	}
	return nil
}
