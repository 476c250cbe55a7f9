package referee

import "fmt"

// Traffic is what the referee saw in the messages one side of a run sent:
// the side's own messages, read from the bytes exactly as produced, tampered
// copies not included.
type Traffic struct {
	Messages int `json:"messages"`
	PreKey   int `json:"prekey_messages"` // of type 3
	// SPQR counts messages with SPQR data (a non-empty pq_ratchet field);
	// MaxEpoch is the highest SPQR epoch among them (0 if none).
	SPQR     int    `json:"spqr_messages"`
	MaxEpoch uint64 `json:"spqr_max_epoch"`
	// Addressed counts messages with the addresses field (service-id names).
	Addressed int `json:"addressed_messages"`
}

func (t Traffic) String() string {
	return fmt.Sprintf("%d messages (%d type 3), %d with SPQR data up to epoch %d, %d with addresses",
		t.Messages, t.PreKey, t.SPQR, t.MaxEpoch, t.Addressed)
}

// EpochsCrossed is the number of SPQR epochs a run crossed: the highest
// epoch both sides reached, less the first epoch (1). It is 0 unless both
// sides sent SPQR data.
func EpochsCrossed(fromInitiator, fromResponder Traffic) int {
	reached := min(fromInitiator.MaxEpoch, fromResponder.MaxEpoch)
	if reached == 0 {
		return 0
	}
	return int(min(reached-1, 1<<31-1))
}

// SpeakSPQR reports whether both sides of a run sent SPQR data.
func SpeakSPQR(fromInitiator, fromResponder Traffic) bool {
	return fromInitiator.SPQR > 0 && fromResponder.SPQR > 0
}

// observe records m, as its sender produced it, in the sender's traffic and
// checks the parts the Double Ratchet does not cover: SPQR data must parse,
// and an addresses field must name the message's sender and recipient.
func (r *run) observe(m *message) error {
	x, err := readExtras(m.ct)
	if err == nil {
		err = checkAddresses(x.addresses, m.from.addr, m.to.addr)
	}
	if err != nil {
		return fail(RoleSender, between(RoleSender, m.from, RoleReceiver, m.to), "%s: %w", m, err)
	}
	t := r.traffic(m.from)
	t.Messages++
	if m.ct.Type == TypePreKey {
		t.PreKey++
	}
	if x.hasSPQR {
		t.SPQR++
		t.MaxEpoch = max(t.MaxEpoch, x.spqr.epoch)
	}
	if x.addresses != nil {
		t.Addressed++
	}
	return nil
}

// traffic is the record of what p's side sent.
func (r *run) traffic(p *party) *Traffic {
	if p.role == RoleInitiator {
		return &r.fromInitiator
	}
	return &r.fromResponder
}
