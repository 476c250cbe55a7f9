package referee

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
)

// Role is the part a peer plays in one step of a scenario.
type Role string

// Roles. A run has an initiator (it processes the other's bundle and sends
// first) and a responder; each message has a sender and a receiver.
const (
	RoleInitiator Role = "initiator"
	RoleResponder Role = "responder"
	RoleSender    Role = "sender"
	RoleReceiver  Role = "receiver"
)

// Failure is a scenario step that went wrong. Role is the part played by the
// peer that misbehaved or reported the error; Impls names the implementation
// behind each role of that step, so that a known defect can be matched on
// either side (a receiver's error may be the sender's defect).
type Failure struct {
	Role  Role
	Impls map[Role]string
	Err   error
}

func (f *Failure) Error() string { return f.Err.Error() }
func (f *Failure) Unwrap() error { return f.Err }

// unsupportedError marks a scenario the peers cannot run: one answered
// `unsupported` to a request the scenario needs.
type unsupportedError struct{ err error }

func (u *unsupportedError) Error() string { return u.err.Error() }
func (u *unsupportedError) Unwrap() error { return u.err }

// party is one peer process taking part in a run.
type party struct {
	impl     Impl
	addr     Address
	role     Role // RoleInitiator or RoleResponder
	identity []byte
	peer     *Peer
}

func (p *party) String() string { return fmt.Sprintf("%s (%s)", p.addr.Name, p.impl.Name) }

// message is one encrypted message and what it should decrypt to.
type message struct {
	from, to  *party
	seq       int // position in the run's sending order, for error messages
	plaintext []byte
	ct        Ciphertext
}

func (m *message) String() string { return fmt.Sprintf("message #%d from %s", m.seq, m.from) }

// pair is an ordered pair of parties: (self, remote).
type pair [2]*party

// run is the state of one scenario run.
type run struct {
	ctx       context.Context
	opts      Options
	rng       *rand.Rand
	bytes     *rand.ChaCha8
	initiator *party
	responder *party
	parties   []*party
	messages  int
	// initiated marks (p, q) once p has processed q's bundle; heard marks it
	// once p has decrypted a message from q. Together they give the message
	// type p must use: 3 until it has heard from q after initiating, else 2.
	initiated map[pair]bool
	heard     map[pair]bool
	// soft collects failures after which the scenario could go on (a
	// tampered message accepted as if it were the real one), so that one
	// defect does not hide the next.
	soft []error
	// fromInitiator and fromResponder record what each side sent.
	fromInitiator, fromResponder Traffic
}

func newRun(ctx context.Context, scenario string, d Direction, opts Options) *run {
	seed := sha256.Sum256(fmt.Appendf(nil, "%d|%s|%s|%s|%s|%s", opts.Seed, opts.mode(), scenario, d.Name, d.Initiator.Name, d.Responder.Name))
	src := rand.NewChaCha8(seed)
	return &run{
		ctx: ctx, opts: opts, rng: rand.New(src), bytes: src,
		initiated: map[pair]bool{}, heard: map[pair]bool{},
	}
}

func (r *run) kyber() bool  { return r.opts.mode() == ModeV4 }
func (r *run) version() int { return r.opts.mode().version() }

// fail builds a Failure of the peer playing role, with impls naming the
// implementation behind each role of the step.
func fail(role Role, impls map[Role]string, format string, args ...any) error {
	return &Failure{Role: role, Impls: impls, Err: fmt.Errorf(format, args...)}
}

// stepError turns a peer's error into a Failure, or into unsupportedError
// when the peer answered `unsupported`.
func stepError(role Role, impls map[Role]string, what string, err error) error {
	var pe *PeerError
	if errors.As(err, &pe) && pe.Kind == KindUnsupported {
		return &unsupportedError{fmt.Errorf("%s: %w", what, err)}
	}
	return &Failure{Role: role, Impls: impls, Err: fmt.Errorf("%s: %w", what, err)}
}

func solo(p *party) map[Role]string { return map[Role]string{p.role: p.impl.Name} }

func between(p Role, pi *party, q Role, qi *party) map[Role]string {
	return map[Role]string{p: pi.impl.Name, q: qi.impl.Name}
}

// start starts a fresh peer process and initializes it with the name of
// party plain ("alice", "bob", "carol"; see Naming), device 1 and a random
// registration id.
func (r *run) start(impl Impl, plain string, role Role) (*party, error) {
	name := partyName(r.opts.naming(), plain)
	p := &party{impl: impl, addr: Address{Name: name, DeviceID: 1}, role: role}
	peer, err := StartPeer(r.ctx, impl, p.String(), r.opts.Timeout)
	if err != nil {
		return nil, fail(role, solo(p), "%w", err)
	}
	p.peer = peer
	r.parties = append(r.parties, p)
	if p.identity, err = peer.Init(name, p.addr.DeviceID, 1+r.rng.IntN(16380)); err != nil {
		return nil, stepError(role, solo(p), p.String()+": init", err)
	}
	if len(p.identity) != 33 || p.identity[0] != 0x05 {
		return nil, fail(role, solo(p), "%s: init returned a %d-byte identity key, want 0x05 and 32 bytes", p, len(p.identity))
	}
	return p, nil
}

