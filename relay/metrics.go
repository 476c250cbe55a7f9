package relay

import (
	"fmt"
	"io"
	"runtime"
	rtmetrics "runtime/metrics"
	"sync/atomic"
)

// metrics are the relay's counters, served in the Prometheus text format
// on /metrics. They count events, never content.
type metrics struct {
	connectionsTotal  atomic.Int64
	connectionsOpen   atomic.Int64
	authenticated     atomic.Int64
	authFailures      atomic.Int64
	framesReceived    atomic.Int64
	framesMalformed   atomic.Int64
	framesRateLimited atomic.Int64
	messagesStored    atomic.Int64
	messagesDelivered atomic.Int64
	messagesAcked     atomic.Int64
	sendsRefused      atomic.Int64
	bundleFetches     atomic.Int64
	bundleRateLimited atomic.Int64
	prekeyUploads     atomic.Int64
	identityChanges   atomic.Int64
	envelopesExpired  atomic.Int64
	panics            atomic.Int64
	closesSlowReader  atomic.Int64
	closesFlood       atomic.Int64
	closesOversize    atomic.Int64
}

type metric struct {
	name, kind, help string
	value            func() int64
}

func (m *metrics) list(commits func() (commits, ops uint64)) []metric {
	c := func(name, help string, v *atomic.Int64) metric {
		return metric{name, "counter", help, v.Load}
	}
	return []metric{
		c("blindpost_relay_connections_total", "Websocket connections accepted.", &m.connectionsTotal),
		{"blindpost_relay_connections_open", "gauge", "Websocket connections open now.", m.connectionsOpen.Load},
		c("blindpost_relay_authentications_total", "Connections authenticated (register or authenticate).", &m.authenticated),
		c("blindpost_relay_authentication_failures_total", "Failed authentication attempts.", &m.authFailures),
		c("blindpost_relay_frames_received_total", "Frames received from clients.", &m.framesReceived),
		c("blindpost_relay_frames_malformed_total", "Frames that did not parse.", &m.framesMalformed),
		c("blindpost_relay_frames_rate_limited_total", "Frames refused by the per-connection rate limit.", &m.framesRateLimited),
		c("blindpost_relay_messages_stored_total", "Messages durably stored and acknowledged to their sender.", &m.messagesStored),
		c("blindpost_relay_messages_pushed_total", "Envelopes pushed to recipients (redeliveries included).", &m.messagesDelivered),
		c("blindpost_relay_messages_acked_total", "Envelope ids acknowledged by recipients.", &m.messagesAcked),
		c("blindpost_relay_sends_refused_total", "Sends refused (unknown recipient, too large, queue full).", &m.sendsRefused),
		c("blindpost_relay_bundle_fetches_total", "Prekey bundles handed out.", &m.bundleFetches),
		c("blindpost_relay_bundle_fetches_rate_limited_total", "Bundle fetches refused by the rate limit.", &m.bundleRateLimited),
		c("blindpost_relay_prekey_uploads_total", "Prekey uploads stored.", &m.prekeyUploads),
		c("blindpost_relay_identity_changes_total", "Names rebound to a new identity key.", &m.identityChanges),
		c("blindpost_relay_envelopes_expired_total", "Envelopes deleted unread at the end of their time to live.", &m.envelopesExpired),
		c("blindpost_relay_panics_total", "Panics recovered in connection handlers.", &m.panics),
		c("blindpost_relay_closes_slow_reader_total", "Connections closed because the client did not read.", &m.closesSlowReader),
		c("blindpost_relay_closes_flood_total", "Connections closed for sending too many frames.", &m.closesFlood),
		c("blindpost_relay_closes_oversize_total", "Connections closed for an oversized frame.", &m.closesOversize),
		{"blindpost_relay_store_commits_total", "counter", "Store transactions committed (each one fsync).", func() int64 {
			n, _ := commits()
			return int64(n)
		}},
		{"blindpost_relay_store_ops_total", "counter", "Store writes committed; ops/commits is the group-commit batch size.", func() int64 {
			_, n := commits()
			return int64(n)
		}},
		{"blindpost_relay_go_heap_bytes", "gauge", "Go heap in objects, live or not yet swept (runtime/metrics " + heapObjects + ").", goHeapBytes},
		{"blindpost_relay_goroutines", "gauge", "Goroutines now (three per authenticated connection).", func() int64 {
			return int64(runtime.NumGoroutine())
		}},
	}
}

// heapObjects is the runtime/metrics name of the heap held in objects.
const heapObjects = "/memory/classes/heap/objects:bytes"

// goHeapBytes reads the Go heap, without stopping the world.
func goHeapBytes() int64 {
	s := []rtmetrics.Sample{{Name: heapObjects}}
	rtmetrics.Read(s)
	if s[0].Value.Kind() != rtmetrics.KindUint64 {
		return 0
	}
	return int64(s[0].Value.Uint64())
}

// writeMetrics writes every metric in the Prometheus text exposition
// format (version 0.0.4).
func writeMetrics(w io.Writer, ms []metric) error {
	for _, m := range ms {
		if _, err := fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n%s %d\n", m.name, m.help, m.name, m.kind, m.name, m.value()); err != nil {
			return fmt.Errorf("relay: write metrics: %w", err)
		}
	}
	return nil
}
