package demo

import (
	"context"
	"slices"
	"sync"

	"github.com/blindpost/blindpost/relay/store"
)

// providerStore is the relay's store as a provider controls it. It is an
// honest store plus two powers a provider has whatever the protocol: it can
// keep a copy of every envelope that passes (a wiretap of ciphertext), and
// it can hand out keys of its own choosing for a name (the "ghost").
type providerStore struct {
	store.Store

	mu     sync.Mutex
	tapped []store.Envelope
	ghost  map[string]store.Bundle // target name -> bundle served instead
}

func newProviderStore(s store.Store) *providerStore {
	return &providerStore{Store: s, ghost: map[string]store.Bundle{}}
}

// Enqueue stores the envelope and keeps a copy.
func (p *providerStore) Enqueue(ctx context.Context, e store.Envelope) (uint64, error) {
	id, err := p.Store.Enqueue(ctx, e)
	if err == nil {
		e.ID = id
		e.Content = slices.Clone(e.Content)
		p.mu.Lock()
		p.tapped = append(p.tapped, e)
		p.mu.Unlock()
	}
	return id, err
}

// TakeBundle serves the ghost's bundle for a name under attack.
func (p *providerStore) TakeBundle(ctx context.Context, requester, target string, device uint32) (store.Bundle, error) {
	p.mu.Lock()
	g, ok := p.ghost[target]
	p.mu.Unlock()
	if ok {
		return g, nil
	}
	return p.Store.TakeBundle(ctx, requester, target, device)
}

func (p *providerStore) setGhost(target string, b store.Bundle) {
	p.mu.Lock()
	p.ghost[target] = b
	p.mu.Unlock()
}

// wiretap returns the envelopes that passed so far.
func (p *providerStore) wiretap() []store.Envelope {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.tapped)
}
