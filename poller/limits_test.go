package poller

import (
	"testing"
	"time"

	"github.com/wsgate/wsgate/wsproto"
)

// TestMaxConns: past MaxConns a new TCP connection is closed at once and
// counted; once a connection leaves, a new one is served.
func TestMaxConns(t *testing.T) {
	s := startServer(t, Options{MaxConns: 3})
	open := []*client{dialWS(t, s), dialWS(t, s), dialWS(t, s)}
	extra := dialRaw(t, s)
	extra.expectEOF()
	if got := s.Stats().Rejected; got != 1 {
		t.Fatalf("Stats().Rejected = %d, want 1", got)
	}
	for _, c := range open {
		c.writeFrame(true, wsproto.OpText, []byte("x"))
		c.expectMessage(wsproto.OpText, []byte("x"))
	}
	open[0].write(closeFrame(closePayload(1000, "")))
	open[0].expectClose(1000)
	open[0].expectEOF()
	waitFor(t, 5*time.Second, "the closed connection to leave", func() bool { return s.Stats().Conns == 2 })
	checkEcho(t, s)
}

// TestCloseAfterQueuedMessages: Close sends what was queued before it, in
// order, then the close frame.
func TestCloseAfterQueuedMessages(t *testing.T) {
	h := &echoHandler{opened: make(chan *Conn, 1)}
	s := startServer(t, Options{Handler: h, OutboundBudget: 16 << 20})
	c := dialWS(t, s)
	sc := <-h.opened
	big := binaryPattern(3 << 20) // more than the socket takes at once
	for i := range 3 {
		if err := sc.WriteMessage(wsproto.OpBinary, big[:len(big)-i]); err != nil {
			t.Fatalf("WriteMessage %d: %v", i, err)
		}
	}
	sc.Close(1000, "done")
	for i := range 3 {
		c.expectMessage(wsproto.OpBinary, big[:len(big)-i])
	}
	c.expectClose(1000)
	c.write(closeFrame(closePayload(1000, "")))
	c.expectEOF()
}
