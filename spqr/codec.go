package spqr

import (
	"encoding/binary"
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/blindpost/blindpost/proto/spqrpb"
	"github.com/blindpost/blindpost/spqr/internal/erasure"
	"github.com/blindpost/blindpost/spqr/internal/kem768"
)

// Marshal encodes the state for a session record (proto/spqr.proto). The
// zero State encodes as no bytes.
func (s State) Marshal() ([]byte, error) {
	if s.live == nil {
		return nil, nil
	}
	pb := &spqrpb.State{}
	if n := s.negotiation; n != nil {
		pb.Negotiation = &spqrpb.Negotiation{
			AuthKey: n.authKey[:], Direction: spqrpb.Direction(n.dir), MinVersion: uint32(n.minVersion),
			MaxJump: n.maxJump, MaxOooKeys: n.maxOOOKeys,
		}
	}
	if c := s.chain; c != nil {
		pc := &spqrpb.Chain{
			Direction: spqrpb.Direction(c.dir), CurrentEpoch: c.currentEpoch, SendEpoch: c.sendEpoch,
			NextRoot: c.nextRoot[:], MaxJump: c.maxJump, MaxOooKeys: c.maxOOO,
		}
		for i := range c.links {
			l := &c.links[i]
			pc.Links = append(pc.Links, &spqrpb.Link{Send: marshalHalf(&l.send), Recv: marshalHalf(&l.recv)})
		}
		pb.Chain = pc
	}
	b := &s.braid
	pbb := &spqrpb.Braid{
		Phase: spqrpb.Phase(b.phase), Epoch: b.epoch, AuthRoot: b.auth.root[:], AuthMac: b.auth.mac[:],
		Header: b.header, KeyVector: b.keyVector, DecapsKey: b.decapsKey, EncapsState: b.encapsState,
		Ct1: b.ct1, Sending: b.sending, SendingNext: b.sendingNext,
	}
	if b.receiving != nil {
		d, err := b.receiving.MarshalBinary()
		if err != nil {
			return nil, err
		}
		pbb.Receiving = d
	}
	pb.Braid = pbb
	return proto.MarshalOptions{Deterministic: true}.Marshal(pb)
}

func marshalHalf(h *half) *spqrpb.Half {
	kept := make([]byte, 0, len(h.kept)*36)
	for _, k := range h.kept {
		kept = binary.BigEndian.AppendUint32(kept, k.index)
		kept = append(kept, k.key[:]...)
	}
	var next []byte
	if h.hasNext {
		next = h.next[:]
	}
	return &spqrpb.Half{Counter: h.counter, Next: next, Kept: kept}
}

// Unmarshal decodes a state written by Marshal, checking that every field
// the braid's phase needs is present and well formed. No bytes is the zero
// State.
func Unmarshal(data []byte) (State, error) {
	if len(data) == 0 {
		return State{}, nil
	}
	var pb spqrpb.State
	if err := proto.Unmarshal(data, &pb); err != nil {
		return State{}, fmt.Errorf("%w: %w", ErrState, err)
	}
	s, err := fromProto(&pb)
	if err != nil {
		return State{}, fmt.Errorf("%w: %w", ErrState, err)
	}
	return s, nil
}

func fromProto(pb *spqrpb.State) (State, error) {
	s := State{&live{}}
	if n := pb.Negotiation; n != nil {
		if len(n.AuthKey) != 32 || n.Direction > spqrpb.Direction_B_TO_A || n.MinVersion > uint32(V1) {
			return s, fmt.Errorf("bad negotiation")
		}
		s.negotiation = &negotiation{
			authKey: [32]byte(n.AuthKey), dir: Direction(n.Direction), minVersion: Version(n.MinVersion),
			maxJump: n.MaxJump, maxOOOKeys: n.MaxOooKeys,
		}
	}
	if c := pb.Chain; c != nil {
		ch, err := chainFromProto(c)
		if err != nil {
			return s, err
		}
		s.chain = ch
	}
	if s.negotiation == nil && s.chain == nil {
		return s, fmt.Errorf("neither negotiation nor chain")
	}
	if pb.Braid == nil {
		return s, fmt.Errorf("no braid")
	}
	b, err := braidFromProto(pb.Braid)
	if err != nil {
		return s, err
	}
	s.braid = b
	return s, s.checkConsistent()
}