// startPair starts the run's initiator ("alice") and responder ("bob").
func (r *run) startPair(d Direction) error {
	var err error
	if r.initiator, err = r.start(d.Initiator, "alice", RoleInitiator); err != nil {
		return err
	}
	r.responder, err = r.start(d.Responder, "bob", RoleResponder)
	return err
}

// finish ends every process. After a passing scenario a peer must quit
// cleanly; after a failure they are simply killed.
func (r *run) finish(scenarioErr error) error {
	var errs []error
	for _, p := range r.parties {
		if scenarioErr != nil {
			p.peer.Kill()
			continue
		}
		if err := p.peer.Quit(); err != nil {
			errs = append(errs, fail(p.role, solo(p), "%w", err))
		}
		p.peer.Kill()
	}
	return errors.Join(errs...)
}

// bundle asks owner for a bundle meant for p and checks it against the
// request and owner's identity.
func (r *run) bundle(owner, p *party, oneTimePreKey bool) (*Bundle, error) {
	impls := between(RoleResponder, owner, RoleInitiator, p)
	b, err := owner.peer.Bundle(oneTimePreKey, r.kyber())
	if err != nil {
		return nil, stepError(RoleResponder, impls, owner.String()+": bundle", err)
	}
	if err := checkBundle(b, owner, oneTimePreKey, r.kyber()); err != nil {
		return nil, fail(RoleResponder, impls, "%s: bundle: %w", owner, err)
	}
	return b, nil
}

func checkBundle(b *Bundle, owner *party, oneTimePreKey, kyber bool) error {
	switch {
	case !bytes.Equal(b.IdentityKey, owner.identity):
		return errors.New("identity_key differs from the one init returned")
	case b.DeviceID != owner.addr.DeviceID:
		return fmt.Errorf("device_id %d, want %d", b.DeviceID, owner.addr.DeviceID)
	case len(b.SignedPreKey) != 33 || len(b.SignedPreKeySignature) != 64:
		return fmt.Errorf("signed prekey of %d bytes with a %d-byte signature, want 33 and 64", len(b.SignedPreKey), len(b.SignedPreKeySignature))
	case oneTimePreKey != (b.PreKeyID != nil && len(b.PreKey) == 33):
		return fmt.Errorf("asked one_time_prekey=%v, got prekey_id=%v with a %d-byte prekey", oneTimePreKey, b.PreKeyID != nil, len(b.PreKey))
	case kyber != (b.KyberPreKeyID != nil && len(b.KyberPreKey) == 1569 && len(b.KyberPreKeySignature) == 64):
		return fmt.Errorf("asked kyber=%v, got kyber_prekey_id=%v with a %d-byte key", kyber, b.KyberPreKeyID != nil, len(b.KyberPreKey))
	}
	return nil
}

// processBundle makes p start a session with owner from b.
func (r *run) processBundle(p, owner *party, b *Bundle) error {
	impls := between(RoleInitiator, p, RoleResponder, owner)
	if err := p.peer.ProcessBundle(owner.addr, b); err != nil {
		return stepError(RoleInitiator, impls, fmt.Sprintf("%s: process_bundle of %s", p, owner), err)
	}
	r.initiated[pair{p, owner}] = true
	r.heard[pair{p, owner}] = false
	return r.expectSession(p, owner)
}

// expectSession checks that p reports a session with q of the run's version.
func (r *run) expectSession(p, q *party) error {
	s, err := p.peer.Session(q.addr)
	if err != nil {
		return stepError(p.role, solo(p), fmt.Sprintf("%s: session with %s", p, q), err)
	}
	if !s.Exists || s.Version != r.version() {
		return fail(p.role, solo(p), "%s: session with %s: exists=%v version=%d, want a version %d session", p, q, s.Exists, s.Version, r.version())
	}
	return nil
}

// establish starts the pair and has the initiator process the responder's
// bundle (with a one-time prekey unless told otherwise).
func (r *run) establish(d Direction, oneTimePreKey bool) error {
	if err := r.startPair(d); err != nil {
		return err
	}
	b, err := r.bundle(r.responder, r.initiator, oneTimePreKey)
	if err != nil {
		return err
	}
	return r.processBundle(r.initiator, r.responder, b)
}

// plaintext returns n random bytes.
func (r *run) plaintext(n int) []byte {
	b := make([]byte, n)
	// ChaCha8.Read never fails.
	_, _ = r.bytes.Read(b)
	return b
}

