package relay_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/blindpost/blindpost/relay"
	"github.com/blindpost/blindpost/relay/client"
)

// BenchmarkSendDeliver measures the send -> durable store -> push -> ack
// path over loopback websockets against a bbolt store on disk. "serial"
// sends one message at a time and waits for its delivery (latency);
// "pipelined" keeps many sends in flight from several senders, so group
// commit shares each fsync among many messages (throughput).
func BenchmarkSendDeliver(b *testing.B) {
	b.Run("serial", func(b *testing.B) { benchSendDeliver(b, 1, 1) })
	b.Run("pipelined", func(b *testing.B) { benchSendDeliver(b, 8, 32) })
}

func benchSendDeliver(b *testing.B, senders, inFlight int) {
	// The per-connection frame limit and the queue cap would cap the
	// benchmark, not the relay.
	l := relay.DefaultLimits()
	l.FrameRate, l.FrameBurst = 1e9, 1e9
	l.QueueCap = 1 << 30
	tr := startRelayB(b, withLimits(l))
	bob := newAccount(b, "bob")
	rcv := register(b, tr.url, bob)
	var clients []*client.Client
	for range senders {
		a := newAccount(b, "alice")
		clients = append(clients, register(b, tr.url, a))
	}
	content := make([]byte, 256)
	received := make(chan struct{})
	failed := make(chan struct{})
	var failOnce sync.Once
	fail := func(err error) {
		b.Error(err)
		failOnce.Do(func() { close(failed) })
	}
	go func() {
		defer close(received)
		n := 0
		for n < b.N {
			var ids []uint64
			select {
			case e, ok := <-rcv.Envelopes():
				if !ok {
					return
				}
				ids = append(ids, e.ID)
			case <-failed:
				return
			}
		more:
			for len(ids) < 128 {
				select {
				case e := <-rcv.Envelopes():
					ids = append(ids, e.ID)
				default:
					break more
				}
			}
			n += len(ids)
			if err := rcv.Ack(context.Background(), ids...); err != nil {
				fail(err)
				return
			}
		}
	}()

	b.SetBytes(int64(len(content)))
	b.ResetTimer()
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	for _, c := range clients {
		for range inFlight {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for next.Add(1) <= int64(b.N) {
					if _, err := c.Send(context.Background(), bob.name, 1, 2, content); err != nil {
						fail(err)
						return
					}
				}
			}()
		}
	}
	wg.Wait()
	<-received
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
	if m := metricB(b, tr, "blindpost_relay_store_commits_total"); m > 0 {
		b.ReportMetric(float64(metricB(b, tr, "blindpost_relay_store_ops_total"))/float64(m), "ops/commit")
	}
}
