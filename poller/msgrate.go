package poller

import (
	"sync"
	"time"
)

// MessageRatePolicy says what happens to a data message over
// Options.MessageRate.
type MessageRatePolicy uint8

const (
	// MessageRateDrop drops the message before OnMessage and counts it;
	// the connection stays open. Default.
	MessageRateDrop MessageRatePolicy = iota
	// MessageRateClose fails the connection with close code 1008.
	MessageRateClose
)

// messageRates holds a token bucket per connection for Options.MessageRate.
// The buckets sit in a table by file descriptor, not in Conn: a connection
// of a server without the limit pays nothing for it, and one with it pays
// a slot that is reused by whichever connection gets the descriptor next.
type messageRates struct {
	rate  float64 // tokens per nanosecond
	burst float64
	close bool
	byFD  fdTable[messageBucket]
}

type messageBucket struct {
	// mu: the read paths of a closing connection and of the next one on
	// the same descriptor may overlap for a moment.
	mu     sync.Mutex
	conn   uint64 // Conn.id the bucket is filled for
	tokens float64
	at     int64
}

func newMessageRates(o Options) *messageRates {
	if o.MessageRate <= 0 {
		return nil
	}
	return &messageRates{
		rate:  o.MessageRate / float64(time.Second),
		burst: float64(o.MessageBurst),
		close: o.MessageRatePolicy == MessageRateClose,
	}
}

// allow takes one token from c's bucket at time now, and says whether
// there was one.
func (r *messageRates) allow(c *Conn, now int64) bool {
	s := r.byFD.slot(c.fd, true)
	if s == nil {
		return true // beyond the table: the connection was refused anyway
	}
	b := s.Load()
	if b == nil {
		b = new(messageBucket)
		if !s.CompareAndSwap(nil, b) {
			b = s.Load()
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.conn != c.id {
		b.conn, b.tokens, b.at = c.id, r.burst, now
	} else if now > b.at {
		b.tokens = min(r.burst, b.tokens+float64(now-b.at)*r.rate)
		b.at = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
