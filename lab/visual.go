package lab

import (
	"fmt"

	"github.com/blindpost/blindpost/identity"
	"github.com/blindpost/blindpost/ratchet"
)

// Visual is the conversation of `blindpost lab ratchet`, step by step, as
// the visual ratchet (`blindpost lab serve`) draws it. Keys appear as
// names and short fingerprints (output rules 5 and 6); every value was
// computed by the protocol code (see trace.go).
type Visual struct {
	Seed  uint64 `json:"seed"`
	Title string `json:"title"`
	Steps []Step `json:"steps"`
}

// Step is the state of both parties after one event.
type Step struct {
	N       int    `json:"n"`
	Actor   string `json:"actor"`  // "Alice" or "Bob"
	Action  string `json:"action"` // "start", "send" or "receive"
	Message string `json:"message,omitempty"`
	Text    string `json:"text,omitempty"`
	// Header is the message's header, for send and receive.
	Header *Header `json:"header,omitempty"`
	// MessageKey is the key that encrypted (send) or decrypted (receive)
	// the message.
	MessageKey *Key `json:"messageKey,omitempty"`
	// FromSkipped: the message key was a stored skipped key.
	FromSkipped bool `json:"fromSkipped,omitempty"`
	// Skipped are the keys this message made the receiver store.
	Skipped []Key `json:"skipped,omitempty"`
	// DHStep is the DH ratchet step this message caused, if any.
	DHStep *DHStep    `json:"dhStep,omitempty"`
	Note   string     `json:"note"`
	Alice  PartyState `json:"alice"`
	Bob    PartyState `json:"bob"`
}

// Key is a named key and its fingerprint.
type Key struct {
	Name string `json:"name"`
	FP   string `json:"fp"`
}

// Header is a message header as it travels.
type Header struct {
	DHs   Key `json:"dhs"`
	PN    int `json:"pn"`
	N     int `json:"n"`
	Type  int `json:"type"`
	Bytes int `json:"bytes"`
}

// DHStep is one DH ratchet step: the receiving half with the peer's new
// key, then the sending half with a fresh key of our own.
type DHStep struct {
	RecvDH    Key `json:"recvDH"`
	RootMid   Key `json:"rootMid"`
	RecvChain Key `json:"recvChain"`
	NewKey    Key `json:"newKey"`
	SendDH    Key `json:"sendDH"`
	Root      Key `json:"root"`
	SendChain Key `json:"sendChain"`
}

// PartyState is one party's Double Ratchet state.
type PartyState struct {
	Started   bool    `json:"started"`
	Root      Key     `json:"root"`
	Sending   *Chain  `json:"sending,omitempty"`
	Receiving []Chain `json:"receiving"`
}

// Chain is a sending or receiving chain: the ratchet key that names it,
// its current chain key and the N of its next message.
type Chain struct {
	RatchetKey Key   `json:"ratchetKey"`
	ChainKey   Key   `json:"chainKey"`
	Next       int   `json:"next"`
	Skipped    []Key `json:"skipped,omitempty"`
}

