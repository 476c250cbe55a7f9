package relay

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"runtime"
	"runtime/debug"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"google.golang.org/protobuf/proto"

	"github.com/blindpost/blindpost/identity"
	"github.com/blindpost/blindpost/proto/relaypb"
	"github.com/blindpost/blindpost/relay/protocol"
	"github.com/blindpost/blindpost/relay/store"
)

// errConnClosed is returned when a frame is queued on a closing connection.
var errConnClosed = errors.New("relay: connection closed")

// conn is one client connection. Its goroutines:
//
//   - the reader (the HTTP handler's goroutine, in run) reads frames and
//     handles Register and Authenticate itself, in order;
//   - one goroutine per other request, at most maxInflight at once;
//   - the writer, the only one to write data frames, with a deadline;
//   - after authentication, the delivery loop, which pushes the device's
//     queue.
//
// Every goroutine recovers its own panics: a panic closes this connection
// with 1011 and leaves every other connection running.
type conn struct {
	s     *Server
	ws    *websocket.Conn
	raw   *batchConn // under ws: lets the writer batch frames
	id    uint64
	log   *slog.Logger
	nonce [protocol.ChallengeSize]byte

	out        chan []byte
	closing    chan struct{} // closed once, by closeWith
	closeOnce  sync.Once
	closeCode  int
	closeText  string
	writerDone chan struct{}

	// Reader-goroutine state.
	limiter   tokenBucket
	malformed int
	limited   int
	attempted bool // one authentication attempt per connection

	mu     sync.Mutex
	authed bool
	addr   store.Address
	key    identity.PublicKey
	pushed map[uint64]struct{} // the delivery window
	frozen bool                // the read deadline is final (closing or draining)

	requests     sync.WaitGroup
	sem          chan struct{}
	wake         chan struct{}
	windowFreed  chan struct{}
	deliveryDone chan struct{} // nil until delivery starts
}

func newConn(s *Server, ws *websocket.Conn, raw *batchConn, id uint64) *conn {
	return &conn{
		s:           s,
		ws:          ws,
		raw:         raw,
		id:          id,
		log:         s.log.With("conn", id),
		out:         make(chan []byte, outboundQueue),
		closing:     make(chan struct{}),
		writerDone:  make(chan struct{}),
		pushed:      make(map[uint64]struct{}),
		sem:         make(chan struct{}, maxInflight),
		wake:        make(chan struct{}, 1),
		windowFreed: make(chan struct{}, 1),
	}
}

// run serves the connection until it closes.
func (c *conn) run() {
	go c.writeLoop()
	defer c.finish()
	defer c.recoverPanic()
	c.log.Debug("connection open", "remote", c.ws.RemoteAddr().String())
	if err := c.sendChallenge(); err != nil {
		c.log.Error("challenge failed", "err", err)
		c.closeWith(closeInternal, "internal error")
		return
	}
	c.readLoop()
}

// finish runs once the reader has stopped: it waits for the requests in
// flight (a drain lets them complete and answer), closes the connection
// and waits for its goroutines.
func (c *conn) finish() {
	c.requests.Wait()
	c.closeWith(closeGoingAway, "relay shutting down")
	c.wait()
	if err := c.ws.Close(); err != nil {
		c.log.Debug("close", "err", err)
	}
	c.mu.Lock()
	authed, addr := c.authed, c.addr
	c.mu.Unlock()
	if authed {
		c.s.presence.remove(addr, c)
	}
	c.log.Debug("connection closed", "code", c.closeCode, "reason", c.closeText)
}

// wait returns once the writer and the delivery loop have stopped.
func (c *conn) wait() {
	<-c.writerDone
	c.mu.Lock()
	d := c.deliveryDone
	c.mu.Unlock()
	if d != nil {
		<-d
	}
}

// closeWith starts closing the connection: the writer sends what is
// queued, then a close frame with code and reason, and gives the reader
// closeGrace to see the client's close reply (frames read meanwhile are
// discarded; closing a socket with unread data would reset it and could
// destroy the close frame in flight). Only the first call counts.
func (c *conn) closeWith(code int, reason string) {
	c.closeOnce.Do(func() {
		c.closeCode, c.closeText = code, reason
		close(c.closing)
	})
}

// drain makes the reader stop at once, so that run finishes the requests
// in flight and closes with "relay shutting down".
func (c *conn) drain() {
	if err := c.stopReading(time.Now()); err != nil {
		c.abort()
	}
}

