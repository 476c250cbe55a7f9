package loadtest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/blindpost/blindpost/relay/client"
)

// window is the traffic's timeline: sending starts at start, is measured
// from measureFrom, and stops at end.
type window struct {
	start, measureFrom, end time.Time
}

func (w window) contains(nanos int64) bool {
	return nanos >= w.measureFrom.UnixNano() && nanos < w.end.UnixNano()
}

// traffic sends for the warm-up and the measured window, waits for the
// messages in flight, and builds the report.
func (r *run) traffic(ctx context.Context) (Report, error) {
	now := r.cfg.Now()
	w := window{start: now, measureFrom: now.Add(r.cfg.Warmup)}
	w.end = w.measureFrom.Add(r.cfg.Duration)
	r.cfg.Logger.Info("sending", "warmup", r.cfg.Warmup, "duration", r.cfg.Duration)

	var snaps snapshots
	snapDone := make(chan struct{})
	go func() {
		defer close(snapDone)
		snaps = r.snapshot(ctx, w)
	}()

	var senders sync.WaitGroup
	for _, u := range r.users {
		for range r.cfg.Inflight {
			senders.Add(1)
			go func() {
				defer senders.Done()
				r.sendLoop(ctx, u, w)
			}()
		}
	}
	senders.Wait()
	<-snapDone
	drained := r.drain(ctx)
	rep := r.report(w, snaps)
	rep.Drain = drained
	return rep, nil
}

// sendLoop is one of a user's Inflight senders. Closed loop (Rate 0): it
// sends again as soon as the relay answers. Open loop: message seq of
// the user is due at start + offset + seq x interval, where the interval
// is Clients / Rate and the offsets spread the users over it; a late
// message is sent at once and its latency still counts from when it was
// due.
func (r *run) sendLoop(ctx context.Context, u *user, w window) {
	buf := make([]byte, r.cfg.Size)
	var (
		interval, offset float64
		timer            *time.Timer
	)
	if r.cfg.Rate > 0 {
		interval = float64(time.Second) * float64(r.cfg.Clients) / r.cfg.Rate
		offset = interval * float64(u.index) / float64(r.cfg.Clients)
		timer = time.NewTimer(time.Hour)
		defer timer.Stop()
	}
	for {
		seq := u.nextSeq.Add(1) - 1
		at := r.cfg.Now()
		if r.cfg.Rate > 0 {
			due := w.start.Add(time.Duration(offset + float64(seq)*interval))
			if d := due.Sub(at); d > 0 && due.Before(w.end) {
				timer.Reset(d)
				select {
				case <-timer.C:
				case <-ctx.Done():
					return
				}
			}
			at = due
		}
		if !at.Before(w.end) || ctx.Err() != nil {
			return
		}
		if !r.sendData(ctx, u, seq, at, buf) {
			return
		}
	}
}

// sendData encrypts and sends one measured message. It reports false
// when the connection is gone.
func (r *run) sendData(ctx context.Context, u *user, seq uint64, at time.Time, buf []byte) bool {
	u.mu.Lock()
	typ, ct, err := u.cipher.Encrypt(u.to.addr, plaintext(buf, kindData, seq, at))
	u.mu.Unlock()
	if err != nil {
		r.failures.add(&r.failures.encrypt, err)
		return false
	}
	u.log.update(seq, func(e *entry) { e.sentAt = at.UnixNano() })
	_, err = u.c.Send(ctx, u.to.name, deviceID, uint32(typ), ct)
	if err != nil {
		r.failures.add(&r.failures.send, err)
		return u.c.Err() == nil && ctx.Err() == nil
	}
	stored := r.cfg.Now().UnixNano()
	u.log.update(seq, func(e *entry) { e.storedAt = stored })
	return true
}

// receiveLoop decrypts what the relay pushes to u and hands the ids to
// the ack loop, until the connection closes.
func (r *run) receiveLoop(u *user) {
	defer r.recvWG.Done()
	for e := range u.c.Envelopes() {
		r.receive(u, e)
		u.acks.add(e.ID)
	}
}

