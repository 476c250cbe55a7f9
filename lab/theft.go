package lab

import (
	"errors"
	"fmt"
	"io"

	"github.com/blindpost/blindpost/identity"
	"github.com/blindpost/blindpost/ratchet"
)

// theftScript is the conversation of the forward-secrecy and
// post-compromise labs: twelve messages, each delivered at once, with
// bursts from both sides so that several DH ratchet steps happen.
var theftScript = []struct {
	alice bool
	text  string
}{
	{true, "Hi Bob, it's Alice."},
	{true, "Is the draft ready?"},
	{false, "Almost. Sending tonight."},
	{false, "The numbers are in section 3."},
	{true, "Great, thanks."},
	{true, "Who else has seen it?"},
	{false, "Only you so far."},
	{true, "Keep it that way."},
	{true, "Call me tomorrow."},
	{false, "Will do."},
	{true, "Talk then."},
	{false, "Bye!"},
}

// TheftMessages is the number of messages of the theft labs; the thief may
// steal after message 1 to TheftMessages-1.
const TheftMessages = 12

// DefaultStealAfter is the theft point when --steal-after is not given.
const DefaultStealAfter = 6

// attempt is the thief's try at one recorded message.
type attempt struct {
	s      *sendEvent
	before bool // sent before the theft
	read   bool
	text   string
	how    string // on success: which stolen key did it
	err    error  // on failure: what Decrypt returned
	why    string // on failure: the key the thief lacks
}

// theft is one run of the theft labs.
type theft struct {
	c      *conversation
	k      int           // the thief copies Bob's state after message k
	msgs   []*sendEvent  // m1..m12
	stolen ratchet.State // Bob's state after message k
	tries  []attempt     // one per message, in order
	// lockout is the index in msgs of the first message on a ratchet key
	// Bob made after the theft, or -1.
	lockout int
}

// runTheft plays the conversation, copies Bob's state after message k
// (ratchet.State is a value: the copy is a plain assignment, deepened by
// Clone), then lets the thief try every recorded message.
func runTheft(seed uint64, k int) (*theft, error) {
	if k < 1 || k >= TheftMessages {
		return nil, fmt.Errorf("lab: steal after message %d: must be between 1 and %d", k, TheftMessages-1)
	}
	c, err := newConversation(seed, true)
	if err != nil {
		return nil, err
	}
	t := &theft{c: c, k: k, lockout: -1}
	for i, line := range theftScript {
		p := c.bob
		if line.alice {
			p = c.alice
		}
		s, _, err := c.exchange(p, fmt.Sprintf("m%d", i+1), line.text)
		if err != nil {
			return nil, err
		}
		t.msgs = append(t.msgs, s)
		if i+1 == k {
			t.stolen = c.bob.state.Clone()
		}
	}
	t.findLockout()
	if err := t.attack(NewStream(seed, "thief")); err != nil {
		return nil, err
	}
	return t, nil
}

// findLockout finds the first message on a ratchet key Bob generated after
// the theft.
func (t *theft) findLockout() {
	known := map[identity.PublicKey]bool{t.stolen.Sender.RatchetKey.Public: true}
	for _, s := range t.msgs[:t.k] {
		if s.from == t.c.bob {
			known[s.enc.msg.RatchetKey] = true
		}
	}
	for i := t.k; i < len(t.msgs); i++ {
		s := t.msgs[i]
		if s.from == t.c.bob && !known[s.enc.msg.RatchetKey] {
			t.lockout = i
			return
		}
	}
}

// attack is the thief at work: with a copy of Bob's state it tries each
// recorded message. Alice's messages go through Decrypt on the thief's
// copy, which it keeps advancing after the theft as Bob would (a passive
// eavesdropper that follows the conversation). Bob's own messages go
// through Decrypt on a mirror of the stolen state: Bob's sending chain
// turned into a receiving chain, as Alice would hold it.
func (t *theft) attack(rand io.Reader) error {
	follow := t.stolen.Clone()
	for i, s := range t.msgs {
		m, _, err := parseMessage(s.typ, s.bytes)
		if err != nil {
			return fmt.Errorf("lab: thief parses %s: %w", s.label, err)
		}
		a := attempt{s: s, before: i < t.k}
		if s.from == t.c.alice {
			base := follow
			if a.before {
				base = t.stolen.Clone()
			}
			next, pt, err := base.Decrypt(m, rand)
			if err == nil {
				a.read, a.text = true, string(pt)
				a.how = t.howAlice(base, m.RatchetKey)
				if !a.before {
					follow = next
					t.c.names.key(next.Sender.RatchetKey.Public, "T")
				}
			} else {
				a.err, a.why = err, t.why(s, err)
			}
		} else {
			mirror := mirrorState(t.stolen)
			if _, pt, err := mirror.Decrypt(m, rand); err == nil {
				a.read, a.text = true, string(pt)
				a.how = fmt.Sprintf("with Bob's sending chain for %s, copied (%s)", t.c.names.keyName(m.RatchetKey), t.c.names.chain(m.RatchetKey, t.stolen.Sender.Chain.Index))
			} else {
				a.err, a.why = err, t.why(s, err)
			}
		}
		t.tries = append(t.tries, a)
	}
	return nil
}

