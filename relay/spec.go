package relay

import "time"

// Limits are the caps the relay enforces on what clients control. Each one
// is a flag of `blindpost relay`; a zero field in Config.Limits takes the
// default below.
type Limits struct {
	// MaxContentSize caps the opaque content of one message. Default 96 KiB,
	// Signal-Server's cap: enough for any text message and a sealed
	// attachment pointer; attachments themselves do not go through the
	// relay.
	MaxContentSize int
	// MaxFrameSize caps one websocket frame, checked before the frame is
	// read into memory. Default 512 KiB, Signal-Server's cap: room for a
	// full prekey upload (100 Kyber keys of 1.6 KiB each) and a message.
	MaxFrameSize int64
	// QueueCap caps the envelopes queued for one device. Default 10,000:
	// a month of heavy use offline; the worst case on disk is
	// QueueCap x MaxContentSize (about 1 GiB) per device. At the cap a
	// send is refused with STATUS_QUEUE_FULL, never silently dropped.
	QueueCap int
	// QueueTTL is how long an undelivered envelope is kept. Default 30
	// days, as Signal-Server; a longer time keeps more metadata.
	QueueTTL time.Duration
	// MaxPreKeysPerUpload caps the one-time prekeys of each kind in one
	// upload. Default 100, as Signal-Server. Since an upload replaces the
	// device's one-time keys, it also caps what a device holds.
	MaxPreKeysPerUpload int
	// BundleFetches bundle fetches per BundleWindow are allowed for each
	// (requester, target) pair. Default 6 per 10 minutes, as Signal-Server:
	// enough to start sessions with every device, too few to drain a
	// victim's one-time prekeys.
	BundleFetches int
	BundleWindow  time.Duration
	// FrameRate and FrameBurst bound the frames one connection may send
	// (token bucket). Default 1,000/s with a burst of 2,000: far above a
	// chat client, low enough that one connection cannot monopolize the
	// committer. A load generator wanting more opens more connections.
	FrameRate  float64
	FrameBurst int
	// MaxDevices caps the devices of one account. Default 6 (a primary
	// and five linked devices, as Signal).
	MaxDevices int
	// AuthTimeout is how long a connection may stay unauthenticated.
	// Default 10 s.
	AuthTimeout time.Duration
	// WriteTimeout is how long a write to a client may block before the
	// client is dropped as a slow reader. Default 10 s.
	WriteTimeout time.Duration
}

// DefaultLimits returns the limits used when a field is left zero.
func DefaultLimits() Limits {
	return Limits{
		MaxContentSize:      96 << 10,
		MaxFrameSize:        512 << 10,
		QueueCap:            10_000,
		QueueTTL:            30 * 24 * time.Hour,
		MaxPreKeysPerUpload: 100,
		BundleFetches:       6,
		BundleWindow:        10 * time.Minute,
		FrameRate:           1000,
		FrameBurst:          2000,
		MaxDevices:          6,
		AuthTimeout:         10 * time.Second,
		WriteTimeout:        10 * time.Second,
	}
}

// withDefaults fills zero fields from DefaultLimits.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxContentSize == 0 {
		l.MaxContentSize = d.MaxContentSize
	}
	if l.MaxFrameSize == 0 {
		l.MaxFrameSize = d.MaxFrameSize
	}
	if l.QueueCap == 0 {
		l.QueueCap = d.QueueCap
	}
	if l.QueueTTL == 0 {
		l.QueueTTL = d.QueueTTL
	}
	if l.MaxPreKeysPerUpload == 0 {
		l.MaxPreKeysPerUpload = d.MaxPreKeysPerUpload
	}
	if l.BundleFetches == 0 {
		l.BundleFetches = d.BundleFetches
	}
	if l.BundleWindow == 0 {
		l.BundleWindow = d.BundleWindow
	}
	if l.FrameRate == 0 {
		l.FrameRate = d.FrameRate
	}
	if l.FrameBurst == 0 {
		l.FrameBurst = d.FrameBurst
	}
	if l.MaxDevices == 0 {
		l.MaxDevices = d.MaxDevices
	}
	if l.AuthTimeout == 0 {
		l.AuthTimeout = d.AuthTimeout
	}
	if l.WriteTimeout == 0 {
		l.WriteTimeout = d.WriteTimeout
	}
	return l
}

// Implementation constants: fixed, each with its trade-off.
const (
	// deliveryWindow is the most envelopes pushed to one connection and
	// not yet acknowledged. It bounds the memory a slow client costs and
	// what is redelivered after a drop; a larger window hides more
	// round-trip latency.
	deliveryWindow = 256

	// pendingBatch is how many envelopes one store read fetches for
	// delivery.
	pendingBatch = 64

	// maxAckIDs caps the ids of one Ack request: a full window.
	maxAckIDs = deliveryWindow

	// maxInflight is how many requests of one connection run at once.
	// Sends wait for a commit, so a pipelining client needs several in
	// flight to fill batches; more would let one client fill the
	// committer's queue.
	maxInflight = 64

	// outboundQueue is how many frames may wait for the writer of one
	// connection. Its buffer is allocated with the connection, so it is
	// kept small for idle connections; when it is full the pushes and
	// responses wait for the writer, up to WriteTimeout.
	outboundQueue = 64

	// writeBatchBytes caps the bytes of queued frames the writer gathers
	// into one write to the socket. Larger batches save system calls when a
	// burst of frames is ready (the responses of one group commit, a
	// delivery batch); the buffer is pooled, so idle connections hold none.
	writeBatchBytes = 64 << 10

	// maxMalformed malformed frames close a connection: a client that
	// sends garbage is broken or hostile, but one bad frame deserves an
	// error frame first.
	maxMalformed = 3

	// floodTolerance is how many frames over the rate limit are answered
	// with STATUS_RATE_LIMITED before the connection is closed.
	floodTolerance = 100

	// pingInterval is how often the relay pings an idle client; a client
	// silent for idleTimeout is dropped. Longer intervals cost less for
	// idle connections but keep dead ones longer.
	pingInterval = 30 * time.Second
	idleTimeout  = 2*pingInterval + 10*time.Second

	// closeGrace bounds the wait to write a close frame.
	closeGrace = time.Second

	// sweepInterval is how often expired envelopes are deleted; they are
	// never delivered once expired, so this only bounds disk use.
	sweepInterval = time.Hour
	// sweepChunk is how many envelopes one sweep transaction deletes, so
	// that a sweep never holds the committer for long.
	sweepChunk = 5_000

	// limiterPruneSize is how many (requester, target) entries the bundle
	// rate limiter keeps before it drops those that have refilled.
	limiterPruneSize = 100_000
)

// Websocket close codes the relay sends (RFC 6455 §7.4; 4000-4999 are
// private to this protocol). Each close also carries a short reason.
const (
	closeNormal       = 1000
	closeGoingAway    = 1001
	closeUnsupported  = 1003
	closeTooBig       = 1009
	closeInternal     = 1011
	closeMalformed    = 4000
	closeAuthFailed   = 4001
	closeFlood        = 4002
	closeSlowReader   = 4003
	closeReplaced     = 4004
	closeAuthTimeout  = 4005
	closeIdentityGone = 4006
)
