package lab

import (
	"bytes"
	"fmt"

	"github.com/blindpost/blindpost/spqr"
)

// In a version-4 session ratchet.State.Encrypt and Decrypt run SPQR
// (ratchet.State.PQ) themselves. To print what SPQR did, a lab replays the
// same call with spqr's traced functions on the state before the message
// (and, for a send, on a copy of the sender's stream at the same position),
// then checks that the replay left exactly the state the ratchet left and
// sent exactly the pq_ratchet bytes that travelled. The keys the replay
// reports are then recomputed from the PQR key of PQXDH and the epoch
// secrets with spqr's KDF functions (pqChain), so every SPQR value a lab
// prints is the one the protocol used.

// pqStep is what SPQR did for one message on one side.
type pqStep struct {
	before, after string // the braid's phase (spqr.State.Phase)
	epochBefore   uint64
	epochAfter    uint64
	trace         spqr.Trace
	data          []byte    // the pq_ratchet field sent or received
	key           *[32]byte // the salt of the message keys, or nil
	next          spqr.State
}

// replaySend is s.SendTraced on a copy of the sender's stream.
func replaySend(s spqr.State, rand *Stream) (*pqStep, error) {
	p := &pqStep{before: s.Phase(), epochBefore: s.Epoch()}
	var err error
	p.next, p.data, p.key, err = s.SendTraced(rand, &p.trace)
	if err != nil {
		return nil, fmt.Errorf("lab: SPQR send: %w", err)
	}
	p.after, p.epochAfter = p.next.Phase(), p.next.Epoch()
	return p, nil
}

// replayRecv is s.RecvTraced on the pq_ratchet field received.
func replayRecv(s spqr.State, data []byte) (*pqStep, error) {
	p := &pqStep{before: s.Phase(), epochBefore: s.Epoch(), data: data}
	var err error
	p.next, p.key, err = s.RecvTraced(data, &p.trace)
	if err != nil {
		return nil, fmt.Errorf("lab: SPQR receive: %w", err)
	}
	p.after, p.epochAfter = p.next.Phase(), p.next.Epoch()
	return p, nil
}

// salt is the key SPQR gave the message keys: nil without SPQR.
func (p *pqStep) salt() *[32]byte {
	if p == nil {
		return nil
	}
	return p.key
}

// check compares the replay with what the ratchet did: the same
// pq_ratchet bytes, and the same SPQR state after, byte for byte.
func (p *pqStep) check(real spqr.State, field []byte) error {
	if p == nil {
		if len(field) != 0 {
			return fmt.Errorf("lab: internal error: SPQR data in a message without SPQR")
		}
		return nil
	}
	if !bytes.Equal(p.data, field) {
		return fmt.Errorf("lab: internal error: the replayed SPQR send gives other pq_ratchet bytes")
	}
	a, err := p.next.Marshal()
	if err != nil {
		return fmt.Errorf("lab: internal error: %w", err)
	}
	b, err := real.Marshal()
	if err != nil {
		return fmt.Errorf("lab: internal error: %w", err)
	}
	if !bytes.Equal(a, b) {
		return fmt.Errorf("lab: internal error: the replayed SPQR call leaves another state than the ratchet's")
	}
	return nil
}

// pqChain is the lab's own computation of the SPQR chain (the symmetric
// part of SPQR): epoch 0 from the PQR key, each later epoch from the
// previous root and the epoch's secret, and the keys of each direction,
// with spqr.KDFChainStart, KDFChainAddEpoch and KDFChainNext only.
type pqChain struct {
	// roots[e] is the root after epoch e's chains were made: the salt of
	// epoch e+1.
	roots [][32]byte
	// secrets[e-1] is epoch e's secret.
	secrets [][32]byte
	// chains[pqPos{e, d, n}] is the chain key of epoch e, direction d,
	// after n keys; keys[pqPos{e, d, n}] the n-th key (n >= 1).
	chains map[pqPos][32]byte
	keys   map[pqPos][32]byte
}

