package httpapi

import (
	"math"
	"sync"
	"time"
)

// bucket is a token bucket: it holds up to burst tokens, refilled at rate
// per second. Each call takes one token, so a batch of n calls takes n: a
// batch is no way around the rate.
type bucket struct {
	rate, burst float64

	mu     sync.Mutex
	tokens float64
	last   time.Time
}

func newBucket(rate float64, burst int, now time.Time) *bucket {
	return &bucket{rate: rate, burst: float64(burst), tokens: float64(burst), last: now}
}

// take takes n tokens and reports whether it could, or how long until it
// could. A request is let in while the bucket holds min(n, burst) tokens
// and may leave it below zero, so that a batch larger than the burst is
// not refused forever; the debt is paid back at rate before the next.
func (b *bucket) take(n int, now time.Time) (ok bool, wait time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if elapsed := now.Sub(b.last); elapsed > 0 {
		b.tokens = math.Min(b.burst, b.tokens+elapsed.Seconds()*b.rate)
		b.last = now
	}
	need := math.Min(float64(n), b.burst)
	if b.tokens < need {
		return false, time.Duration((need - b.tokens) / b.rate * float64(time.Second))
	}
	b.tokens -= float64(n)
	return true, 0
}
