package lab

import (
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"

	"github.com/blindpost/blindpost/ratchet"
	"github.com/blindpost/blindpost/wire"
)

// OutOfOrder prints the out-of-order lab: reordered, late, replayed,
// tampered and too-far-ahead messages, and what skipped keys mean for a
// thief.
func OutOfOrder(w io.Writer, seed uint64) error {
	c, err := newConversation(seed, true)
	if err != nil {
		return err
	}
	p := newPrinter(w)
	p.title("attack out-of-order", seed, specRatchet+", sections 2.5, 3.5 and 6.4 (skipped message keys)")
	p.line("The network may lose, reorder, repeat or alter messages. Bob must read every genuine")
	p.line("message exactly once, whatever the order, and refuse the rest without changing his state.")
	o := &oooLab{c: c, p: p}
	if err := o.run(); err != nil {
		return err
	}
	return p.Err()
}

type oooLab struct {
	c    *conversation
	p    *printer
	sent map[string]*sendEvent
}

func (o *oooLab) run() error {
	c, p := o.c, o.p
	o.sent = map[string]*sendEvent{}
	p.heading("Set-up: a session and one reply, delivered in order")
	for _, m := range []struct {
		alice       bool
		label, text string
	}{{true, "m1", "Hi Bob, it's Alice."}, {false, "m2", "Hi! Send me the four parts."}} {
		s, _, err := c.exchange(o.from(m.alice), m.label, m.text)
		if err != nil {
			return err
		}
		o.line(s)
	}

	p.heading("Alice sends four messages on her new chain")
	for i, text := range []string{"Part 1: the plan.", "Part 2: the budget.", "Part 3: the team.", "Part 4: the dates."} {
		s, err := c.send(c.alice, fmt.Sprintf("m%d", i+3), text)
		if err != nil {
			return err
		}
		o.sent[s.label] = s
		o.line(s)
	}
	p.line("  The network delivers m5, m3, m3 again, m6 altered, m6, and m4 much later.")

	if err := o.deliver("m5", "m5 arrives first"); err != nil {
		return err
	}
	if err := o.deliver("m3", "m3 arrives"); err != nil {
		return err
	}
	stolen := c.bob.state.Clone()
	p.line("  (A thief copies Bob's state now, while mk(%s,1)* is stored: see below.)", c.names.keyName(o.sent["m4"].enc.msg.RatchetKey))

	if err := o.replay("m3"); err != nil {
		return err
	}
	if err := o.tamper("m6"); err != nil {
		return err
	}
	if err := o.deliver("m6", "The genuine m6 arrives"); err != nil {
		return err
	}
	if err := o.ratchetOn(); err != nil {
		return err
	}
	if err := o.deliver("m4", "m4 arrives, after Bob's chain for its key was replaced"); err != nil {
		return err
	}
	if err := o.thief(stolen); err != nil {
		return err
	}
	if err := o.tooFar(); err != nil {
		return err
	}
	p.blank()
	p.result("Bob read m3, m4, m5 and m6 once each, in the order they arrived; the replay, the altered")
	p.line("message and the message too far ahead were refused and left his state unchanged.")
	p.line("Skipped keys are the price of out-of-order delivery: until its message arrives, a stored key")
	p.line("is in Bob's state, where a thief finds it. Hence the caps: MaxSkippedKeys = %d per chain,", ratchet.MaxSkippedKeys)
	p.line("MaxReceiverChains = %d, MaxForwardJumps = %d.", ratchet.MaxReceiverChains, ratchet.MaxForwardJumps)
	return nil
}

func (o *oooLab) from(alice bool) *party {
	if alice {
		return o.c.alice
	}
	return o.c.bob
}

// line prints one sent message as a table row.
func (o *oooLab) line(s *sendEvent) {
	m := s.enc.msg
	o.p.line("  %-4s %-6s DHs = %s, PN = %d, N = %d  %q", s.label, s.from.name, o.c.names.keyName(m.RatchetKey), m.PreviousCounter, m.Counter, s.plaintext)
}

// deliver delivers a sent message and prints what Bob did.
func (o *oooLab) deliver(label, title string) error {
	c, p := o.c, o.p
	s := o.sent[label]
	m := s.enc.msg
	p.heading("%s (DHs = %s, N = %d)", title, c.names.keyName(m.RatchetKey), m.Counter)
	r, err := c.deliver(s)
	if err != nil {
		return err
	}
	d := r.dec
	k := c.names.keyName(m.RatchetKey)
	if d.step != nil {
		p.line("  %s is new to Bob: a DH ratchet step gives a receiving chain for %s from N = 0", k, k)
		p.line("  and Bob's next ratchet key, %s.", c.names.keyName(d.step[1].ours.Public))
	}
	switch {
	case d.fromSkipped:
		p.line("  N = %d is behind Bob's chain for %s: he takes mk(%s,%d)* from MKSKIPPED and deletes it.", m.Counter, k, k, m.Counter)
	case len(d.skipped) > 0:
		p.line("  Bob's chain for %s is at N = %d and this is N = %d: he steps the chain past the missing", k, d.ck.Index, m.Counter)
		p.line("  messages and stores their keys in MKSKIPPED (SkipMessageKeys).")
	default:
		p.line("  The next key of Bob's chain for %s.", k)
	}
	p.line("  READ        %q with %s (%s)", d.plaintext, c.names.mk(m.RatchetKey, m.Counter), fp(d.seed[:]))
	o.skipped(c.bob.state)
	return nil
}

