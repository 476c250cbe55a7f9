package relay

import (
	"context"
	"errors"

	"github.com/blindpost/blindpost/proto/relaypb"
	"github.com/blindpost/blindpost/relay/protocol"
	"github.com/blindpost/blindpost/relay/store"
)

// handleSend stores a message and answers only once it is durable; then it
// wakes the recipient's connection, if online.
func (c *conn) handleSend(id uint64, m *relaypb.Send) error {
	if protocol.CheckName(m.Recipient) != nil || protocol.CheckDevice(m.RecipientDevice) != nil || len(m.Content) == 0 {
		c.s.metrics.sendsRefused.Add(1)
		return c.respond(id, relaypb.Status_STATUS_BAD_REQUEST, "bad recipient or empty content", nil)
	}
	if len(m.Content) > c.s.limits.MaxContentSize {
		c.s.metrics.sendsRefused.Add(1)
		return c.respond(id, relaypb.Status_STATUS_TOO_LARGE, "content too large", nil)
	}
	sender, _ := c.identity()
	now := c.s.now()
	e := store.Envelope{
		Kind:       store.KindMessage,
		Sender:     sender,
		Recipient:  store.Address{Name: m.Recipient, Device: m.RecipientDevice},
		Type:       m.Type,
		Content:    m.Content,
		ServerTime: now,
	}
	_, err := c.s.store.Enqueue(context.Background(), e)
	switch {
	case errors.Is(err, store.ErrNotFound):
		c.s.metrics.sendsRefused.Add(1)
		return c.respond(id, relaypb.Status_STATUS_NOT_FOUND, "no such recipient device", nil)
	case errors.Is(err, store.ErrQueueFull):
		c.s.metrics.sendsRefused.Add(1)
		return c.respond(id, relaypb.Status_STATUS_QUEUE_FULL, "recipient queue full", nil)
	case err != nil:
		return c.storeFailed(id, err)
	}
	c.s.metrics.messagesStored.Add(1)
	c.s.presence.wake(e.Recipient)
	return c.respond(id, relaypb.Status_STATUS_OK, "", &relaypb.Sent{ServerTimeMs: now.UnixMilli()})
}

// handleAck deletes acknowledged envelopes and frees their place in the
// delivery window.
func (c *conn) handleAck(id uint64, a *relaypb.Ack) error {
	if len(a.Ids) == 0 || len(a.Ids) > maxAckIDs {
		return c.respond(id, relaypb.Status_STATUS_BAD_REQUEST, "bad ack", nil)
	}
	addr, _ := c.identity()
	c.unmarkPushed(a.Ids)
	if err := c.s.store.Ack(context.Background(), addr, a.Ids); err != nil {
		return c.storeFailed(id, err)
	}
	c.s.metrics.messagesAcked.Add(int64(len(a.Ids)))
	return c.respond(id, relaypb.Status_STATUS_OK, "", nil)
}

// wakeDelivery tells the delivery loop to look at the queue again.
func (c *conn) wakeDelivery() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// deliverLoop pushes the device's queue in id order, at most
// deliveryWindow envelopes ahead of the acknowledgements. The store is the
// only source: a wake-up makes the loop read what was committed after the
// last envelope it pushed, so no envelope is pushed before it is durable
// and none is skipped. After the first pass it sends QueueEmpty once.
func (c *conn) deliverLoop() {
	defer close(c.deliveryDone)
	addr, _ := c.identity()
	var after uint64
	announced := false
	for {
		if space := deliveryWindow - c.windowUsed(); space > 0 {
			limit := min(space, pendingBatch)
			notBefore := c.s.now().Add(-c.s.limits.QueueTTL)
			envs, err := c.s.store.Pending(context.Background(), addr, after, limit, notBefore)
			if err != nil {
				if !errors.Is(err, store.ErrClosed) {
					c.log.Error("reading queue failed", "err", err)
				}
				c.closeWith(closeInternal, "storage unavailable")
				return
			}
			for _, e := range envs {
				c.markPushed(e.ID)
				if c.push(envelopeFrame(e)) != nil {
					return
				}
				c.s.metrics.messagesDelivered.Add(1)
				after = e.ID
			}
			if len(envs) == limit {
				continue
			}
			if !announced {
				announced = true
				if c.push(&relaypb.Push{Body: &relaypb.Push_QueueEmpty{QueueEmpty: &relaypb.QueueEmpty{}}}) != nil {
					return
				}
			}
		}
		select {
		case <-c.wake:
		case <-c.windowFreed:
		case <-c.closing:
			return
		}
	}
}

func envelopeFrame(e store.Envelope) *relaypb.Push {
	pe := &relaypb.Envelope{
		Id:              e.ID,
		Kind:            relaypb.EnvelopeKind(e.Kind),
		Sender:          e.Sender.Name,
		SenderDevice:    e.Sender.Device,
		Recipient:       e.Recipient.Name,
		RecipientDevice: e.Recipient.Device,
		Type:            e.Type,
		Content:         e.Content,
		ServerTimeMs:    e.ServerTime.UnixMilli(),
	}
	if e.Kind == store.KindIdentityChange {
		pe.IdentityKey = e.IdentityKey.Bytes()
	}
	return &relaypb.Push{Body: &relaypb.Push_Envelope{Envelope: pe}}
}

func (c *conn) windowUsed() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.pushed)
}

func (c *conn) markPushed(id uint64) {
	c.mu.Lock()
	c.pushed[id] = struct{}{}
	c.mu.Unlock()
}

// unmarkPushed frees the window places of acknowledged ids. Ids that were
// not pushed on this connection free nothing, so a client cannot widen its
// window by acknowledging made-up ids.
func (c *conn) unmarkPushed(ids []uint64) {
	c.mu.Lock()
	freed := false
	for _, id := range ids {
		if _, ok := c.pushed[id]; ok {
			delete(c.pushed, id)
			freed = true
		}
	}
	c.mu.Unlock()
	if freed {
		select {
		case c.windowFreed <- struct{}{}:
		default:
		}
	}
}
