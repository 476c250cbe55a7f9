package referee

import (
	"errors"
	"fmt"
)

// The adversarial scenarios: re-delivery, tampering, prekey reuse and a
// changed identity. Each checks that the receiver refuses with the error
// kind PEER.md names and that the conversation goes on afterwards.

func duplicate(r *run, d Direction) error {
	if err := r.establish(d, true); err != nil {
		return err
	}
	a, b := r.initiator, r.responder
	// A type-3 message, then a type-2 message each way.
	for _, dir := range [][2]*party{{a, b}, {b, a}, {a, b}} {
		if err := r.redeliver(dir[0], dir[1]); err != nil {
			return err
		}
	}
	// A skipped message key is used up too.
	ms, err := r.burst(a, b, 3)
	if err != nil {
		return err
	}
	for _, m := range []*message{ms[2], ms[0], ms[1]} {
		if err := r.deliver(m); err != nil {
			return err
		}
	}
	for _, m := range []*message{ms[0], ms[2]} {
		if err := r.reject(m, m.ct, fmt.Sprintf("re-delivered out-of-order type-%d message", m.ct.Type), []string{KindDuplicate}); err != nil {
			return err
		}
	}
	return r.roundTrips(b, a, 2)
}

// redeliver sends a message from p to q, delivers it twice (the second time
// must be a duplicate), then sends and delivers the next one.
func (r *run) redeliver(p, q *party) error {
	m, err := r.send(p, q, r.plaintext(r.rng.IntN(100)))
	if err != nil {
		return err
	}
	if err := r.deliver(m); err != nil {
		return err
	}
	what := fmt.Sprintf("re-delivered type-%d message", m.ct.Type)
	if err := r.reject(m, m.ct, what, []string{KindDuplicate}); err != nil {
		return err
	}
	return r.exchange(p, q, 1)
}

func tamperScenario(r *run, d Direction) error {
	if err := r.establish(d, true); err != nil {
		return err
	}
	a, b := r.initiator, r.responder
	// The first type-3 message: every tamper before the real one, while b
	// knows nothing of a. A receiver that accepts a tampered copy as the
	// real message has that recorded (see tryReject), and the scenario goes
	// on as if the real one had been delivered.
	m, err := r.send(a, b, r.plaintext(64))
	if err != nil {
		return err
	}
	delivered := false
	for _, t := range preKeyTampers(false) {
		if delivered, err = r.tamperWith(m, t); err != nil || delivered {
			break
		}
	}
	if err == nil && !delivered {
		err = r.deliver(m)
	}
	if err != nil {
		return err
	}
	// Later type-3 messages, now that b has the session; then type-2
	// messages both ways, a new chain and an old chain.
	if err := r.tamperEach(a, b, preKeyTampers(true)); err != nil {
		return err
	}
	for _, dir := range [][2]*party{{b, a}, {b, a}, {a, b}, {a, b}, {b, a}} {
		if err := r.tamperEach(dir[0], dir[1], signalTampers()); err != nil {
			return err
		}
	}
	return r.roundTrips(a, b, 2)
}

// tamperWith delivers one tampered copy of m, which must be rejected (see
// tryReject). Tampers that do not apply to m (an absent field) are skipped.
func (r *run) tamperWith(m *message, t tamper) (delivered bool, err error) {
	ct, ok := t.apply(m.ct.Bytes, r.rng)
	if !ok {
		return false, nil
	}
	return r.tryReject(m, Ciphertext{Type: m.ct.Type, Bytes: ct}, "message with flipped "+t.what, t.kinds)
}

// tamperEach sends one fresh message per tamper: the tampered copy is
// delivered first and must be rejected, then the real message must decrypt.
func (r *run) tamperEach(p, q *party, ts []tamper) error {
	for _, t := range ts {
		m, err := r.send(p, q, r.plaintext(1+r.rng.IntN(100)))
		if err != nil {
			return err
		}
		delivered, err := r.tamperWith(m, t)
		if err == nil && !delivered {
			err = r.deliver(m)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func preKeyReuse(r *run, d Direction) error {
	if err := r.startPair(d); err != nil {
		return err
	}
	a, b := r.initiator, r.responder
	bundle, err := r.bundle(b, a, true)
	if err != nil {
		return err
	}
	if err := r.processBundle(a, b, bundle); err != nil {
		return err
	}
	if err := r.exchange(a, b, 1); err != nil {
		return err
	}
	a2, err := r.start(d.Initiator, "carol", RoleInitiator)
	if err != nil {
		return err
	}
	if err := r.processBundle(a2, b, bundle); err != nil {
		return err
	}
	m, err := r.send(a2, b, r.plaintext(32))
	if err != nil {
		return err
	}
	if err := r.reject(m, m.ct, "message using an already used one-time prekey", []string{KindInvalidKeyID}); err != nil {
		return err
	}
	return r.roundTrips(b, a, 3)
}

func identityChange(r *run, d Direction) error {
	if err := r.establish(d, true); err != nil {
		return err
	}
	a, b := r.initiator, r.responder
	if err := r.roundTrips(a, b, 3); err != nil {
		return err
	}
	if err := b.peer.Quit(); err != nil {
		return fail(RoleResponder, solo(b), "%w", err)
	}
	nb, err := r.start(d.Responder, "bob", RoleResponder)
	if err != nil {
		return err
	}
	if string(nb.identity) == string(b.identity) {
		return fail(RoleResponder, solo(nb), "%s: a fresh process reused the old identity key", nb)
	}
	m, err := r.refuseNewIdentity(a, nb)
	if err != nil {
		return err
	}
	if err := a.peer.ApproveIdentity(nb.addr, nb.identity); err != nil {
		return stepError(RoleInitiator, solo(a), fmt.Sprintf("%s: approve_identity of %s", a, nb), err)
	}
	if err := r.deliver(m); err != nil {
		return err
	}
	return r.roundTrips(a, nb, 3)
}

// refuseNewIdentity checks that a refuses nb's new identity both ways: when
// processing nb's bundle, and when a message from nb arrives. It returns
// that message, undelivered.
func (r *run) refuseNewIdentity(a, nb *party) (*message, error) {
	bundle, err := r.bundle(nb, a, true)
	if err != nil {
		return nil, err
	}
	impls := between(RoleInitiator, a, RoleResponder, nb)
	if err := r.expectKind(a.peer.ProcessBundle(nb.addr, bundle), RoleInitiator, impls,
		fmt.Sprintf("%s: process_bundle of %s with a new identity", a, nb), KindUntrustedIdentity); err != nil {
		return nil, err
	}
	ab, err := r.bundle(a, nb, true)
	if err != nil {
		return nil, err
	}
	if err := r.processBundle(nb, a, ab); err != nil {
		return nil, err
	}
	m, err := r.send(nb, a, r.plaintext(48))
	if err != nil {
		return nil, err
	}
	return m, r.reject(m, m.ct, "message from a new identity", []string{KindUntrustedIdentity})
}

// expectKind requires err to be a peer error of kind want.
func (r *run) expectKind(err error, role Role, impls map[Role]string, what, want string) error {
	var pe *PeerError
	switch {
	case err == nil:
		return fail(role, impls, "%s succeeded, want %s", what, want)
	case !errors.As(err, &pe):
		return fail(role, impls, "%s: %w", what, err)
	case pe.Kind != want:
		return fail(role, impls, "%s: got %s, want %s (%s)", what, pe.Kind, want, pe.Message)
	}
	return nil
}
