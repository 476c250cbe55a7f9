package relay

import (
	"bufio"
	"errors"
	"net"
	"net/http"
	"runtime"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"google.golang.org/protobuf/proto"

	"github.com/blindpost/blindpost/proto/relaypb"
)

// sendFrame marshals a frame and queues it for the writer.
func (c *conn) sendFrame(f *relaypb.Frame) error {
	b, err := proto.Marshal(f)
	if err != nil {
		panic("relay: internal error: marshal frame: " + err.Error())
	}
	return c.enqueue(b)
}

// enqueue hands a frame to the writer. A client that leaves WriteTimeout
// worth of frames unread is dropped as a slow reader.
func (c *conn) enqueue(b []byte) error {
	select {
	case c.out <- b:
		return nil
	case <-c.closing:
		return errConnClosed
	default:
	}
	t := time.NewTimer(c.s.limits.WriteTimeout)
	defer t.Stop()
	select {
	case c.out <- b:
		return nil
	case <-c.closing:
		return errConnClosed
	case <-t.C:
		c.s.metrics.closesSlowReader.Add(1)
		c.closeWith(closeSlowReader, "slow reader")
		return errConnClosed
	}
}

// writeLoop is the only writer of data frames. When a write fails it
// closes the socket at once, which also stops the reader; otherwise run
// closes it after the close handshake.
func (c *conn) writeLoop() {
	defer close(c.writerDone)
	defer c.recoverPanic()
	ping := time.NewTicker(pingInterval)
	defer ping.Stop()
	for {
		select {
		case b := <-c.out:
			if err := c.writeQueued(b, time.Now().Add(c.s.limits.WriteTimeout)); err != nil {
				c.writeFailed(err)
				return
			}
		case <-ping.C:
			if err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(c.s.limits.WriteTimeout)); err != nil {
				c.writeFailed(err)
				return
			}
		case <-c.closing:
			c.flushAndClose()
			return
		}
	}
}

// writeQueued writes b and the frames already queued behind it, up to
// writeBatchBytes, with one write to the socket: frames that become ready
// together (the responses of one group commit, a delivery batch) cost one
// system call instead of one each. When b is alone, the writer first
// yields once, so that the goroutines readied with it (by the same
// commit) can queue their frames: on loopback a write costs the whole
// TCP path, receiver included, and 200 busy connections on two cores
// spent a quarter of the relay's CPU in them.
func (c *conn) writeQueued(b []byte, deadline time.Time) error {
	if len(c.out) == 0 {
		runtime.Gosched()
	}
	c.raw.hold()
	err := c.write(b, deadline)
	for err == nil && c.raw.buffered() < writeBatchBytes {
		select {
		case b = <-c.out:
			err = c.write(b, deadline)
			continue
		default:
		}
		break
	}
	return errors.Join(err, c.raw.release(deadline))
}

func (c *conn) write(b []byte, deadline time.Time) error {
	if err := c.ws.SetWriteDeadline(deadline); err != nil {
		return err
	}
	return c.ws.WriteMessage(websocket.BinaryMessage, b)
}

func (c *conn) writeFailed(err error) {
	defer func() {
		if err := c.ws.Close(); err != nil {
			c.log.Debug("close", "err", err)
		}
	}()
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		c.s.metrics.closesSlowReader.Add(1)
		c.closeWith(closeSlowReader, "slow reader")
		return
	}
	c.closeWith(closeNormal, "")
}

// flushAndClose writes what is queued, then the close frame, all within
// closeGrace, then leaves the reader closeGrace to see the reply.
func (c *conn) flushAndClose() {
	deadline := time.Now().Add(closeGrace)
	for {
		select {
		case b := <-c.out:
			if err := c.write(b, deadline); err != nil {
				c.writeFailed(err)
				return
			}
			continue
		default:
		}
		break
	}
	msg := websocket.FormatCloseMessage(c.closeCode, c.closeText)
	if err := c.ws.WriteControl(websocket.CloseMessage, msg, deadline); err != nil {
		c.log.Debug("close frame not sent", "err", err)
		c.writeFailed(err)
		return
	}
	if err := c.stopReading(time.Now().Add(closeGrace)); err != nil {
		c.writeFailed(err)
	}
}

// batchConn is the TCP connection under a websocket. While the writer
// holds it, the websocket's writes collect in a buffer, and release sends
// them with one write. Unheld, writes go straight through, so a control
// frame another goroutine sends (a pong, a close reply) leaves at once;
// one sent while held leaves with the batch.
type batchConn struct {
	net.Conn

	mu   sync.Mutex
	held bool
	buf  *[]byte // from batchBuffers, while held and written to
}

// batchBuffers hold batches while they are gathered: idle connections
// hold none.
var batchBuffers = sync.Pool{New: func() any {
	b := make([]byte, 0, writeBatchBytes)
	return &b
}}

// Write implements net.Conn.
func (b *batchConn) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.held {
		return b.Conn.Write(p)
	}
	if b.buf == nil {
		b.buf = batchBuffers.Get().(*[]byte)
	}
	*b.buf = append(*b.buf, p...)
	return len(p), nil
}

// SetWriteDeadline implements net.Conn. While held it does nothing: the
// batch's one write gets the deadline release sets.
func (b *batchConn) SetWriteDeadline(t time.Time) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.held {
		return nil
	}
	return b.Conn.SetWriteDeadline(t)
}

// hold makes writes collect until release.
func (b *batchConn) hold() {
	b.mu.Lock()
	b.held = true
	b.mu.Unlock()
}

// buffered is how many bytes wait for release.
func (b *batchConn) buffered() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf == nil {
		return 0
	}
	return len(*b.buf)
}

// release stops holding and writes what was collected, by deadline.
func (b *batchConn) release(deadline time.Time) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.held = false
	buf := b.buf
	if buf == nil {
		return nil
	}
	b.buf = nil
	err := b.Conn.SetWriteDeadline(deadline)
	if err == nil {
		_, err = b.Conn.Write(*buf)
	}
	if cap(*buf) <= 4*writeBatchBytes {
		*buf = (*buf)[:0]
		batchBuffers.Put(buf)
	}
	return err
}

// hijacker hands the websocket upgrader a batchConn in place of the raw
// connection.
type hijacker struct {
	http.ResponseWriter
	conn *batchConn
}

var _ http.Hijacker = (*hijacker)(nil)

// Hijack implements http.Hijacker.
func (h *hijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := h.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("relay: connection cannot be hijacked")
	}
	c, rw, err := hj.Hijack()
	if err != nil {
		return nil, nil, err
	}
	h.conn = &batchConn{Conn: c}
	return h.conn, rw, nil
}