// checkConsistent checks what ties the parts of a state together: one
// direction; the braid's role at its epoch (the initiator sends the
// encapsulation key in odd epochs); and the chain holding exactly the
// epoch secrets the braid has produced.
func (s *State) checkConsistent() error {
	dir := Direction(0)
	switch {
	case s.negotiation != nil && s.chain != nil && s.negotiation.dir != s.chain.dir:
		return fmt.Errorf("negotiation direction %d, chain direction %d", s.negotiation.dir, s.chain.dir)
	case s.chain != nil:
		dir = s.chain.dir
	default:
		dir = s.negotiation.dir
	}
	sendsKey := s.braid.phase <= ekSentCt1Received
	if oddEpoch := s.braid.epoch%2 == 1; sendsKey != (oddEpoch == (dir == AToB)) {
		return fmt.Errorf("phase %d in epoch %d for direction %d", s.braid.phase, s.braid.epoch, dir)
	}
	if s.chain == nil {
		if s.braid.epoch != firstEpoch || s.braid.phase >= ct1Sampled {
			return fmt.Errorf("no chain at epoch %d, phase %d", s.braid.epoch, s.braid.phase)
		}
		return nil
	}
	secrets := s.braid.epoch - 1 // epoch secrets made before this epoch
	if s.braid.phase >= ct1Sampled {
		secrets++ // the encapsulating side has this epoch's already
	}
	if s.chain.currentEpoch != secrets {
		return fmt.Errorf("chain at epoch %d, braid at epoch %d phase %d", s.chain.currentEpoch, s.braid.epoch, s.braid.phase)
	}
	return nil
}

func chainFromProto(c *spqrpb.Chain) (*chain, error) {
	if c.Direction > spqrpb.Direction_B_TO_A || len(c.NextRoot) != 32 || c.MaxJump == 0 || c.MaxOooKeys == 0 {
		return nil, fmt.Errorf("bad chain")
	}
	if len(c.Links) == 0 || uint64(len(c.Links)) > c.CurrentEpoch+1 || c.SendEpoch > c.CurrentEpoch {
		return nil, fmt.Errorf("chain holds %d epochs at epoch %d", len(c.Links), c.CurrentEpoch)
	}
	ch := &chain{
		dir: Direction(c.Direction), currentEpoch: c.CurrentEpoch, sendEpoch: c.SendEpoch,
		nextRoot: [32]byte(c.NextRoot), maxJump: c.MaxJump, maxOOO: c.MaxOooKeys,
	}
	maxKept := int(c.MaxOooKeys)*21/10 + 2
	for _, l := range c.Links {
		if l == nil {
			return nil, fmt.Errorf("empty link")
		}
		send, err := halfFromProto(l.Send, maxKept)
		if err != nil {
			return nil, err
		}
		recv, err := halfFromProto(l.Recv, maxKept)
		if err != nil {
			return nil, err
		}
		ch.links = append(ch.links, link{send: send, recv: recv})
	}
	return ch, nil
}

func halfFromProto(h *spqrpb.Half, maxKept int) (half, error) {
	if h == nil {
		return half{}, fmt.Errorf("missing chain half")
	}
	if len(h.Next) != 0 && len(h.Next) != 32 {
		return half{}, fmt.Errorf("chain key of %d bytes", len(h.Next))
	}
	if len(h.Kept)%36 != 0 || len(h.Kept)/36 > maxKept {
		return half{}, fmt.Errorf("kept keys of %d bytes", len(h.Kept))
	}
	out := half{counter: h.Counter}
	if len(h.Next) == 32 {
		out.next, out.hasNext = [32]byte(h.Next), true
	}
	seen := make(map[uint32]bool, len(h.Kept)/36)
	for r := h.Kept; len(r) > 0; r = r[36:] {
		idx := binary.BigEndian.Uint32(r)
		if idx >= h.Counter || seen[idx] {
			return half{}, fmt.Errorf("kept key %d at counter %d", idx, h.Counter)
		}
		seen[idx] = true
		out.kept = append(out.kept, keptKey{idx, [32]byte(r[4:36])})
	}
	return out, nil
}

