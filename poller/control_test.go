package poller

import (
	"bytes"
	"net"
	"testing"
	"time"

	"github.com/wsgate/wsgate/wsproto"
)

// A ping whose pong cannot be queued must not stop the reading of the
// frames that came with it.

// TestPingWhileClosingThenClose: the client sends a ping and its close in
// one write, crossing the server's close frame. The pong is not sent (the
// server already closed), but the close must still complete the handshake
// at once rather than after CloseTimeout.
func TestPingWhileClosingThenClose(t *testing.T) {
	h := &echoHandler{opened: make(chan *Conn, 1)}
	s := startServer(t, Options{Handler: h, CloseTimeout: time.Minute}) // far over the read deadline
	c := dialWS(t, s)
	sc := <-h.opened
	if err := sc.Close(1000, ""); err != nil {
		t.Fatalf("Close: %v", err)
	}
	c.write(append(ping([]byte("crossing")), closeFrame(closePayload(1000, ""))...))
	c.expectClose(1000)
	c.expectEOF()
}

// TestPingWhileOverBudgetKeepsReading: under OverflowDrop a pong that does
// not fit is dropped, and the frames after the ping are still decoded.
func TestPingWhileOverBudgetKeepsReading(t *testing.T) {
	h := &echoHandler{opened: make(chan *Conn, 1)}
	s := startServer(t, Options{Handler: h, OutboundBudget: 256 << 10, OverflowPolicy: OverflowDrop})
	c := dialWS(t, s)
	c.nc.(*net.TCPConn).SetReadBuffer(32 << 10)
	sc := <-h.opened
	msg := binaryPattern(32 << 10)
	for i := 0; sc.WriteMessage(wsproto.OpBinary, msg) == nil; i++ {
		if i == 100_000 {
			t.Fatal("the queue never filled")
		}
	}
	// Top it up to the byte with empty messages, so that a pong of 127
	// bytes cannot fit while the client reads nothing.
	for i := 0; sc.WriteMessage(wsproto.OpBinary, nil) == nil; i++ {
		if i == 1_000_000 {
			t.Fatal("the queue never filled")
		}
	}
	in, overflows := s.Stats().MessagesIn, s.Stats().Overflows
	c.write(bytes.Join(frames(ping(pattern(125)), txt(true, "after the ping")), nil))
	waitFor(t, 10*time.Second, "the text after the ping to be received", func() bool {
		return s.Stats().MessagesIn == in+1
	})
	// Both the pong and the echo of the text were over the budget.
	if got := s.Stats().Overflows; got != overflows+2 {
		t.Fatalf("Stats().Overflows grew by %d, want 2 (the pong and the echo)", got-overflows)
	}
	// The stream is intact: a later frame still parses.
	c.write(txt(true, "later"))
	waitFor(t, 10*time.Second, "a later message", func() bool { return s.Stats().MessagesIn == in+2 })
	if got := s.Stats().ProtocolErrors; got != 0 {
		t.Fatalf("Stats().ProtocolErrors = %d, want 0", got)
	}
}