func (r *run) receive(u *user, e client.Envelope) {
	from := r.byName[e.Sender]
	if from == nil || e.Kind != client.KindMessage || e.SenderDevice != deviceID {
		r.failures.add(&r.failures.unexpected, fmt.Errorf("unexpected envelope from %q", e.Sender))
		return
	}
	u.mu.Lock()
	pt, err := u.cipher.Decrypt(from.addr, int(e.Type), e.Content)
	u.mu.Unlock()
	now := r.cfg.Now()
	if err != nil {
		r.failures.add(&r.failures.decrypt, err)
		return
	}
	kind, seq, _, err := parsePlaintext(pt)
	if err != nil {
		r.failures.add(&r.failures.unexpected, err)
		return
	}
	switch {
	case kind == kindData && from == u.from:
		dup := false
		from.log.update(seq, func(e *entry) {
			e.deliveries++
			dup = e.deliveries > 1
			if !dup {
				e.deliveredAt = now.UnixNano()
			}
		})
		if dup {
			r.failures.duplicates.Add(1)
		}
	case kind == kindHello:
		if from == u.to {
			u.markReady() // two users: this is the session to send on
		}
		go func() {
			ctx, cancel := context.WithTimeout(r.ctx, setupTimeout)
			defer cancel()
			if err := u.sendControl(ctx, from, kindReply, r.cfg.Now()); err != nil {
				r.failures.add(&r.failures.send, err)
			}
		}()
	case kind == kindReply && from == u.to:
		u.markReady()
	default:
		r.failures.add(&r.failures.unexpected, fmt.Errorf("unexpected message of kind %d from %s", kind, from.name))
	}
}

// drain waits, up to drainTimeout, until every stored message has been
// delivered, and returns how long it took.
func (r *run) drain(ctx context.Context) time.Duration {
	began := r.cfg.Now()
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	deadline := time.After(drainTimeout)
	for r.undelivered.Load() > 0 {
		select {
		case <-t.C:
		case <-deadline:
			return r.cfg.Now().Sub(began)
		case <-ctx.Done():
			return r.cfg.Now().Sub(began)
		}
	}
	return r.cfg.Now().Sub(began)
}

// acker collects the ids a user has received, for its ack loop.
type acker struct {
	mu       sync.Mutex
	idle     *sync.Cond // signalled when nothing waits and no Ack is in flight
	ids      []uint64
	inflight bool
	stopped  bool // the ack loop has exited: the connection is gone
	notify   chan struct{}
}

func newAcker() *acker {
	a := &acker{notify: make(chan struct{}, 1)}
	a.idle = sync.NewCond(&a.mu)
	return a
}

func (a *acker) add(id uint64) {
	a.mu.Lock()
	if !a.stopped {
		a.ids = append(a.ids, id)
	}
	a.mu.Unlock()
	select {
	case a.notify <- struct{}{}:
	default:
	}
}

// take returns up to maxAck ids and marks an Ack in flight if there are
// any.
func (a *acker) take() []uint64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := min(len(a.ids), maxAck)
	ids := append([]uint64(nil), a.ids[:n]...)
	a.ids = append(a.ids[:0], a.ids[n:]...)
	a.inflight = n > 0
	if !a.inflight {
		a.idle.Broadcast()
	}
	return ids
}

// stop marks the ack loop gone.
func (a *acker) stop() {
	a.mu.Lock()
	a.stopped, a.ids, a.inflight = true, nil, false
	a.idle.Broadcast()
	a.mu.Unlock()
}

// waitIdle returns once no id waits and no Ack is in flight, or once the
// ack loop has exited.
func (a *acker) waitIdle() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for !a.stopped && (a.inflight || len(a.ids) > 0) {
		a.idle.Wait()
	}
}

// ackLoop acknowledges u's received envelopes, one Ack in flight at a
// time: while it waits for the relay's commit, ids pile up for the next.
// It runs until the connection closes.
func (r *run) ackLoop(u *user) {
	defer r.recvWG.Done()
	defer u.acks.stop()
	for {
		select {
		case <-u.acks.notify:
		case <-u.c.Done():
			return
		}
		for {
			ids := u.acks.take()
			if len(ids) == 0 {
				break
			}
			ctx, cancel := context.WithTimeout(r.ctx, setupTimeout)
			err := u.c.Ack(ctx, ids...)
			cancel()
			if err != nil {
				r.failures.add(&r.failures.ack, err)
				if u.c.Err() != nil {
					return
				}
			}
		}
	}
}

// failures counts what went wrong during a run and keeps the first error.
type failures struct {
	send, encrypt, decrypt, ack, unexpected, duplicates atomic.Int64

	mu    sync.Mutex
	first error
}

func (f *failures) add(counter *atomic.Int64, err error) {
	counter.Add(1)
	f.mu.Lock()
	if f.first == nil {
		f.first = err
	}
	f.mu.Unlock()
}

func (f *failures) firstError() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.first == nil {
		return ""
	}
	return f.first.Error()
}

func (f *failures) summary() string {
	return fmt.Sprintf("send errors %d, decrypt errors %d, first: %s", f.send.Load(), f.decrypt.Load(), f.firstError())
}
