package relay

import (
	"errors"
	"net"
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
			if err := c.write(b, time.Now().Add(c.s.limits.WriteTimeout)); err != nil {
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