// NewVisual runs the conversation of the ratchet lab with the given seed
// and returns its steps.
func NewVisual(seed uint64) (*Visual, error) {
	var notes []string
	for _, a := range ratchetScript {
		notes = append(notes, a.comment)
	}
	c, err := runScript(seed, ratchetScript)
	if err != nil {
		return nil, err
	}
	n := c.names
	v := &Visual{Seed: seed, Title: "The Double Ratchet, step by step"}
	x := &c.x
	start := Step{
		Actor: "Alice", Action: "start",
		Note: fmt.Sprintf("X3DH gave Alice and Bob SK = RK0 || CK0. Alice's RatchetInitAlice: %s from KDF_RK(RK0, DH(A1, SPK_B)), "+
			"her sending chain on A1. Bob has published his bundle and waits: his session starts with Alice's first message.", n.root(x.init.rkOut)),
		Alice: partyState(n, c.aliceStart, true),
		Bob:   PartyState{Receiving: []Chain{}},
	}
	v.Steps = append(v.Steps, start)
	for i, ev := range c.events {
		st := Step{N: i + 1, Note: notes[i],
			Alice: partyState(n, ev.alice, true), Bob: partyState(n, ev.bob, ev.bobStarted)}
		if s := ev.send; s != nil {
			st.Actor, st.Action = s.from.name, "send"
			st.Message, st.Text = s.label, s.plaintext
			st.Header = header(n, s)
			st.MessageKey = &Key{n.mk(s.enc.msg.RatchetKey, s.enc.msg.Counter), fp(s.enc.seed[:])}
		} else {
			r := ev.recv
			s, d := r.send, r.dec
			st.Actor, st.Action = s.to.name, "receive"
			st.Message, st.Text = s.label, string(d.plaintext)
			st.Header = header(n, s)
			st.MessageKey = &Key{n.mk(s.enc.msg.RatchetKey, s.enc.msg.Counter), fp(d.seed[:])}
			st.FromSkipped = d.fromSkipped
			for _, k := range d.skipped {
				st.Skipped = append(st.Skipped, Key{n.mk(s.enc.msg.RatchetKey, k.Index) + "*", fp(k.Seed[:])})
			}
			if d.step != nil {
				recv, send := d.step[0], d.step[1]
				st.DHStep = &DHStep{
					RecvDH:    Key{dhName(n, recv.ours.Public, recv.theirs), fp(recv.dh[:])},
					RootMid:   Key{n.root(recv.rkOut), fp(recv.rkOut[:])},
					RecvChain: Key{n.chain(recv.theirs, 0), fp(recv.chain.Key[:])},
					NewKey:    Key{n.keyName(send.ours.Public), fp(send.ours.Public[:])},
					SendDH:    Key{dhName(n, send.ours.Public, send.theirs), fp(send.dh[:])},
					Root:      Key{n.root(send.rkOut), fp(send.rkOut[:])},
					SendChain: Key{n.chain(send.ours.Public, 0), fp(send.chain.Key[:])},
				}
			}
		}
		v.Steps = append(v.Steps, st)
	}
	return v, nil
}

func dhName(n *namer, ours, theirs identity.PublicKey) string {
	return fmt.Sprintf("DH(%s, %s)", n.keyName(ours), n.keyName(theirs))
}

func header(n *namer, s *sendEvent) *Header {
	m := s.enc.msg
	return &Header{
		DHs: Key{n.keyName(m.RatchetKey), fp(m.RatchetKey[:])},
		PN:  int(m.PreviousCounter), N: int(m.Counter),
		Type: s.typ, Bytes: len(s.bytes),
	}
}

func partyState(n *namer, s ratchet.State, started bool) PartyState {
	ps := PartyState{Started: started, Receiving: []Chain{}}
	if !started {
		return ps
	}
	ps.Root = Key{n.root(s.Root), fp(s.Root[:])}
	k := s.Sender.RatchetKey.Public
	ps.Sending = &Chain{
		RatchetKey: Key{n.keyName(k), fp(k[:])},
		ChainKey:   Key{n.chain(k, s.Sender.Chain.Index), fp(s.Sender.Chain.Key[:])},
		Next:       int(s.Sender.Chain.Index),
	}
	for _, r := range s.Receivers {
		ch := Chain{
			RatchetKey: Key{n.keyName(r.RatchetKey), fp(r.RatchetKey[:])},
			ChainKey:   Key{n.chain(r.RatchetKey, r.Chain.Index), fp(r.Chain.Key[:])},
			Next:       int(r.Chain.Index),
		}
		for _, sk := range r.Skipped {
			ch.Skipped = append(ch.Skipped, Key{n.mk(r.RatchetKey, sk.Index) + "*", fp(sk.Seed[:])})
		}
		ps.Receiving = append(ps.Receiving, ch)
	}
	return ps
}
