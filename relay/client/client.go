// Package client speaks the blindpost relay protocol: connect, register or
// authenticate, upload prekeys, fetch bundles, send, receive pushed
// envelopes and acknowledge them. It is what the chat client, the demo and
// the tests use; it knows nothing of sessions and carries only public keys
// and opaque ciphertext.
package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"google.golang.org/protobuf/proto"

	"github.com/blindpost/blindpost/proto/relaypb"
	"github.com/blindpost/blindpost/relay/protocol"
)

// Implementation constants.
const (
	// maxPendingEnvelopes caps the envelopes received and not yet taken
	// from Envelopes. The relay pushes at most 256 ahead of
	// acknowledgements, so an honest relay never reaches it; a relay that
	// does is dropped.
	maxPendingEnvelopes = 4096

	// envelopeBuffer is the capacity of the Envelopes channel: enough for
	// a consumer to take a batch at once (and acknowledge it with one
	// Ack), small enough not to weigh on idle clients.
	envelopeBuffer = 64

	// maxFrameSize caps a frame from the relay: a full window of maximal
	// envelopes still comes one frame at a time.
	maxFrameSize = 1 << 20

	// defaultTimeout bounds a request whose context has no deadline.
	defaultTimeout = 30 * time.Second
)

// Options configure a Client. The zero value works.
type Options struct {
	// Dialer dials the websocket (nil: a dialer with a 10 s handshake
	// timeout).
	Dialer *websocket.Dialer
	// Header is sent with the websocket handshake.
	Header http.Header
	// Logger receives diagnostics (nil: discarded).
	Logger *slog.Logger
	// Rand is the randomness of signatures (nil: crypto/rand).
	Rand io.Reader
}

// Client is one connection to a relay. Its methods are safe for
// concurrent use; requests may be pipelined.
type Client struct {
	ws    *websocket.Conn
	nonce [protocol.ChallengeSize]byte
	rand  io.Reader
	log   *slog.Logger

	writeMu sync.Mutex
	nextID  atomic.Uint64

	mu      sync.Mutex
	waiting map[uint64]chan *relaypb.Response
	err     error

	inbox      inbox
	envelopes  chan Envelope
	queueEmpty chan struct{}
	emptyOnce  sync.Once
	done       chan struct{} // closed by the reader when the connection ends
	closing    chan struct{} // closed by Close
	closeOnce  sync.Once
}

// Dial connects to the relay at url (ws://host:port) and reads its
// challenge.
func Dial(ctx context.Context, url string, opts Options) (*Client, error) {
	d := opts.Dialer
	if d == nil {
		d = &websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	}
	ws, resp, err := d.DialContext(ctx, url, opts.Header)
	if err != nil {
		return nil, fmt.Errorf("client: dial: %w", err)
	}
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	c := &Client{
		ws:         ws,
		rand:       opts.Rand,
		log:        opts.Logger,
		waiting:    make(map[uint64]chan *relaypb.Response),
		envelopes:  make(chan Envelope, envelopeBuffer),
		queueEmpty: make(chan struct{}),
		done:       make(chan struct{}),
		closing:    make(chan struct{}),
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	ws.SetReadLimit(maxFrameSize)
	if err := c.readChallenge(ctx); err != nil {
		ws.Close()
		return nil, err
	}
	c.inbox.notify = make(chan struct{}, 1)
	go c.readLoop()
	go c.pump()
	return c, nil
}

func (c *Client) readChallenge(ctx context.Context) error {
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(defaultTimeout)
	}
	if err := c.ws.SetReadDeadline(deadline); err != nil {
		return fmt.Errorf("client: %w", err)
	}
	f, err := c.readFrame()
	if err != nil {
		return fmt.Errorf("client: read challenge: %w", err)
	}
	ch := f.GetPush().GetChallenge()
	if ch == nil || protocol.CheckNonce(ch.Nonce) != nil {
		return errors.New("client: first frame is not a challenge")
	}
	copy(c.nonce[:], ch.Nonce)
	return c.ws.SetReadDeadline(time.Time{})
}