// mirrorState is what the thief builds to read Bob's outgoing messages:
// Bob's state seen from Alice's side, with Bob's sending chain as the only
// receiving chain.
func mirrorState(bob ratchet.State) ratchet.State {
	return ratchet.State{
		Version:        bob.Version,
		LocalIdentity:  bob.RemoteIdentity,
		RemoteIdentity: bob.LocalIdentity,
		Root:           bob.Root,
		Sender:         bob.Sender,
		Receivers: []ratchet.ReceiverChain{{
			RatchetKey: bob.Sender.RatchetKey.Public,
			Chain:      bob.Sender.Chain,
		}},
	}
}

// howAlice says which stolen value decrypted one of Alice's messages.
func (t *theft) howAlice(s ratchet.State, k identity.PublicKey) string {
	n := t.c.names
	if ch, ok := findChain(t.stolen, k); ok {
		return fmt.Sprintf("with the receiving chain for %s copied from Bob (%s)", n.keyName(k), n.chain(k, ch.Chain.Index))
	}
	if _, ok := findChain(s, k); ok {
		return fmt.Sprintf("with the receiving chain for %s it derived itself", n.keyName(k))
	}
	mine := n.keyName(s.Sender.RatchetKey.Public)
	return fmt.Sprintf("by a DH ratchet step of its own: DH(%s, %s), with %s.priv copied from Bob", mine, n.keyName(k), mine)
}

// why explains a failed attempt: the key the thief would need.
func (t *theft) why(s *sendEvent, err error) string {
	n := t.c.names
	k := s.enc.msg.RatchetKey
	if errors.Is(err, ratchet.ErrDuplicate) {
		return fmt.Sprintf("%s was deleted once used, and KDF_CK cannot run backwards.", n.mk(k, s.enc.msg.Counter))
	}
	ours, theirs, ok := t.c.origin(k)
	if !ok {
		return "no key the thief holds authenticates it."
	}
	have := t.thiefHas(ours) || t.thiefHas(theirs)
	switch {
	case !have && t.madeAfterTheft(ours):
		return fmt.Sprintf("Chain %s needs DH(%s, %s): %s was made after the theft; the thief has neither private key.",
			n.keyName(ours), n.keyName(ours), n.keyName(theirs), n.keyName(ours))
	case !have:
		return fmt.Sprintf("Chain %s needs DH(%s, %s): Bob deleted %s.priv before the theft; %s.priv never left Alice.",
			n.keyName(ours), n.keyName(ours), n.keyName(theirs), bobsOf(t.c, ours, theirs), alicesOf(t.c, ours, theirs))
	}
	return fmt.Sprintf("The chain of %s is no longer in the stolen state.", n.keyName(ours))
}

// thiefHas reports whether the stolen state holds k's private key.
func (t *theft) thiefHas(k identity.PublicKey) bool {
	return t.stolen.Sender.RatchetKey.Public == k
}

// madeAfterTheft reports whether ratchet key k first appears in a message
// after the theft, and not in the stolen state.
func (t *theft) madeAfterTheft(k identity.PublicKey) bool {
	if t.thiefHas(k) {
		return false
	}
	for _, s := range t.msgs[:t.k] {
		if s.enc.msg.RatchetKey == k {
			return false
		}
	}
	return true
}

// origin returns the DH that started the sending chain of ratchet key k:
// DH(k, theirs), from RatchetInitAlice or the DH ratchet step that made k.
func (c *conversation) origin(k identity.PublicKey) (ours, theirs identity.PublicKey, ok bool) {
	if k == c.x.init.ours.Public {
		return k, c.x.init.theirs, true
	}
	for _, ev := range c.events {
		if ev.recv != nil && ev.recv.dec.step != nil && ev.recv.dec.step[1].ours.Public == k {
			return k, ev.recv.dec.step[1].theirs, true
		}
	}
	return k, identity.PublicKey{}, false
}

func bobsOf(c *conversation, a, b identity.PublicKey) string {
	if c.names.keyName(a)[0] == 'B' {
		return c.names.keyName(a)
	}
	return c.names.keyName(b)
}

func alicesOf(c *conversation, a, b identity.PublicKey) string {
	if c.names.keyName(a)[0] == 'A' {
		return c.names.keyName(a)
	}
	return c.names.keyName(b)
}
