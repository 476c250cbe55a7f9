package loadtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/blindpost/blindpost/messenger"
	"github.com/blindpost/blindpost/session"
)

// run is one traffic run: its users and what went wrong.
type run struct {
	ctx    context.Context // the run's: receivers and repliers live as long
	cfg    Config
	rand   io.Reader
	users  []*user
	byName map[string]*user

	undelivered atomic.Int64 // stored messages not yet delivered, all logs
	failures    failures

	recvWG sync.WaitGroup // receive and ack loops
}

// Run sets up cfg.Clients users with confirmed sessions on the relay at
// cfg.Relay, sends for cfg.Warmup + cfg.Duration, waits for the messages
// in flight, and reports. Errors during traffic (a refused send, a
// message that does not decrypt) are counted in the Report; Run fails
// only when the setup does.
func Run(ctx context.Context, cfg Config) (Report, error) {
	cfg = cfg.withDefaults()
	if err := cfg.check(); err != nil {
		return Report{}, err
	}
	r := &run{ctx: ctx, cfg: cfg, rand: cfg.Rand}
	if r.rand == nil {
		r.rand = rand.Reader
	}
	defer r.close()
	began := cfg.Now()
	if err := r.setup(ctx); err != nil {
		return Report{}, err
	}
	setup := cfg.Now().Sub(began)
	cfg.Logger.Info("users registered, sessions confirmed", "users", len(r.users), "took", setup.Round(time.Millisecond))
	rep, err := r.traffic(ctx)
	if err != nil {
		return Report{}, err
	}
	rep.Setup = setup
	return rep, nil
}

// setup creates the users, connects and registers them, uploads their
// prekeys, starts their receivers, and runs every handshake.
func (r *run) setup(ctx context.Context) error {
	prefix, err := namePrefix(r.rand)
	if err != nil {
		return err
	}
	n := r.cfg.Clients
	r.users = make([]*user, n)
	r.byName = make(map[string]*user, n)
	for i := range n {
		u, err := newUser(r.rand, i, fmt.Sprintf("%s-%d", prefix, i))
		if err != nil {
			return err
		}
		// As blindpost's clients: PQXDH from the Kyber prekey, SPQR required.
		u.cipher = &session.Cipher{Store: u.store, Local: u.addr, Rand: r.rand, Now: r.cfg.Now, SPQRMinimum: messenger.SPQRMinimum}
		u.log.undelivered = &r.undelivered
		r.users[i], r.byName[u.name] = u, u
	}
	for i, u := range r.users {
		u.to, u.from = r.users[(i+1)%n], r.users[(i+n-1)%n]
		// With two users the ring is one pair: the first starts the
		// session and the second answers on it.
		u.initiator = n > 2 || i == 0
	}
	err = forEach(ctx, n, setupParallel, func(ctx context.Context, i int) error {
		ctx, cancel := context.WithTimeout(ctx, setupTimeout)
		defer cancel()
		u := r.users[i]
		up, err := u.prekeys(r.rand, r.cfg.Now())
		if err != nil {
			return err
		}
		if err := u.connect(ctx, r.cfg.Relay, r.rand); err != nil {
			return err
		}
		r.recvWG.Add(2)
		go r.receiveLoop(u)
		go r.ackLoop(u)
		if err := u.c.UploadPreKeys(ctx, up); err != nil {
			return fmt.Errorf("loadtest: %s: %w", u.name, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	err = forEach(ctx, n, setupParallel, func(ctx context.Context, i int) error {
		ctx, cancel := context.WithTimeout(ctx, setupTimeout)
		defer cancel()
		if u := r.users[i]; u.initiator {
			return u.initiate(ctx, r.cfg.Now())
		}
		return nil
	})
	if err != nil {
		return err
	}
	return r.waitReady(ctx)
}

// waitReady waits for every user's session to be confirmed.
func (r *run) waitReady(ctx context.Context) error {
	t := time.NewTimer(setupTimeout)
	defer t.Stop()
	for _, u := range r.users {
		select {
		case <-u.ready:
		case <-u.c.Done():
			return fmt.Errorf("loadtest: %s: connection closed during the handshake: %w", u.name, u.c.Err())
		case <-t.C:
			return fmt.Errorf("loadtest: %s: no handshake reply within %v (%s)", u.name, setupTimeout, r.failures.summary())
		case <-ctx.Done():
			return fmt.Errorf("loadtest: %w", ctx.Err())
		}
	}
	return nil
}

// close acknowledges what was received and closes every connection.
func (r *run) close() {
	// Errors here are connections already gone: nothing left to do.
	_ = forEach(context.Background(), len(r.users), 256, func(_ context.Context, i int) error {
		if u := r.users[i]; u != nil && u.c != nil {
			u.acks.waitIdle()
			return u.c.Close()
		}
		return nil
	})
	r.recvWG.Wait()
}

// namePrefix returns a fresh prefix for the run's account names, so that
// runs against the same relay never collide.
func namePrefix(rand io.Reader) (string, error) {
	var b [4]byte
	if _, err := io.ReadFull(rand, b[:]); err != nil {
		return "", fmt.Errorf("loadtest: %w", err)
	}
	return "lt" + hex.EncodeToString(b[:]), nil
}

// forEach runs fn(i) for i in [0, n) with at most parallel calls at once.
// The first error cancels the context of the others and is returned.
func forEach(ctx context.Context, n, parallel int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		next  atomic.Int64
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	for range min(n, parallel) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := fn(ctx, i); err != nil {
					once.Do(func() { first = err; cancel() })
					return
				}
			}
		}()
	}
	wg.Wait()
	if first == nil && ctx.Err() != nil {
		return fmt.Errorf("loadtest: %w", ctx.Err())
	}
	return first
}