func (c *Client) readFrame() (*relaypb.Frame, error) {
	mt, data, err := c.ws.ReadMessage()
	if err != nil {
		return nil, err
	}
	if mt != websocket.BinaryMessage {
		return nil, errors.New("client: relay sent a text frame")
	}
	var f relaypb.Frame
	if err := proto.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("client: malformed frame: %w", err)
	}
	return &f, nil
}

// readLoop dispatches responses to their requests and pushes to the
// channels, until the connection ends.
func (c *Client) readLoop() {
	var err error
	defer func() { c.shutdown(err) }()
	for {
		var f *relaypb.Frame
		if f, err = c.readFrame(); err != nil {
			return
		}
		switch k := f.Kind.(type) {
		case *relaypb.Frame_Response:
			c.deliverResponse(k.Response)
		case *relaypb.Frame_Push:
			if err = c.handlePush(k.Push); err != nil {
				return
			}
		default:
			c.log.Debug("client: ignoring unexpected frame")
		}
	}
}

func (c *Client) deliverResponse(r *relaypb.Response) {
	c.mu.Lock()
	ch := c.waiting[r.Id]
	delete(c.waiting, r.Id)
	c.mu.Unlock()
	if ch != nil {
		ch <- r
	}
}

func (c *Client) handlePush(p *relaypb.Push) error {
	switch b := p.Body.(type) {
	case *relaypb.Push_Envelope:
		e, err := parseEnvelope(b.Envelope)
		if err != nil {
			return err
		}
		if !c.inbox.put(e) {
			return errors.New("client: relay pushed too many unacknowledged envelopes")
		}
	case *relaypb.Push_QueueEmpty:
		c.inbox.putEmpty()
	case *relaypb.Push_Error:
		c.log.Warn("client: relay reported an error", "status", b.Error.Status.String(), "reason", b.Error.Reason)
	}
	return nil
}

// shutdown records why the connection ended and fails every waiting
// request.
func (c *Client) shutdown(err error) {
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		err = &CloseError{Code: ce.Code, Reason: ce.Text}
	}
	c.mu.Lock()
	if c.err == nil {
		c.err = err
	}
	c.waiting = nil
	c.mu.Unlock()
	close(c.done)
	c.inbox.wake()
	c.ws.Close()
}

// inbox holds received envelopes until the consumer takes them, so that
// the reader never waits for the consumer: a consumer blocked on an Ack
// response would otherwise wait for a reader blocked on it.
type inbox struct {
	mu     sync.Mutex
	items  []inboxItem
	count  int // envelopes in items
	notify chan struct{}
}

// inboxItem is an envelope, or the relay's queue-empty notice, kept in
// the order they arrived so that QueueEmpty closes only after every
// envelope pushed before the notice is on the Envelopes channel.
type inboxItem struct {
	env   Envelope
	empty bool
}

// put queues e and reports false if the inbox is full.
func (b *inbox) put(e Envelope) bool {
	b.mu.Lock()
	if b.count >= maxPendingEnvelopes {
		b.mu.Unlock()
		return false
	}
	b.items = append(b.items, inboxItem{env: e})
	b.count++
	b.mu.Unlock()
	b.wake()
	return true
}

// putEmpty queues the queue-empty notice behind the envelopes before it.
func (b *inbox) putEmpty() {
	b.mu.Lock()
	b.items = append(b.items, inboxItem{empty: true})
	b.mu.Unlock()
	b.wake()
}

func (b *inbox) wake() {
	select {
	case b.notify <- struct{}{}:
	default:
	}
}

func (b *inbox) take() []inboxItem {
	b.mu.Lock()
	defer b.mu.Unlock()
	items := b.items
	b.items = nil
	b.count = 0
	return items
}

// hand passes one inbox item on: an envelope to Envelopes, the notice to
// QueueEmpty. It reports false when the client is closing.
func (c *Client) hand(it inboxItem) bool {
	if it.empty {
		c.emptyOnce.Do(func() { close(c.queueEmpty) })
		return true
	}
	select {
	case c.envelopes <- it.env:
		return true
	case <-c.closing:
		return false
	}
}

