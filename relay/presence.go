package relay

import (
	"sync"

	"github.com/blindpost/blindpost/relay/store"
)

// presence maps each online device to its one authenticated connection,
// so that a stored message can wake the recipient's delivery at once.
type presence struct {
	mu    sync.Mutex
	conns map[store.Address]*conn
}

func newPresence() *presence {
	return &presence{conns: make(map[store.Address]*conn)}
}

// add makes c the connection of addr and returns the one it replaces.
func (p *presence) add(addr store.Address, c *conn) *conn {
	p.mu.Lock()
	defer p.mu.Unlock()
	old := p.conns[addr]
	p.conns[addr] = c
	return old
}

// remove forgets c if it is still addr's connection.
func (p *presence) remove(addr store.Address, c *conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conns[addr] == c {
		delete(p.conns, addr)
	}
}

// wake tells addr's connection, if any, that its queue grew.
func (p *presence) wake(addr store.Address) {
	p.mu.Lock()
	c := p.conns[addr]
	p.mu.Unlock()
	if c != nil {
		c.wakeDelivery()
	}
}

// others returns the connections of name's devices other than except.
func (p *presence) others(name string, except *conn) []*conn {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []*conn
	for addr, c := range p.conns {
		if addr.Name == name && c != except {
			out = append(out, c)
		}
	}
	return out
}