// need lists, per phase, the fields that must be present with their sizes
// and the size of the data being received (0 for none).
type need struct {
	header, keyVector, decapsKey, encapsState, ct1 bool
	sending, receiving                             int
}

var needs = map[phase]need{
	keysUnsampled:        {},
	keysSampled:          {header: true, keyVector: true, decapsKey: true, sending: headerMsgSize},
	headerSent:           {decapsKey: true, sending: keyVectorSize, receiving: ct1Size},
	ct1Received:          {decapsKey: true, ct1: true, sending: keyVectorSize},
	ekSentCt1Received:    {decapsKey: true, ct1: true, receiving: ct2MsgSize},
	noHeaderReceived:     {receiving: headerMsgSize},
	headerReceived:       {header: true, receiving: keyVectorSize},
	ct1Sampled:           {header: true, encapsState: true, ct1: true, sending: ct1Size, receiving: keyVectorSize},
	ekReceivedCt1Sampled: {header: true, keyVector: true, encapsState: true, ct1: true, sending: ct1Size},
	ct1Acknowledged:      {header: true, encapsState: true, ct1: true, receiving: keyVectorSize},
	ct2Sampled:           {sending: ct2MsgSize},
}

func braidFromProto(p *spqrpb.Braid) (braid, error) {
	ph := phase(p.Phase)
	nd, ok := needs[ph]
	if !ok {
		return braid{}, fmt.Errorf("phase %d", p.Phase)
	}
	if p.Epoch == 0 || len(p.AuthRoot) != 32 || len(p.AuthMac) != 32 {
		return braid{}, fmt.Errorf("bad braid epoch or authenticator")
	}
	b := braid{phase: ph, epoch: p.Epoch, auth: authenticator{root: [32]byte(p.AuthRoot), mac: [32]byte(p.AuthMac)}}
	fields := []struct {
		want bool
		size int
		got  []byte
		dst  *[]byte
		name string
	}{
		{nd.header, kem768.HeaderSize, p.Header, &b.header, "header"},
		{nd.keyVector, keyVectorSize, p.KeyVector, &b.keyVector, "key vector"},
		{nd.decapsKey, decapsKeySize, p.DecapsKey, &b.decapsKey, "decapsulation key"},
		{nd.encapsState, encapsStateLen, p.EncapsState, &b.encapsState, "encapsulation state"},
		{nd.ct1, ct1Size, p.Ct1, &b.ct1, "ct1"},
		{nd.sending > 0, nd.sending, p.Sending, &b.sending, "data being sent"},
	}
	for _, f := range fields {
		switch {
		case f.want && len(f.got) != f.size:
			return braid{}, fmt.Errorf("%s of %d bytes in phase %d", f.name, len(f.got), ph)
		case !f.want && len(f.got) != 0:
			return braid{}, fmt.Errorf("unexpected %s in phase %d", f.name, ph)
		case f.want:
			*f.dst = f.got
		}
	}
	b.sendingNext = p.SendingNext
	if nd.receiving == 0 {
		if len(p.Receiving) != 0 {
			return braid{}, fmt.Errorf("unexpected decoder in phase %d", ph)
		}
		return b, nil
	}
	d, err := erasure.UnmarshalDecoder(p.Receiving)
	if err != nil {
		return braid{}, err
	}
	if d.Size() != nd.receiving {
		return braid{}, fmt.Errorf("decoder for %d bytes in phase %d", d.Size(), ph)
	}
	b.receiving = d
	return b, nil
}
