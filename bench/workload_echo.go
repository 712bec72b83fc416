package bench

import (
	"bytes"
	"fmt"
	"time"

	"github.com/wsgate/wsgate/wsproto"
)

// echoLoad sends messages that the server echoes back. With rate 0 it is a
// closed loop: every connection has one message in flight and sends the next
// when the echo arrives. With a rate it is an open loop: messages leave on a
// fixed schedule whatever the answers do, round robin over the connections,
// and latency counts from the scheduled send time, so a stalled server is
// not hidden by the client waiting for it (coordinated omission).
type echoLoad struct {
	d       *driver
	conns   []*Conn
	payload []byte
	rate    float64 // messages per second for this loop; 0 is closed loop
	limit   int64   // messages this loop may send; 0 is no limit
	started int64
	sending bool
	next    int // round robin position
	sent    int64
	recv    int64
	invalid int64 // replies that were not the echo of a message sent
}

func newEchoLoad(d *driver, cfg *WorkerConfig) *echoLoad {
	e := &echoLoad{d: d, payload: newPayload(cfg.Size)}
	// After the stamp, a fixed pattern: an echo must carry it back as is.
	for i := minPayload; i < len(e.payload); i++ {
		e.payload[i] = byte(i*7 + 1)
	}
	e.rate = cfg.Rate / float64(cfg.Loops)
	if cfg.Messages > 0 {
		e.limit = max(1, cfg.Messages/int64(cfg.Loops))
	}
	return e
}

// tickInterval returns how often the loop must wake to keep the open-loop
// schedule: one message interval, within 100 µs and 1 ms.
func echoTick(cfg *WorkerConfig) time.Duration {
	if cfg.Rate <= 0 {
		return time.Millisecond
	}
	iv := time.Duration(1e9 / (cfg.Rate / float64(cfg.Loops)))
	return min(max(iv, 100*time.Microsecond), time.Millisecond)
}

func (e *echoLoad) opened(c *Conn, _ int64) { e.conns = append(e.conns, c) }

func (e *echoLoad) send(c *Conn, at int64) bool {
	if e.limit > 0 && e.sent >= e.limit {
		return false
	}
	stamp(e.payload, at, uint64(e.sent))
	e.d.loop.Send(c, wsproto.OpBinary, e.payload)
	e.sent++
	e.d.count.sent.Add(1)
	return true
}

func (e *echoLoad) message(c *Conn, p []byte, now int64) {
	if !e.isEcho(c, p) {
		e.invalid++
		if e.invalid == 1 {
			e.d.sample(fmt.Sprintf("reply %.40q is not the echo of a message sent", p))
		}
		return
	}
	at, _, _ := readStamp(p)
	e.recv++
	e.d.latency.Record(time.Duration(now - at))
	if e.sending && e.rate == 0 {
		e.send(c, now)
	}
}

// isEcho checks a reply against what this loop sends: its length, the
// pattern after the stamp, a sequence number that was sent, and order:
// each connection's echoes come back in the order it sent them.
func (e *echoLoad) isEcho(c *Conn, p []byte) bool {
	_, seq, ok := readStamp(p)
	if !ok || len(p) != len(e.payload) || int64(seq) >= e.sent || !bytes.Equal(p[minPayload:], e.payload[minPayload:]) {
		return false
	}
	if c.Mark != 0 && seq < c.Mark {
		return false // older than an echo already seen on this connection
	}
	c.Mark = seq + 1
	return true
}

func (e *echoLoad) start(now int64) {
	e.sending, e.started = true, now
	if e.rate == 0 {
		for _, c := range e.conns {
			if c.Open() && !e.send(c, now) {
				break
			}
		}
	}
}

func (e *echoLoad) tick(now int64) {
	if e.rate == 0 || !e.sending || len(e.conns) == 0 {
		return
	}
	due := int64(float64(now-e.started) * e.rate / 1e9)
	for e.sent < due {
		c := e.nextOpen()
		if c == nil {
			return
		}
		scheduled := e.started + int64(float64(e.sent)*1e9/e.rate)
		if !e.send(c, scheduled) {
			e.sending = false
			return
		}
	}
}

// nextOpen returns the next open connection round robin, or nil if none is.
func (e *echoLoad) nextOpen() *Conn {
	for range e.conns {
		c := e.conns[e.next]
		e.next = (e.next + 1) % len(e.conns)
		if c.Open() {
			return c
		}
	}
	return nil
}

func (e *echoLoad) stop()         { e.sending = false }
func (e *echoLoad) drained() bool { return e.recv >= e.sent }

func (e *echoLoad) finish(r *Result) {
	r.Unanswered = max(e.sent-e.recv, 0)
	r.Invalid = e.invalid
}