// stopReading sets the final read deadline: no later extendDeadline can
// move it.
func (c *conn) stopReading(deadline time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.frozen = true
	return c.ws.SetReadDeadline(deadline)
}

// abort cuts the socket without ceremony.
func (c *conn) abort() {
	c.closeWith(closeGoingAway, "relay shutting down")
	if err := c.ws.Close(); err != nil {
		c.log.Debug("close", "err", err)
	}
}

func (c *conn) isFrozen() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.frozen
}

func (c *conn) isClosing() bool {
	select {
	case <-c.closing:
		return true
	default:
		return false
	}
}

// recoverPanic logs a panic without its arguments (they may hold request
// bytes) and closes this connection only.
func (c *conn) recoverPanic() {
	r := recover()
	if r == nil {
		return
	}
	c.s.metrics.panics.Add(1)
	what := "panic"
	if err, ok := r.(runtime.Error); ok {
		what = err.Error()
	}
	c.log.Error("handler panic recovered", "panic", what, "stack", string(debug.Stack()))
	c.closeWith(closeInternal, "internal error")
}

// goRecover runs fn in its own goroutine with panic recovery.
func (c *conn) goRecover(fn func()) {
	go func() {
		defer c.recoverPanic()
		fn()
	}()
}

func (c *conn) readLoop() {
	c.ws.SetReadLimit(c.s.limits.MaxFrameSize)
	if err := c.ws.SetReadDeadline(time.Now().Add(c.s.limits.AuthTimeout)); err != nil {
		return
	}
	c.ws.SetPongHandler(func(string) error { return c.extendDeadline() })
	for {
		mt, data, err := c.ws.ReadMessage()
		if err != nil {
			c.readFailed(err)
			return
		}
		if c.isClosing() {
			continue // discard until the client's close reply or the grace deadline
		}
		c.s.metrics.framesReceived.Add(1)
		if err := c.extendDeadline(); err != nil {
			return
		}
		if mt != websocket.BinaryMessage {
			c.closeWith(closeUnsupported, "binary frames only")
			continue
		}
		// A handler that ends the connection calls closeWith: the loop
		// then discards frames until the close handshake ends.
		c.handleFrame(data)
	}
}

// extendDeadline pushes the read deadline of an authenticated connection
// idleTimeout ahead. It holds mu so that it cannot undo a drain's
// deadline.
func (c *conn) extendDeadline() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.authed || c.frozen {
		return nil
	}
	return c.ws.SetReadDeadline(time.Now().Add(idleTimeout))
}

// readFailed closes the connection with the reason the read failed.
func (c *conn) readFailed(err error) {
	var ne net.Error
	switch {
	case c.isFrozen(), c.isClosing():
		// Draining, or the close handshake ended (reply or grace deadline).
	case errors.Is(err, websocket.ErrReadLimit):
		// gorilla/websocket has already sent close 1009 (message too big).
		c.s.metrics.closesOversize.Add(1)
		c.closeWith(closeTooBig, "frame too large")
	case errors.As(err, &ne) && ne.Timeout() && !c.isAuthed():
		c.closeWith(closeAuthTimeout, "authentication timeout")
	case errors.As(err, &ne) && ne.Timeout():
		c.closeWith(closeGoingAway, "idle timeout")
	case websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
		c.closeWith(closeNormal, "")
	default:
		c.log.Debug("read failed", "err", err)
		c.closeWith(closeMalformed, "bad websocket frame")
	}
}

// handleFrame handles one frame in the reader goroutine. Register and
// Authenticate run here, in order; other requests run in their own
// goroutines. A frame the handler cannot answer because the connection is
// closing is dropped.
func (c *conn) handleFrame(data []byte) {
	var f relaypb.Frame
	if err := proto.Unmarshal(data, &f); err != nil {
		c.malformedFrame("malformed frame")
		return
	}
	req := f.GetRequest()
	if req == nil {
		c.malformedFrame("clients send only requests")
		return
	}
	if !c.limiter.allow(c.s.now(), c.s.limits.FrameRate, c.s.limits.FrameBurst) {
		c.s.metrics.framesRateLimited.Add(1)
		c.limited++
		if c.limited > floodTolerance {
			c.s.metrics.closesFlood.Add(1)
			c.closeWith(closeFlood, "flood")
			return
		}
		c.answer(req.Id, relaypb.Status_STATUS_RATE_LIMITED, "rate limited")
		return
	}
	c.limited = 0
	switch body := req.Body.(type) {
	case *relaypb.Request_Register:
		c.handleRegister(req.Id, body.Register)
		return
	case *relaypb.Request_Authenticate:
		c.handleAuthenticate(req.Id, body.Authenticate)
		return
	case nil:
		c.answer(req.Id, relaypb.Status_STATUS_BAD_REQUEST, "unknown request")
		return
	}
	if !c.isAuthed() {
		c.answer(req.Id, relaypb.Status_STATUS_UNAUTHENTICATED, "authenticate first")
		return
	}
	select {
	case c.sem <- struct{}{}:
	case <-c.closing:
		return
	}
	c.requests.Add(1)
	c.goRecover(func() {
		defer func() { <-c.sem; c.requests.Done() }()
		c.handleRequest(req)
	})
}

