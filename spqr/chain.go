package spqr

import (
	"fmt"
	"slices"
)

// Default chain limits; libsignal passes its own MAX_FORWARD_JUMPS and
// MAX_MESSAGE_KEYS, which have the same values.
const (
	DefaultMaxJump    = 25_000
	DefaultMaxOOOKeys = 2_000
)

// epochsKeptBeforeSend is how many epochs older than the current sending
// epoch are kept for late messages.
const epochsKeptBeforeSend = 1

// keptKey is the key of a message skipped on a receiving chain.
type keptKey struct {
	index uint32
	key   [32]byte
}

// half is one direction of one epoch's chain.
type half struct {
	counter uint32
	next    [32]byte // the chain key, when hasNext
	hasNext bool     // false once the epoch no longer sends
	// kept may be shared with copies of the chain: key never changes it
	// in place.
	kept []keptKey
}

type link struct{ send, recv half }

// chain is the SPQR symmetric ratchet: one pair of chains per epoch, each
// epoch's root chained from the previous one and the epoch's secret.
type chain struct {
	dir          Direction
	currentEpoch uint64
	sendEpoch    uint64
	links        []link // links[len-1] is currentEpoch
	nextRoot     [32]byte
	maxJump      uint32
	maxOOO       uint32
}

// cloneInto makes n a copy of c that Send and Recv may change: its links
// are copied (into room when they fit), their kept keys shared.
func (c *chain) cloneInto(n *chain, room []link) {
	*n = *c
	n.links = append(room[:0], c.links...)
}

// linkFrom makes an epoch's link from its two chain keys: this side sends
// on its own direction's chain and receives on the other.
func (c *chain) linkFrom(aToB, bToA [32]byte) link {
	ab := half{next: aToB, hasNext: true}
	ba := half{next: bToA, hasNext: true}
	if c.dir == AToB {
		return link{send: ab, recv: ba}
	}
	return link{send: ba, recv: ab}
}

func newChain(authKey [32]byte, dir Direction, maxJump, maxOOO uint32) *chain {
	c := &chain{dir: dir, maxJump: orDefault(maxJump, DefaultMaxJump), maxOOO: orDefault(maxOOO, DefaultMaxOOOKeys)}
	root, ab, ba := KDFChainStart(authKey)
	c.nextRoot = root
	c.links = []link{c.linkFrom(ab, ba)}
	return c
}

func orDefault(v, d uint32) uint32 {
	if v == 0 {
		return d
	}
	return v
}

// addEpoch chains in the secret of epoch currentEpoch+1.
func (c *chain) addEpoch(ep uint64, secret []byte) error {
	if ep != c.currentEpoch+1 {
		return fmt.Errorf("%w: epoch secret %d after epoch %d", ErrState, ep, c.currentEpoch)
	}
	root, ab, ba := KDFChainAddEpoch(c.nextRoot, [32]byte(secret))
	c.nextRoot = root
	c.currentEpoch = ep
	c.links = append(c.links, c.linkFrom(ab, ba))
	return nil
}

func (c *chain) linkIndex(ep uint64) (int, error) {
	if ep > c.currentEpoch {
		return 0, fmt.Errorf("%w: epoch %d is ahead of %d", ErrInvalidMessage, ep, c.currentEpoch)
	}
	back := c.currentEpoch - ep
	if back >= uint64(len(c.links)) {
		return 0, fmt.Errorf("%w: epoch %d is no longer held", ErrInvalidMessage, ep)
	}
	return len(c.links) - 1 - int(back), nil
}

// sendKey returns the next sending index and key of epoch ep, dropping
// epochs that can no longer be needed once sending moves on.
func (c *chain) sendKey(ep uint64) (uint32, []byte, error) {
	if ep < c.sendEpoch {
		return 0, nil, fmt.Errorf("%w: send epoch went back from %d to %d", ErrState, c.sendEpoch, ep)
	}
	i, err := c.linkIndex(ep)
	if err != nil {
		return 0, nil, err
	}
	if ep != c.sendEpoch {
		c.sendEpoch = ep
		if drop := i - epochsKeptBeforeSend; drop > 0 {
			c.links = slices.Delete(c.links, 0, drop)
			i -= drop
		}
		for j := range i {
			h := &c.links[j].send
			clear(h.next[:])
			h.hasNext = false
		}
	}
	h := &c.links[i].send
	if !h.hasNext {
		return 0, nil, fmt.Errorf("%w: no sending chain for epoch %d", ErrState, ep)
	}
	if h.counter == ^uint32(0) {
		return 0, nil, fmt.Errorf("%w: sending chain exhausted", ErrState)
	}
	idx, key := h.step()
	return idx, key[:], nil
}

// recvKey returns the key of message index of epoch ep, or an error if it
// was used, dropped, or is too far ahead.
func (c *chain) recvKey(ep uint64, index uint32) ([]byte, error) {
	i, err := c.linkIndex(ep)
	if err != nil {
		return nil, err
	}
	return c.links[i].recv.key(index, c.maxJump, c.maxOOO)
}

// step advances the chain by one (KDFChainNext with counter+1) and
// returns the new counter and its key.
func (h *half) step() (uint32, [32]byte) {
	h.counter++
	var key [32]byte
	h.next, key = KDFChainNext(h.next, h.counter)
	return h.counter, key
}

// key returns the key of message at and advances h. h.kept may be shared
// with copies of the chain, so it is never changed in place: every change
// makes a new slice.
func (h *half) key(at, maxJump, maxOOO uint32) ([]byte, error) {
	switch {
	case at == h.counter:
		return nil, fmt.Errorf("%w: SPQR key %d already used", ErrDuplicate, at)
	case at < h.counter:
		if uint64(at)+uint64(maxOOO) < uint64(h.counter) {
			return nil, fmt.Errorf("%w: SPQR key %d was dropped", ErrDuplicate, at)
		}
		for j, k := range h.kept {
			if k.index == at {
				key := k.key
				h.kept = slices.Concat(h.kept[:j:j], h.kept[j+1:])
				return key[:], nil
			}
		}
		return nil, fmt.Errorf("%w: SPQR key %d already used", ErrDuplicate, at)
	}
	if at-h.counter > maxJump {
		return nil, fmt.Errorf("%w: SPQR index %d is %d ahead", ErrInvalidMessage, at, at-h.counter)
	}
	if !h.hasNext {
		return nil, fmt.Errorf("%w: no receiving chain", ErrState)
	}
	if uint64(at) > uint64(h.counter)+uint64(maxOOO) {
		h.kept = nil
	}
	h.kept = slices.Clip(h.kept) // the first append below copies
	for at > h.counter+1 {
		idx, k := h.step()
		if uint64(idx)+uint64(maxOOO) >= uint64(at) {
			h.kept = append(h.kept, keptKey{idx, k})
		}
	}
	h.trim(maxOOO)
	_, k := h.step()
	return k[:], nil
}

// trim drops kept keys older than counter-maxOOO once more than about
// 1.1×maxOOO are held.
func (h *half) trim(maxOOO uint32) {
	if uint64(len(h.kept)) < uint64(maxOOO)*11/10+1 || h.counter < maxOOO {
		return
	}
	horizon := h.counter - maxOOO
	h.kept = slices.DeleteFunc(slices.Clone(h.kept), func(k keptKey) bool { return k.index < horizon })
}