// pump hands queued envelopes to Envelopes in order. Once the connection
// has ended it hands over what is left, then closes the channel.
func (c *Client) pump() {
	defer close(c.envelopes)
	for {
		for _, it := range c.inbox.take() {
			if !c.hand(it) {
				return
			}
		}
		select {
		case <-c.inbox.notify:
		case <-c.done:
			for _, it := range c.inbox.take() {
				if !c.hand(it) {
					return
				}
			}
			return
		case <-c.closing:
			return
		}
	}
}

// Envelopes delivers pushed envelopes in the order the relay pushed them.
// It is closed when the connection ends. Each envelope must be
// acknowledged with Ack, or it is pushed again on the next connection.
func (c *Client) Envelopes() <-chan Envelope { return c.envelopes }

// QueueEmpty is closed once the relay has pushed every envelope that was
// queued when this connection authenticated.
func (c *Client) QueueEmpty() <-chan struct{} { return c.queueEmpty }

// Done is closed when the connection has ended; Err then says why.
func (c *Client) Done() <-chan struct{} { return c.done }

// Err returns why the connection ended (a *CloseError if the relay closed
// it with a code), or nil while it is open.
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Close sends a normal close frame, waits up to a second for the relay to
// answer it, and closes the connection. Envelopes not acknowledged are
// pushed again on the next connection.
func (c *Client) Close() error {
	c.closeOnce.Do(func() { close(c.closing) })
	// An error here means the connection is already gone: nothing to do.
	_ = c.ws.WriteControl(websocket.CloseMessage,
		websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	select {
	case <-c.done:
	case <-time.After(time.Second):
		c.ws.Close()
		<-c.done
	}
	return nil
}

// do sends a request and waits for its response. A status other than OK
// becomes a *StatusError.
func (c *Client) do(ctx context.Context, req *relaypb.Request) (*relaypb.Response, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultTimeout)
		defer cancel()
	}
	req.Id = c.nextID.Add(1)
	ch := make(chan *relaypb.Response, 1)
	c.mu.Lock()
	if c.waiting == nil {
		err := c.err
		c.mu.Unlock()
		return nil, fmt.Errorf("client: connection closed: %w", err)
	}
	c.waiting[req.Id] = ch
	c.mu.Unlock()

	if err := c.write(ctx, &relaypb.Frame{Kind: &relaypb.Frame_Request{Request: req}}); err != nil {
		c.forget(req.Id)
		return nil, err
	}
	select {
	case r := <-ch:
		return responseResult(r)
	case <-ctx.Done():
		c.forget(req.Id)
		return nil, fmt.Errorf("client: %w", ctx.Err())
	case <-c.done:
		// The reader delivers a response before it notices the close that
		// may follow it (a refused authentication is answered, then
		// closed): prefer the answer when there is one.
		select {
		case r := <-ch:
			return responseResult(r)
		default:
		}
		return nil, fmt.Errorf("client: connection closed: %w", c.Err())
	}
}

func responseResult(r *relaypb.Response) (*relaypb.Response, error) {
	if r.Status != relaypb.Status_STATUS_OK {
		return r, &StatusError{Status: r.Status, Reason: r.Reason}
	}
	return r, nil
}

func (c *Client) forget(id uint64) {
	c.mu.Lock()
	if c.waiting != nil {
		delete(c.waiting, id)
	}
	c.mu.Unlock()
}

func (c *Client) write(ctx context.Context, f *relaypb.Frame) error {
	b, err := proto.Marshal(f)
	if err != nil {
		return fmt.Errorf("client: marshal: %w", err)
	}
	deadline, _ := ctx.Deadline()
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if err := c.ws.SetWriteDeadline(deadline); err != nil {
		return fmt.Errorf("client: %w", err)
	}
	if err := c.ws.WriteMessage(websocket.BinaryMessage, b); err != nil {
		return fmt.Errorf("client: write: %w", err)
	}
	return nil
}