// send has from encrypt plaintext for to and checks the message's type and
// version byte.
func (r *run) send(from, to *party, plaintext []byte) (*message, error) {
	impls := between(RoleSender, from, RoleReceiver, to)
	r.messages++
	m := &message{from: from, to: to, seq: r.messages, plaintext: plaintext}
	ct, err := from.peer.Encrypt(to.addr, plaintext)
	if err != nil {
		return nil, stepError(RoleSender, impls, fmt.Sprintf("%s: encrypt message #%d for %s", from, m.seq, to), err)
	}
	m.ct = ct
	want := TypeSignal
	if r.initiated[pair{from, to}] && !r.heard[pair{from, to}] {
		want = TypePreKey
	}
	if ct.Type != want {
		return nil, fail(RoleSender, impls, "%s: message #%d for %s has type %d, want %d", from, m.seq, to, ct.Type, want)
	}
	if v := messageVersion(ct.Bytes); v != r.version() {
		return nil, fail(RoleSender, impls, "%s: message #%d has version byte %#02x, want high nibble %d", from, m.seq, ct.Bytes[0], r.version())
	}
	if err := r.observe(m); err != nil {
		return nil, err
	}
	return m, nil
}

// deliver hands m to its receiver and checks the plaintext byte for byte.
func (r *run) deliver(m *message) error {
	impls := between(RoleSender, m.from, RoleReceiver, m.to)
	pt, err := m.to.peer.Decrypt(m.from.addr, m.ct)
	if err != nil {
		return stepError(RoleReceiver, impls, fmt.Sprintf("%s: decrypt %s (type %d, %d-byte plaintext)", m.to, m, m.ct.Type, len(m.plaintext)), err)
	}
	if !bytes.Equal(pt, m.plaintext) {
		return fail(RoleReceiver, impls, "%s: %s decrypted to %d bytes that differ from the %d-byte plaintext", m.to, m, len(pt), len(m.plaintext))
	}
	r.heard[pair{m.to, m.from}] = true
	return nil
}

// exchange sends n messages from one party to the other, delivering each
// at once.
func (r *run) exchange(from, to *party, n int) error {
	for range n {
		m, err := r.send(from, to, r.plaintext(r.rng.IntN(200)))
		if err != nil {
			return err
		}
		if err := r.deliver(m); err != nil {
			return err
		}
	}
	return nil
}

// roundTrips has p and q exchange n round trips, p first.
func (r *run) roundTrips(p, q *party, n int) error {
	for range n {
		if err := r.exchange(p, q, 1); err != nil {
			return err
		}
		if err := r.exchange(q, p, 1); err != nil {
			return err
		}
	}
	return nil
}

// reject delivers ct in place of m and requires the receiver to refuse it
// with one of kinds.
func (r *run) reject(m *message, ct Ciphertext, what string, kinds []string) error {
	accepted, err := r.tryReject(m, ct, what, kinds)
	if err == nil && accepted {
		err = fail(RoleReceiver, between(RoleSender, m.from, RoleReceiver, m.to), "%s: accepted %s (%s)", m.to, what, m)
	}
	return err
}

// tryReject delivers ct in place of m, which the receiver should refuse with
// one of kinds. A refusal of another kind is recorded as a soft failure. If
// the receiver accepts ct and it decrypts to m's plaintext, that is recorded
// too, m counts as delivered and accepted is true. Anything else is fatal.
func (r *run) tryReject(m *message, ct Ciphertext, what string, kinds []string) (accepted bool, err error) {
	impls := between(RoleSender, m.from, RoleReceiver, m.to)
	pt, err := m.to.peer.Decrypt(m.from.addr, ct)
	var pe *PeerError
	switch {
	case err == nil && !bytes.Equal(pt, m.plaintext):
		return true, fail(RoleReceiver, impls, "%s: accepted %s (%s) and decrypted it to other bytes", m.to, what, m)
	case err == nil:
		r.heard[pair{m.to, m.from}] = true
		r.soft = append(r.soft, fail(RoleReceiver, impls, "%s: accepted %s (%s)", m.to, what, m))
		return true, nil
	case !errors.As(err, &pe):
		return false, fail(RoleReceiver, impls, "%s: %s: %w", m.to, what, err)
	case !slices.Contains(kinds, pe.Kind):
		r.soft = append(r.soft, fail(RoleReceiver, impls, "%s: rejected %s (%s) as %s, want %s (%s)",
			m.to, what, m, pe.Kind, strings.Join(kinds, " or "), pe.Message))
	}
	return false, nil
}

// burst sends n messages from one party and returns them undelivered.
func (r *run) burst(from, to *party, n int) ([]*message, error) {
	ms := make([]*message, 0, n)
	for range n {
		m, err := r.send(from, to, r.plaintext(r.rng.IntN(300)))
		if err != nil {
			return nil, err
		}
		ms = append(ms, m)
	}
	return ms, nil
}

// deliverAll delivers ms in the given order.
func (r *run) deliverAll(ms []*message) error {
	for _, m := range ms {
		if err := r.deliver(m); err != nil {
			return err
		}
	}
	return nil
}

// shuffled returns ms in a random order.
func (r *run) shuffled(ms []*message) []*message {
	out := slices.Clone(ms)
	r.rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}
