package relay

import (
	"sync"
	"time"
)

// tokenBucket allows rate events per second with bursts of up to burst.
// It is not safe for concurrent use; keyedLimiter guards its buckets.
type tokenBucket struct {
	tokens float64
	last   time.Time
}

// allow takes one token if there is one.
func (b *tokenBucket) allow(now time.Time, rate float64, burst int) bool {
	b.refill(now, rate, burst)
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

func (b *tokenBucket) refill(now time.Time, rate float64, burst int) {
	if b.last.IsZero() {
		b.tokens, b.last = float64(burst), now
		return
	}
	if elapsed := now.Sub(b.last).Seconds(); elapsed > 0 {
		b.tokens = min(float64(burst), b.tokens+elapsed*rate)
		b.last = now
	}
}

// keyedLimiter is a token bucket per key, for the bundle-fetch limit of
// each (requester, target) pair. Its state lives in memory only: a restart
// refills every bucket, which costs an attacker a restart per six keys.
type keyedLimiter struct {
	rate  float64
	burst int

	mu      sync.Mutex
	buckets map[string]*tokenBucket
}

func newKeyedLimiter(n int, per time.Duration) *keyedLimiter {
	return &keyedLimiter{
		rate:    float64(n) / per.Seconds(),
		burst:   n,
		buckets: make(map[string]*tokenBucket),
	}
}

func (l *keyedLimiter) allow(key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= limiterPruneSize {
			l.pruneLocked(now)
		}
		b = &tokenBucket{}
		l.buckets[key] = b
	}
	return b.allow(now, l.rate, l.burst)
}

// prune drops the buckets that have refilled: forgetting them changes
// nothing.
func (l *keyedLimiter) prune(now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pruneLocked(now)
}

func (l *keyedLimiter) pruneLocked(now time.Time) {
	for k, b := range l.buckets {
		b.refill(now, l.rate, l.burst)
		if b.tokens >= float64(l.burst) {
			delete(l.buckets, k)
		}
	}
}
