package bench

import (
	"time"

	"github.com/wsgate/wsgate/wsproto"
)

// bcastLoad measures fan-out: one publisher connection (in the first loop of
// the first worker) sends stamped, numbered messages at a fixed rate, the
// server delivers each to every connection, and every subscriber checks the
// numbers it gets. After the window the publisher's count tells each
// subscriber how many it should have; what is short is missing.
type bcastLoad struct {
	d         *driver
	subs      []*Conn
	windows   []seqWindow // by Conn.Index
	publisher *Conn
	payload   []byte
	rate      float64
	limit     int64
	started   int64
	sending   bool
	published int64

	subscribers int64 // open when publishing started: the expected receivers
	unique      int64
	duplicates  int64
	outOfOrder  int64
}

func newBcastLoad(d *driver, cfg *WorkerConfig) *bcastLoad {
	return &bcastLoad{
		d: d, rate: cfg.Rate, limit: cfg.Messages,
		windows: make([]seqWindow, d.n),
		payload: make([]byte, max(cfg.Size, minPayload)),
	}
}

func bcastTick(cfg *WorkerConfig) time.Duration {
	if cfg.Rate <= 0 {
		return time.Millisecond
	}
	return min(max(time.Duration(1e9/cfg.Rate), 100*time.Microsecond), time.Millisecond)
}

func (b *bcastLoad) opened(c *Conn) {
	if c.Index < 0 {
		b.publisher = c
		return
	}
	b.subs = append(b.subs, c)
}

func (b *bcastLoad) message(c *Conn, p []byte, now int64) {
	if c.Index < 0 {
		return // the publisher's own copy
	}
	at, seq, ok := readStamp(p)
	if !ok {
		return
	}
	b.d.latency.Record(time.Duration(now - at))
	dup, ooo := b.windows[c.Index].add(seq)
	switch {
	case dup:
		b.duplicates++
	case ooo:
		b.outOfOrder++
		b.unique++
	default:
		b.unique++
	}
}

func (b *bcastLoad) start(now int64) {
	b.started, b.sending = now, b.publisher != nil
	for _, c := range b.subs {
		if c.Open() {
			b.subscribers++
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

// drained reports whether every subscriber has all published messages.
func (b *bcastLoad) drained() bool {
	return b.unique >= b.subscribers*b.d.w.expect.Load()
}

func (b *bcastLoad) finish(r *Result) {
	r.Published = b.published
	r.Subscribers = b.subscribers
	r.Unique = b.unique
	r.Duplicates = b.duplicates
	r.OutOfOrder = b.outOfOrder
}
