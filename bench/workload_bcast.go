package bench

import (
	"time"

	"github.com/wsgate/wsgate/wsproto"
)

// bcastLoad measures fan-out: one publisher connection (in the first loop of
// the first worker) sends stamped, numbered messages at a fixed rate, the
// server delivers each to every connection, and every subscriber checks the
// numbers it gets. After the window the publisher's count tells each
// subscriber how many it should have; what is short is missing. With
// -churn, connections closed and dialed again during the window owe only
// the messages of their spans (spans.go); what they were excused from is
// counted apart.
type bcastLoad struct {
	d         *driver
	subs      []*Conn // by Conn.Index, nil until opened
	spans     []span  // by Conn.Index: the current span of each
	ended     []span  // spans that churn ended, of connections since re-dialed
	counted   []bool  // by Conn.Index: open when publishing started
	publisher *Conn
	payload   []byte
	rate      float64
	limit     int64
	started   int64
	sending   bool
	published int64

	churn     bool
	grace     int64 // churn: see spans.go
	stamps    publishTimes
	lastCheck int64 // churn: when drained last counted the spans

	subscribers int64 // open when publishing started: the expected receivers
	unique      int64 // deliveries inside spans
	outside     int64 // deliveries outside them (churn)
	duplicates  int64
	outOfOrder  int64
}

func newBcastLoad(d *driver, cfg *WorkerConfig) *bcastLoad {
	return &bcastLoad{
		d: d, rate: cfg.Rate, limit: cfg.Messages,
		subs: make([]*Conn, d.n), spans: make([]span, d.n), counted: make([]bool, d.n),
		payload: newPayload(cfg.Size),
		churn:   cfg.Churn > 0, grace: int64(cfg.ChurnGrace),
	}
}

func bcastTick(cfg *WorkerConfig) time.Duration {
	if cfg.Rate <= 0 {
		return time.Millisecond
	}
	return min(max(time.Duration(1e9/cfg.Rate), 100*time.Microsecond), time.Millisecond)
}

func (b *bcastLoad) opened(c *Conn, now int64) {
	switch {
	case c.Index < 0:
		b.publisher = c
	case c.Redialed:
		b.ended = append(b.ended, b.spans[c.Index])
		b.subs[c.Index], b.spans[c.Index] = c, joinedSpan(now, b.grace)
	default:
		b.subs[c.Index], b.spans[c.Index] = c, wholeSpan()
	}
}

// conn is the connection with this index, nil if it never opened.
func (b *bcastLoad) conn(index int) *Conn { return b.subs[index] }

// leaving ends c's span at at: churn chose to close c, grace from now.
func (b *bcastLoad) leaving(c *Conn, at int64) { b.spans[c.Index].until = at }

func (b *bcastLoad) message(c *Conn, p []byte, now int64) {
	if c.Index < 0 {
		return // the publisher's own copy
	}
	at, seq, ok := readStamp(p)
	if !ok {
		return
	}
	b.d.latency.Record(time.Duration(now - at))
	if b.churn {
		b.stamps.record(seq, at)
	}
	s := &b.spans[c.Index]
	dup, ooo, counted := s.add(seq)
	if ooo {
		b.outOfOrder++
	}
	switch {
	case dup:
		b.duplicates++
	case counted && s.covers(at):
		s.got++
		b.unique++
	default:
		b.outside++
	}
}

func (b *bcastLoad) start(now int64) {
	b.started, b.sending = now, b.publisher != nil
	for i, c := range b.subs {
		if c != nil && c.Open() {
			b.subscribers++
			b.counted[i] = true
		}
	}
}

func (b *bcastLoad) tick(now int64) {
	if !b.sending || !b.publisher.Open() {
		return
	}
	due := int64(float64(now-b.started)*b.rate/1e9) + 1
	for b.published < due {
		if b.limit > 0 && b.published >= b.limit {
			b.sending = false
			return
		}
		// Stamped with the send time, not the schedule: the figure is the
		// server's publish-to-delivery time.
		stamp(b.payload, time.Now().UnixNano(), uint64(b.published))
		b.d.loop.Send(b.publisher, wsproto.OpBinary, b.payload)
		b.published++
		b.d.count.sent.Add(1)
	}
}

func (b *bcastLoad) stop() { b.sending = false }

// drained reports whether every subscriber has all published messages
// (with churn: all those of its spans, counted at most every 100ms).
func (b *bcastLoad) drained() bool {
	expect := b.d.w.expect.Load()
	if !b.churn {
		return b.unique >= b.subscribers*expect
	}
	now := time.Now().UnixNano()
	if now-b.lastCheck < int64(100*time.Millisecond) {
		return false
	}
	b.lastCheck = now
	return b.unique >= b.subscribers*expect-b.excused(expect)
}

// excused is how many of the n messages published the counted subscribers
// did not owe: each owes n less what its spans hold.
func (b *bcastLoad) excused(n int64) int64 {
	if !b.churn {
		return 0
	}
	known := b.stamps.known(n)
	owed := int64(0)
	for i := range b.spans {
		if b.counted[i] {
			owed += b.spans[i].required(known, n)
		}
	}
	// Only subscribers counted at the start were chosen by churn, so every
	// ended span is theirs.
	for i := range b.ended {
		owed += b.ended[i].required(known, n)
	}
	return b.subscribers*n - owed
}

func (b *bcastLoad) finish(r *Result) {
	r.Published = b.published
	r.Subscribers = b.subscribers
	r.Unique = b.unique
	r.Duplicates = b.duplicates
	r.OutOfOrder = b.outOfOrder
	r.Outside = b.outside
	r.Excused = b.excused(b.d.w.expect.Load())
}
