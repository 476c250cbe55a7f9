package loadtest

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"

	"github.com/blindpost/blindpost/relay"
)

// Embedded is a relay running in this process, with its durable bbolt
// store in a temporary folder: the real relay, minus a process boundary.
type Embedded struct {
	URL    string
	srv    *relay.Server
	dir    string
	served chan error
}

// StartEmbedded starts a relay with the default limits on a free loopback
// port. Close stops it and removes its folder.
func StartEmbedded(log *slog.Logger) (*Embedded, error) {
	dir, err := os.MkdirTemp("", "blindpost-loadtest-")
	if err != nil {
		return nil, fmt.Errorf("loadtest: %w", err)
	}
	srv, err := relay.New(relay.Config{DataDir: dir, Logger: log})
	if err != nil {
		return nil, errors.Join(fmt.Errorf("loadtest: %w", err), os.RemoveAll(dir))
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, errors.Join(fmt.Errorf("loadtest: %w", err), srv.Close(), os.RemoveAll(dir))
	}
	e := &Embedded{URL: "ws://" + ln.Addr().String(), srv: srv, dir: dir, served: make(chan error, 1)}
	go func() { e.served <- srv.Serve(ln) }()
	return e, nil
}

// Close shuts the relay down and removes its data.
func (e *Embedded) Close() error {
	err := e.srv.Close()
	return errors.Join(err, <-e.served, os.RemoveAll(e.dir))
}
