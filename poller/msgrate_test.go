package poller

import (
	"fmt"
	"testing"
	"time"

	"github.com/wsgate/wsgate/wsproto"
)

// TestMessageRateDrop: messages over a connection's burst are dropped
// before OnMessage and counted, and the connection stays open.
func TestMessageRateDrop(t *testing.T) {
	s := startServer(t, Options{MessageRate: 0.1, MessageBurst: 3}) // a token per 10s
	c := dialWS(t, s)
	var burst []byte
	for i := range 10 {
		burst = append(burst, clientFrame(true, 0, wsproto.OpText, fmt.Appendf(nil, "m%d", i))...)
	}
	burst = append(burst, clientFrame(true, 0, wsproto.OpPing, []byte("after"))...)
	c.write(burst)
	for i := range 3 {
		c.expectMessage(wsproto.OpText, fmt.Appendf(nil, "m%d", i))
	}
	c.expectMessage(wsproto.OpPong, []byte("after")) // nothing echoed in between
	if got := s.Stats().MessageRateExceeded; got != 7 {
		t.Fatalf("Stats().MessageRateExceeded = %d, want 7", got)
	}
}

// TestMessageRateClose: with MessageRateClose, the first message over the
// burst fails the connection with 1008.
func TestMessageRateClose(t *testing.T) {
	s := startServer(t, Options{MessageRate: 0.1, MessageBurst: 2, MessageRatePolicy: MessageRateClose})
	c := dialWS(t, s)
	var burst []byte
	for i := range 4 {
		burst = append(burst, clientFrame(true, 0, wsproto.OpText, fmt.Appendf(nil, "m%d", i))...)
	}
	c.write(burst)
	c.expectMessage(wsproto.OpText, []byte("m0"))
	c.expectMessage(wsproto.OpText, []byte("m1"))
	c.expectClose(wsproto.ClosePolicyViolation)
	if got := s.Stats().MessageRateExceeded; got != 1 {
		t.Fatalf("Stats().MessageRateExceeded = %d, want 1", got)
	}
}

// TestMessageRatePerConnection: each connection has a bucket of its own,
// and a connection that gets the descriptor of one that spent its bucket
// starts full.
func TestMessageRatePerConnection(t *testing.T) {
	s := startServer(t, Options{MessageRate: 0.1, MessageBurst: 2})
	send := func(c *client, n int) {
		for i := range n {
			c.writeFrame(true, wsproto.OpText, fmt.Appendf(nil, "m%d", i))
		}
	}
	a := dialWS(t, s)
	send(a, 3)
	a.expectMessage(wsproto.OpText, []byte("m0"))
	a.expectMessage(wsproto.OpText, []byte("m1"))
	waitFor(t, 5*time.Second, "the third message to be dropped", func() bool { return s.Stats().MessageRateExceeded == 1 })
	b := dialWS(t, s)
	send(b, 2)
	b.expectMessage(wsproto.OpText, []byte("m0"))
	b.expectMessage(wsproto.OpText, []byte("m1"))
	a.nc.Close()
	waitFor(t, 5*time.Second, "the first connection to leave", func() bool { return s.Stats().Conns == 1 })
	c := dialWS(t, s) // most likely on a's descriptor
	send(c, 2)
	c.expectMessage(wsproto.OpText, []byte("m0"))
	c.expectMessage(wsproto.OpText, []byte("m1"))
	if got := s.Stats().MessageRateExceeded; got != 1 {
		t.Fatalf("Stats().MessageRateExceeded = %d, want 1", got)
	}
}
