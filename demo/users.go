package demo

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/blindpost/blindpost/messenger"
	"github.com/blindpost/blindpost/profile"
	"github.com/blindpost/blindpost/session"
)

// user is one demo participant: a messenger with its own profile, run in
// the background, whose events the demo waits on.
type user struct {
	name   string
	m      *messenger.Messenger
	p      *profile.Profile
	events chan messenger.Event
	cancel context.CancelFunc
	done   chan struct{}
}

func newUser(d *run, name string) (*user, error) {
	p, err := profile.Open(filepath.Join(d.phase, "clients", name, "profile.db"), nil)
	if err != nil {
		return nil, err
	}
	if _, _, err := messenger.Setup(p, name, d.rand, time.Now()); err != nil {
		p.Close()
		return nil, err
	}
	u := &user{name: name, p: p, events: make(chan messenger.Event, 256)}
	u.m, err = messenger.New(messenger.Config{Profile: p, Relay: d.url, Rand: d.rand,
		OnEvent: func(e messenger.Event) { u.events <- e }})
	if err != nil {
		p.Close()
		return nil, err
	}
	return u, nil
}

// start runs the user's client (connect, receive, reconnect) until stop.
func (u *user) start(ctx context.Context) error {
	ctx, u.cancel = context.WithCancel(ctx)
	u.done = make(chan struct{})
	go func() {
		defer close(u.done)
		u.m.Run(ctx)
	}()
	return u.waitFor(ctx, 10*time.Second, func(e messenger.Event) bool { return e.Kind == messenger.EventConnected })
}

// stop takes the user offline.
func (u *user) stop() {
	if u.cancel != nil {
		u.cancel()
		<-u.done
		u.cancel = nil
	}
	u.m.Close()
}

func (u *user) close() {
	u.stop()
	u.p.Close()
}

// waitFor consumes events until one matches.
func (u *user) waitFor(ctx context.Context, limit time.Duration, match func(messenger.Event) bool) error {
	timeout := time.After(limit)
	for {
		select {
		case e := <-u.events:
			if match(e) {
				return nil
			}
		case <-timeout:
			return fmt.Errorf("demo: %s: timed out waiting", u.name)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// state returns the user's current session with name, if any.
func (u *user) state(name string) (session.State, bool) {
	rec, ok, err := u.p.Record(session.Address{Name: name, DeviceID: messenger.DeviceID})
	if err != nil || !ok || rec.Current == nil {
		return session.State{}, false
	}
	return *rec.Current, true
}

// drain discards the events received so far.
func (u *user) drain() {
	for {
		select {
		case <-u.events:
		default:
			return
		}
	}
}