// pqPos is a place in the SPQR chain.
type pqPos struct {
	epoch uint64
	dir   spqr.Direction
	n     uint32
}

func newPQChain(pqr [32]byte) *pqChain {
	c := &pqChain{chains: map[pqPos][32]byte{}, keys: map[pqPos][32]byte{}}
	root, ab, ba := spqr.KDFChainStart(pqr)
	c.addLink(0, root, ab, ba)
	return c
}

func (c *pqChain) addLink(ep uint64, root, ab, ba [32]byte) {
	c.roots = append(c.roots, root)
	c.chains[pqPos{ep, spqr.AToB, 0}] = ab
	c.chains[pqPos{ep, spqr.BToA, 0}] = ba
}

// epoch takes in an epoch secret one side produced: the first time it
// adds the epoch, the second time the secret must be the same.
func (c *pqChain) epoch(e *spqr.EpochTrace) error {
	if spqr.KDFEpochSecret(e.Epoch, e.KEMSecret) != e.Secret {
		return fmt.Errorf("lab: internal error: epoch %d: the secret is not KDF(K)", e.Epoch)
	}
	switch n := uint64(len(c.secrets)); {
	case e.Epoch <= n:
		if c.secrets[e.Epoch-1] != e.Secret {
			return fmt.Errorf("lab: internal error: epoch %d: the two sides' secrets differ", e.Epoch)
		}
		return nil
	case e.Epoch != n+1:
		return fmt.Errorf("lab: internal error: epoch %d after epoch %d", e.Epoch, n)
	}
	c.secrets = append(c.secrets, e.Secret)
	root, ab, ba := spqr.KDFChainAddEpoch(c.roots[e.Epoch-1], e.Secret)
	c.addLink(e.Epoch, root, ab, ba)
	return nil
}

// key is the n-th key of epoch ep, direction d, stepping the chain as far
// as needed.
func (c *pqChain) key(ep uint64, d spqr.Direction, n uint32) ([32]byte, bool) {
	if k, ok := c.keys[pqPos{ep, d, n}]; ok {
		return k, true
	}
	var last uint32
	for ; ; last++ {
		if _, ok := c.chains[pqPos{ep, d, last + 1}]; !ok {
			break
		}
	}
	ck, ok := c.chains[pqPos{ep, d, last}]
	if !ok || n <= last {
		return [32]byte{}, false
	}
	for i := last + 1; i <= n; i++ {
		var k [32]byte
		ck, k = spqr.KDFChainNext(ck, i)
		c.chains[pqPos{ep, d, i}] = ck
		c.keys[pqPos{ep, d, i}] = k
	}
	return c.keys[pqPos{ep, d, n}], true
}

// observe checks one side's SPQR step against the chain: an epoch secret
// it produced, and the key it returned for a message from dir.
func (c *pqChain) observe(p *pqStep, dir spqr.Direction) error {
	if e := p.trace.Epoch; e != nil {
		if err := c.epoch(e); err != nil {
			return err
		}
	}
	if p.key == nil {
		return nil
	}
	t := &p.trace
	k, ok := c.key(t.KeyEpoch, dir, t.KeyIndex)
	if !ok || !t.HasKey || k != *p.key {
		return fmt.Errorf("lab: internal error: SPQR key (epoch %d, index %d) is not the one the KDFs give", t.KeyEpoch, t.KeyIndex)
	}
	return nil
}

// pqKeyName names an SPQR key: pqk(epoch,AB|BA,n).
func pqKeyName(ep uint64, d spqr.Direction, n uint32) string {
	return fmt.Sprintf("pqk(%d,%s,%d)", ep, dirName(d), n)
}

// pqChainName names an SPQR chain key: pqck(epoch,AB|BA,n), the chain
// key after n keys.
func pqChainName(ep uint64, d spqr.Direction, n uint32) string {
	return fmt.Sprintf("pqck(%d,%s,%d)", ep, dirName(d), n)
}

func dirName(d spqr.Direction) string {
	if d == spqr.AToB {
		return "AB"
	}
	return "BA"
}