// answer sends a response without a body. It fails only when the
// connection is closing, and then there is no one left to answer.
func (c *conn) answer(id uint64, status relaypb.Status, reason string) {
	if err := c.respond(id, status, reason, nil); err != nil {
		c.log.Debug("response dropped", "err", err)
	}
}

// malformedFrame answers a frame that is not a request with an error
// frame, and closes the connection after maxMalformed of them.
func (c *conn) malformedFrame(reason string) {
	c.s.metrics.framesMalformed.Add(1)
	c.malformed++
	if c.malformed >= maxMalformed {
		c.closeWith(closeMalformed, reason)
		return
	}
	err := c.push(&relaypb.Push{Body: &relaypb.Push_Error{Error: &relaypb.Error{
		Status: relaypb.Status_STATUS_BAD_REQUEST, Reason: reason,
	}}})
	if err != nil {
		c.log.Debug("error frame dropped", "err", err)
	}
}

// handleRequest runs an authenticated request in its own goroutine.
func (c *conn) handleRequest(req *relaypb.Request) {
	var err error
	switch body := req.Body.(type) {
	case *relaypb.Request_UploadPreKeys:
		err = c.handleUpload(req.Id, body.UploadPreKeys)
	case *relaypb.Request_FetchBundle:
		err = c.handleFetchBundle(req.Id, body.FetchBundle)
	case *relaypb.Request_CountPreKeys:
		err = c.handleCountPreKeys(req.Id)
	case *relaypb.Request_Send:
		err = c.handleSend(req.Id, body.Send)
	case *relaypb.Request_Ack:
		err = c.handleAck(req.Id, body.Ack)
	default:
		// A oneof case added to the proto but not here.
		err = c.respond(req.Id, relaypb.Status_STATUS_BAD_REQUEST, "unknown request", nil)
	}
	if err != nil && !errors.Is(err, errConnClosed) {
		c.log.Debug("request failed", "err", err)
	}
}

func (c *conn) isAuthed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.authed
}

func (c *conn) identity() (store.Address, identity.PublicKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.addr, c.key
}

// respond queues a Response. body is one of the Response_* oneof cases or
// nil.
func (c *conn) respond(id uint64, status relaypb.Status, reason string, body any) error {
	r := &relaypb.Response{Id: id, Status: status, Reason: reason}
	switch b := body.(type) {
	case nil:
	case *relaypb.Registered:
		r.Body = &relaypb.Response_Registered{Registered: b}
	case *relaypb.Authenticated:
		r.Body = &relaypb.Response_Authenticated{Authenticated: b}
	case *relaypb.Bundle:
		r.Body = &relaypb.Response_Bundle{Bundle: b}
	case *relaypb.PreKeyCounts:
		r.Body = &relaypb.Response_PreKeyCounts{PreKeyCounts: b}
	case *relaypb.Sent:
		r.Body = &relaypb.Response_Sent{Sent: b}
	default:
		panic("relay: internal error: unknown response body")
	}
	return c.sendFrame(&relaypb.Frame{Kind: &relaypb.Frame_Response{Response: r}})
}

func (c *conn) push(p *relaypb.Push) error {
	return c.sendFrame(&relaypb.Frame{Kind: &relaypb.Frame_Push{Push: p}})
}

func (c *conn) sendChallenge() error {
	if _, err := io.ReadFull(c.s.rand, c.nonce[:]); err != nil {
		return err
	}
	return c.push(&relaypb.Push{Body: &relaypb.Push_Challenge{Challenge: &relaypb.Challenge{
		Nonce: c.nonce[:], ServerTimeMs: c.s.now().UnixMilli(),
	}}})
}