// skipped prints Bob's stored skipped keys.
func (o *oooLab) skipped(s ratchet.State) {
	var keys []string
	for _, r := range s.Receivers {
		for _, k := range r.Skipped {
			keys = append(keys, fmt.Sprintf("%s* %s", o.c.names.mk(r.RatchetKey, k.Index), fp(k.Seed[:])))
		}
	}
	if len(keys) == 0 {
		keys = []string{"(empty)"}
	}
	o.p.line("  MKSKIPPED   %s", strings.Join(keys, ", "))
}

// refuse runs Decrypt on bytes that must be refused and checks that the
// state Decrypt returns is Bob's state, unchanged. refused is Decrypt's
// error; err is set when the lab itself fails.
func (o *oooLab) refuse(b []byte) (refused, err error) {
	m, err := wire.ParseSignalMessage(b)
	if err != nil {
		return err, nil
	}
	next, _, err := o.c.bob.state.Decrypt(m, o.c.bob.rand)
	if err == nil {
		return nil, fmt.Errorf("lab: internal error: Bob accepted a message he must refuse")
	}
	if !reflect.DeepEqual(next, o.c.bob.state) {
		return nil, fmt.Errorf("lab: internal error: a refused message changed Bob's state")
	}
	return err, nil
}

func (o *oooLab) replay(label string) error {
	p := o.p
	p.heading("%s arrives again (a replay)", label)
	refused, err := o.refuse(o.sent[label].bytes)
	if err != nil {
		return err
	}
	p.line("  REFUSED     %v", refused)
	p.check("the error is ratchet.ErrDuplicate: %s; Bob's state is unchanged", yesNo(errors.Is(refused, ratchet.ErrDuplicate)))
	p.line("  Its key was deleted when Bob read it: nothing is left to decrypt it with.")
	return nil
}

func (o *oooLab) tamper(label string) error {
	p := o.p
	s := o.sent[label]
	bad := append([]byte(nil), s.bytes...)
	i := len(bad) - wire.MACSize - 1
	bad[i] ^= 0x01
	p.heading("%s arrives with one bit flipped (byte %d, in the ciphertext)", label, i)
	refused, err := o.refuse(bad)
	if err != nil {
		return err
	}
	p.line("  REFUSED     %v", refused)
	p.check("Bob's state is unchanged (Decrypt works on a copy and commits only after the MAC): yes")
	p.line("  The key of N = %d was derived to check the MAC, but Bob keeps nothing from a message that", s.enc.msg.Counter)
	p.line("  fails it: the genuine %s still decrypts below.", label)
	return nil
}

// ratchetOn has Bob answer and Alice answer back, so that Bob's chain for
// Alice's A2 becomes an old chain.
func (o *oooLab) ratchetOn() error {
	c, p := o.c, o.p
	p.heading("Bob answers, Alice answers back: both DH ratchet steps")
	for _, m := range []struct {
		alice       bool
		label, text string
	}{{false, "m7", "Got parts 1, 3 and 4."}, {true, "m8", "Part 2 is on its way."}} {
		s, _, err := c.exchange(o.from(m.alice), m.label, m.text)
		if err != nil {
			return err
		}
		o.sent[s.label] = s
		o.line(s)
	}
	m8 := o.sent["m8"].enc.msg
	p.line("  m8 is on %s with PN = %d: the last N Alice sent on her previous chain, so Bob knows how", o.c.names.keyName(m8.RatchetKey), m8.PreviousCounter)
	p.line("  many messages of it to expect. Bob keeps his old receiving chains (up to MaxReceiverChains)")
	p.line("  with their skipped keys, so a late message of an old chain still decrypts.")
	o.skipped(c.bob.state)
	return nil
}

// thief shows the caveat: a copy of Bob's state taken while a key was
// stored reads that key's message, although it was sent before the theft.
func (o *oooLab) thief(stolen ratchet.State) error {
	c, p := o.c, o.p
	p.heading("The thief's copy, taken after m3 arrived")
	for _, label := range []string{"m3", "m4", "m5"} {
		s := o.sent[label]
		m, err := wire.ParseSignalMessage(s.bytes)
		if err != nil {
			return fmt.Errorf("lab: %w", err)
		}
		if _, pt, err := stolen.Decrypt(m, NewStream(c.seed, "thief")); err == nil {
			p.line("  READ        %-4s %q, with the stored %s*: sent before the theft, not yet arrived", label, pt, c.names.mk(m.RatchetKey, m.Counter))
		} else {
			p.line("  CANNOT READ %-4s %v", label, err)
		}
	}
	p.line("  Forward secrecy covers the messages Bob has read; a message still in flight is as exposed")
	p.line("  as its stored key.")
	return nil
}

// tooFar has Alice send more than MaxForwardJumps messages that are all
// lost, then one that arrives.
func (o *oooLab) tooFar() error {
	c, p := o.c, o.p
	lost := ratchet.MaxForwardJumps + 1
	p.heading("%d messages of Alice's are lost, then m9 arrives", lost)
	for range lost {
		next, _, err := c.alice.state.Encrypt([]byte("lost"), ratchet.Header{}, nil)
		if err != nil {
			return fmt.Errorf("lab: %w", err)
		}
		c.alice.state = next
	}
	s, err := c.send(c.alice, "m9", "Did you get everything?")
	if err != nil {
		return err
	}
	o.line(s)
	refused, err := o.refuse(s.bytes)
	if err != nil {
		return err
	}
	p.line("  REFUSED     %v", refused)
	p.check("Bob's state is unchanged: yes")
	p.line("  Reaching N = %d would take Bob %d KDF_CK steps for one message, and anyone can forge", s.enc.msg.Counter, lost+1)
	p.line("  a header: MaxForwardJumps bounds that work, and is checked before any key is derived.")
	return nil
}
