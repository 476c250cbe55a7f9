package loadtest

import (
	"sync"
	"sync/atomic"
)

// logChunk is how many entries one chunk of a msgLog holds: chunks are
// allocated as sequence numbers reach them, so the log never copies.
const logChunk = 4096

// entry is what is known of one message, by its sender's sequence
// number. Times are Unix nanoseconds, 0 while unknown.
type entry struct {
	sentAt      int64 // the send began (or was scheduled)
	storedAt    int64 // the relay acknowledged it: durably stored
	deliveredAt int64 // the receiver decrypted it
	deliveries  uint32
}

// msgLog records the messages one user sends. The sender fills sentAt and
// storedAt, the receiver deliveredAt; undelivered counts, over all logs of
// a run, the stored messages not yet delivered.
type msgLog struct {
	mu          sync.Mutex
	chunks      [][]entry
	undelivered *atomic.Int64
}

// update runs f on seq's entry under the log's lock, creating it if need
// be, and keeps the count of stored but undelivered messages.
func (l *msgLog) update(seq uint64, f func(*entry)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := int(seq / logChunk)
	for len(l.chunks) <= c {
		l.chunks = append(l.chunks, nil)
	}
	if l.chunks[c] == nil {
		l.chunks[c] = make([]entry, logChunk)
	}
	e := &l.chunks[c][seq%logChunk]
	before := e.storedAt != 0 && e.deliveredAt == 0
	f(e)
	after := e.storedAt != 0 && e.deliveredAt == 0
	switch {
	case after && !before:
		l.undelivered.Add(1)
	case before && !after:
		l.undelivered.Add(-1)
	}
}

// each calls f on every entry with a sentAt, in sequence order. The
// senders must have stopped.
func (l *msgLog) each(f func(e *entry)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.chunks {
		for i := range c {
			if c[i].sentAt != 0 {
				f(&c[i])
			}
		}
	}
}
