package lab

import "io"

// Options are what a lab run may set; the zero value of a field means its
// default.
type Options struct {
	// Seed is the only source of the lab's randomness.
	Seed uint64
	// StealAfter is the message after which the thief copies Bob's state
	// (forward-secrecy and post-compromise); 0 means the lab's default.
	StealAfter int
}

// Lab is one `blindpost lab` walk-through or attack.
type Lab struct {
	Name    string // as typed after "blindpost lab" or "blindpost lab attack"
	Summary string
	// Steal reports whether the lab takes --steal-after.
	Steal bool
	Run   func(w io.Writer, o Options) error
}

// Walkthroughs are the `blindpost lab NAME` labs, in the order of
// docs/labs.
func Walkthroughs() []Lab {
	return []Lab{
		{Name: "x3dh", Summary: "X3DH step by step: DH1..DH4, SK, the first message",
			Run: func(w io.Writer, o Options) error { return X3DH(w, o.Seed) }},
		{Name: "ratchet", Summary: "the Double Ratchet step by step: root, chain and message keys, headers",
			Run: func(w io.Writer, o Options) error { return Ratchet(w, o.Seed) }},
		{Name: "pqxdh", Summary: "PQXDH and SPQR step by step; harvest now, decrypt later",
			Run: func(w io.Writer, o Options) error { return PQXDH(w, o.Seed) }},
	}
}

// Attacks are the `blindpost lab attack NAME` labs, in the order of
// docs/labs.
func Attacks() []Lab {
	return []Lab{
		{Name: "forward-secrecy", Summary: "a thief copies Bob's state: which earlier messages can it read?",
			Steal: true, Run: ForwardSecrecy},
		{Name: "post-compromise", Summary: "the same thief keeps listening: when is it locked out?",
			Steal: true, Run: PostCompromise},
		{Name: "out-of-order", Summary: "late, reordered and replayed messages; skipped keys",
			Run: func(w io.Writer, o Options) error { return OutOfOrder(w, o.Seed) }},
		{Name: "mitm", Summary: "a man in the middle, without and with safety-number verification",
			Run: func(w io.Writer, o Options) error { return MITM(w, o.Seed) }},
		{Name: "prekey-exhaustion", Summary: "one-time prekeys run out: X3DH without DH4, and what a later thief gains",
			Run: func(w io.Writer, o Options) error { return PrekeyExhaustion(w, o.Seed) }},
		{Name: "provider", Summary: "what the relay holds, and why it cannot hand over content",
			Run: func(w io.Writer, o Options) error { return Provider(w, o.Seed) }},
	}
}
