package relay

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/blindpost/blindpost/relay/store"
)

// Config configures a Server. Only Store or DataDir is required.
type Config struct {
	// Store is the relay's storage. If nil, New opens a bbolt store in
	// DataDir, and Close closes it.
	Store   store.Store
	DataDir string
	// Logger receives the relay's logs; it never gets message content,
	// keys or secrets. Nil discards.
	Logger *slog.Logger
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// Rand is the source of challenges and salts (nil: crypto/rand).
	Rand io.Reader
	// Limits are the caps; zero fields take DefaultLimits. QueueCap and
	// MaxDevices are enforced by the store: they reach a store that New
	// opens, while a Store passed in carries its own store.Options.
	Limits Limits
}

// Server is the blind relay. It is an http.Handler serving the websocket
// endpoint on "/", plus "/healthz" and "/metrics".
type Server struct {
	store     store.Store
	ownsStore bool
	log       *slog.Logger
	now       func() time.Time
	rand      io.Reader
	limits    Limits

	metrics  metrics
	presence *presence
	bundles  *keyedLimiter
	upgrader websocket.Upgrader
	mux      *http.ServeMux

	mu       sync.Mutex
	closing  bool
	conns    map[*conn]struct{}
	servers  []*http.Server
	nextID   uint64
	connsWG  sync.WaitGroup
	stop     chan struct{}
	bgDone   chan struct{}
	closeErr error
	closed   chan struct{}
}

var _ http.Handler = (*Server)(nil)

// New returns a relay ready to serve. It starts the background sweeper of
// expired envelopes; call Close to stop it.
func New(cfg Config) (*Server, error) {
	s := &Server{
		store:    cfg.Store,
		log:      cfg.Logger,
		now:      cfg.Now,
		rand:     cfg.Rand,
		limits:   cfg.Limits.withDefaults(),
		presence: newPresence(),
		conns:    make(map[*conn]struct{}),
		stop:     make(chan struct{}),
		bgDone:   make(chan struct{}),
		closed:   make(chan struct{}),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.rand == nil {
		s.rand = rand.Reader
	}
	if s.store == nil {
		if cfg.DataDir == "" {
			return nil, errors.New("relay: config needs a Store or a DataDir")
		}
		st, err := store.Open(cfg.DataDir, store.Options{
			QueueCap:   s.limits.QueueCap,
			MaxDevices: s.limits.MaxDevices,
			Logger:     s.log,
		})
		if err != nil {
			return nil, fmt.Errorf("relay: %w", err)
		}
		s.store, s.ownsStore = st, true
	}
	s.bundles = newKeyedLimiter(s.limits.BundleFetches, s.limits.BundleWindow)
	s.upgrader = websocket.Upgrader{
		ReadBufferSize:  4096,
		WriteBufferSize: 4096,
		// Idle connections share write buffers instead of holding 4 KiB
		// each: 10,000 idle clients must fit in 1 GiB.
		WriteBufferPool: &sync.Pool{},
		// Clients are programs, not browsers; there is no ambient
		// authority (cookies) for a cross-origin page to abuse.
		CheckOrigin: func(*http.Request) bool { return true },
	}
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("GET /{$}", s.serveWebsocket)
	s.mux.HandleFunc("GET /healthz", s.serveHealth)
	s.mux.HandleFunc("GET /metrics", s.serveMetrics)
	go s.background()
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Serve accepts connections on l until Close. It returns nil after Close.
func (s *Server) Serve(l net.Listener) error {
	hs := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return errors.New("relay: serve: closed")
	}
	s.servers = append(s.servers, hs)
	s.mu.Unlock()
	err := hs.Serve(l)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return fmt.Errorf("relay: serve: %w", err)
}

// Close shuts the relay down gracefully; see Shutdown.
func (s *Server) Close() error {
	return s.Shutdown(context.Background())
}

// Shutdown stops accepting connections, lets every connection finish the
// requests it has started (their writes commit and their responses go
// out), closes the connections with "relay shutting down", and closes the
// store if New opened it. If ctx ends first, the remaining connections
// are cut.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		<-s.closed
		return s.closeErr
	}
	s.closing = true
	servers := s.servers
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()

	var errs []error
	for _, hs := range servers {
		if err := hs.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("relay: shutdown listener: %w", err))
		}
	}
	for _, c := range conns {
		c.drain()
	}
	done := make(chan struct{})
	go func() { s.connsWG.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		for _, c := range conns {
			c.abort()
		}
		<-done
	}
	close(s.stop)
	<-s.bgDone
	if s.ownsStore {
		if err := s.store.Close(); err != nil {
			errs = append(errs, fmt.Errorf("relay: %w", err))
		}
	}
	s.closeErr = errors.Join(errs...)
	close(s.closed)
	return s.closeErr
}

func (s *Server) serveWebsocket(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		http.Error(w, "relay shutting down", http.StatusServiceUnavailable)
		return
	}
	s.connsWG.Add(1)
	s.nextID++
	id := s.nextID
	s.mu.Unlock()
	defer s.connsWG.Done()

	hj := &hijacker{ResponseWriter: w}
	ws, err := s.upgrader.Upgrade(hj, r, nil)
	if err != nil {
		// Upgrade has already answered the client.
		s.log.Debug("websocket upgrade failed", "conn", id, "err", err)
		return
	}
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		msg := websocket.FormatCloseMessage(closeGoingAway, "relay shutting down")
		err := errors.Join(ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(closeGrace)), ws.Close())
		s.log.Debug("connection refused at shutdown", "conn", id, "err", err)
		return
	}
	c := newConn(s, ws, hj.conn, id)
	s.conns[c] = struct{}{}
	s.mu.Unlock()
	s.metrics.connectionsTotal.Add(1)
	s.metrics.connectionsOpen.Add(1)

	c.run()

	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.metrics.connectionsOpen.Add(-1)
}

// serveHealth answers 200 when the store can be read.
func (s *Server) serveHealth(w http.ResponseWriter, r *http.Request) {
	if _, err := s.store.Account(r.Context(), "healthz"); err != nil && !errors.Is(err, store.ErrNotFound) {
		s.log.Warn("health check failed", "err", err)
		http.Error(w, "store unavailable", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintln(w, "ok")
}

func (s *Server) serveMetrics(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	if err := writeMetrics(w, s.metrics.list(s.commitStats)); err != nil {
		s.log.Debug("metrics write failed", "err", err)
	}
}

func (s *Server) commitStats() (commits, ops uint64) {
	if b, ok := s.store.(*store.Bolt); ok {
		st := b.Stats()
		return st.Commits, st.Ops
	}
	return 0, 0
}

// background deletes expired envelopes and forgets refilled rate-limit
// buckets, once at start and then every sweepInterval.
func (s *Server) background() {
	defer close(s.bgDone)
	t := time.NewTicker(sweepInterval)
	defer t.Stop()
	for {
		s.sweep()
		select {
		case <-t.C:
		case <-s.stop:
			return
		}
	}
}

func (s *Server) sweep() {
	now := s.now()
	s.bundles.prune(now)
	before := now.Add(-s.limits.QueueTTL)
	for {
		n, err := s.store.Expire(context.Background(), before, sweepChunk)
		if err != nil {
			if !errors.Is(err, store.ErrClosed) {
				s.log.Error("expiry sweep failed", "err", err)
			}
			return
		}
		s.metrics.envelopesExpired.Add(int64(n))
		if n < sweepChunk {
			return
		}
	}
}
