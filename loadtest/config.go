package loadtest

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"time"
)

// Implementation constants, each with its trade-off.
const (
	// DefaultClients, DefaultDuration, DefaultWarmup and DefaultInflight
	// are the flags' defaults: enough users that the relay's per-connection
	// frame limit (1,000/s) is not what bounds the run.
	DefaultClients  = 200
	DefaultDuration = 10 * time.Second
	DefaultWarmup   = 2 * time.Second
	DefaultInflight = 16

	// DefaultSize is the plaintext size: Signal pads message content to
	// multiples of 160 bytes, so a short text is 160 bytes before
	// encryption (about 240 bytes on the wire).
	DefaultSize = 160

	// setupParallel bounds the users registering at once. More overlaps
	// more round trips but queues more XEdDSA verifications on the relay.
	setupParallel = 64

	// setupTimeout bounds each setup step of one user (dial, register,
	// upload, handshake).
	setupTimeout = 60 * time.Second

	// drainTimeout is how long the sent messages have, once sending
	// stops, to be delivered; what is still missing then counts as lost.
	drainTimeout = 15 * time.Second

	// maxAck is the most ids one Ack carries (the relay's cap, a full
	// delivery window).
	maxAck = 256

	// metricsTimeout bounds a scrape of the relay's /metrics.
	metricsTimeout = 5 * time.Second

	// sourceAddrs is how many loopback source addresses (127.0.0.1,
	// 127.0.0.2, ...) connections are spread over on Linux, each with its
	// own ~28,000 ephemeral ports, so that 10,000 connections plus the
	// TIME_WAIT sockets of earlier runs do not run out of ports.
	sourceAddrs = 8
)

// Config configures a run. Relay is required; zero fields take the
// defaults above.
type Config struct {
	// Relay is the relay's websocket URL, ws://HOST:PORT on a loopback
	// address: the load test refuses to load anything else.
	Relay string
	// Clients is the number of simulated users.
	Clients int
	// Duration is the measured window; Warmup runs traffic before it,
	// unmeasured (negative: none).
	Duration, Warmup time.Duration
	// Rate is the target of messages per second over all users; 0 sends
	// as fast as the relay answers, Inflight sends at a time per user.
	Rate float64
	// Inflight caps the sends awaiting the relay's answer, per user.
	Inflight int
	// Size is the plaintext size in bytes (at least headerSize).
	Size int
	// RelayPID is the relay's process id, to read its CPU time from
	// /proc (0: unknown). InProcess says the relay runs in this process
	// (embedded): this process's CPU time is then both sides'.
	RelayPID  int
	InProcess bool
	// Logger receives progress (nil: discarded).
	Logger *slog.Logger
	// Rand is the randomness of keys and signatures (nil: crypto/rand).
	Rand io.Reader
	// Now is the clock of timestamps and pacing (nil: time.Now).
	Now func() time.Time
}

func (c Config) withDefaults() Config {
	if c.Clients == 0 {
		c.Clients = DefaultClients
	}
	if c.Duration == 0 {
		c.Duration = DefaultDuration
	}
	if c.Warmup == 0 {
		c.Warmup = DefaultWarmup
	}
	if c.Warmup < 0 {
		c.Warmup = 0
	}
	if c.Inflight == 0 {
		c.Inflight = DefaultInflight
	}
	if c.Size == 0 {
		c.Size = DefaultSize
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

func (c Config) check() error {
	if _, err := CheckLoopback(c.Relay); err != nil {
		return err
	}
	switch {
	case c.Clients < 2:
		return errors.New("loadtest: need at least 2 clients")
	case c.Duration <= 0:
		return errors.New("loadtest: duration must be positive")
	case c.Rate < 0:
		return errors.New("loadtest: rate must not be negative")
	case c.Inflight < 1:
		return errors.New("loadtest: inflight must be at least 1")
	case c.Size < headerSize || c.Size > 64<<10:
		return fmt.Errorf("loadtest: size must be %d to 65536 bytes", headerSize)
	}
	return nil
}

// CheckLoopback parses a relay URL and refuses anything but ws:// on a
// loopback address (an IP literal, or "localhost"). It returns the
// host:port.
func CheckLoopback(relayURL string) (string, error) {
	u, err := url.Parse(relayURL)
	if err != nil {
		return "", fmt.Errorf("loadtest: relay URL: %w", err)
	}
	if u.Scheme != "ws" || u.Host == "" || u.Port() == "" {
		return "", fmt.Errorf("loadtest: relay URL %q: want ws://HOST:PORT", relayURL)
	}
	host := u.Hostname()
	if host != "localhost" {
		ip := net.ParseIP(host)
		if ip == nil || !ip.IsLoopback() {
			return "", fmt.Errorf("loadtest: relay %q is not on a loopback address: the load test only loads a local relay", host)
		}
	}
	return u.Host, nil
}
