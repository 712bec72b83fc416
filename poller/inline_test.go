package poller

import (
	"sync"
	"testing"
	"time"

	"github.com/wsgate/wsgate/wsproto"
)

// inlineSuite and backendSuite make startServer turn Options.InlineHandlers
// on and pick a backend; only the suites below set them, and no test of
// the package runs in parallel.
var (
	inlineSuite  bool
	backendSuite Backend
)

// connectionTests are the connection-level tests that every backend and
// handler mode must pass: the top-level run covers the default (epoll,
// handed-off handlers), the suites below the rest.
var connectionTests = []struct {
	name string
	run  func(*testing.T)
}{
	{"Framing", TestFraming},
	{"FramingLarge", TestFramingLarge},
	{"PingPong", TestPingPong},
	{"ReservedBits", TestReservedBits},
	{"ReservedOpcodes", TestReservedOpcodes},
	{"Fragmentation", TestFragmentation},
	{"UTF8", TestUTF8},
	{"Close", TestClose},
	{"Limits", TestLimits},
	{"InboundBudget", TestInboundBudget},
	{"MessageTimeout", TestMessageTimeout},
	{"PingWhileClosingThenClose", TestPingWhileClosingThenClose},
	{"PingWhileOverBudgetKeepsReading", TestPingWhileOverBudgetKeepsReading},
	{"NoWriteAfterAbort", TestNoWriteAfterAbort},
	{"SlowReaderNeverBlocksSender", TestSlowReaderNeverBlocksSender},
	{"WriteTimeout", TestWriteTimeout},
	{"Handshake", TestHandshake},
	{"HandshakeFallback", TestHandshakeFallback},
	{"HandshakeTimeout", TestHandshakeTimeout},
	{"RefusedHeadIsNotDecoded", TestRefusedHeadIsNotDecoded},
	{"BytesAfterHTTPAnswerAreNotDecoded", TestBytesAfterHTTPAnswerAreNotDecoded},
	{"MaxConns", TestMaxConns},
	{"MaxConnsPerIP", TestMaxConnsPerIP},
	{"ConnectRatePerIP", TestConnectRatePerIP},
	{"MessageRateDrop", TestMessageRateDrop},
	{"MessageRateClose", TestMessageRateClose},
	{"CloseAfterQueuedMessages", TestCloseAfterQueuedMessages},
	{"OnCloseOncePerConnection", TestOnCloseOncePerConnection},
	{"QueueFrameFanOut", TestQueueFrameFanOut},
	{"QueueFrameAfterClose", TestQueueFrameAfterClose},
	{"ShutdownWaitsForOnClose", TestShutdownWaitsForOnClose},
	{"PingTimeout", TestPingTimeout},
	{"IdleTimeout", TestIdleTimeout},
	{"CloseTimeout", TestCloseTimeout},
	{"Shutdown", TestShutdown},
	{"AbortWhileReading", TestAbortWhileReading},
	{"NoGoroutinePerConnection", TestNoGoroutinePerConnection},
	{"CompressionNegotiation", TestCompressionNegotiation},
	{"CompressedEcho", TestCompressedEcho},
	{"CompressionWindow", TestCompressionWindow},
	{"CompressedProtocolErrors", TestCompressedProtocolErrors},
	{"CompressedFanOut", TestCompressedFanOut},
	{"IncompressibleFrameSentPlain", TestIncompressibleFrameSentPlain},
}

// runSuite runs connectionTests with the given backend and handler mode.
func runSuite(t *testing.T, b Backend, inline bool) {
	inlineSuite, backendSuite = inline, b
	defer func() { inlineSuite, backendSuite = false, "" }()
	for _, tc := range connectionTests {
		t.Run(tc.name, tc.run)
	}
}

// TestInlineHandlers runs the connection-level tests again with the read
// path on the event loop's goroutine: every close requested while an inline
// task runs must wait for the task to return, or the loop deadlocks.
func TestInlineHandlers(t *testing.T) { runSuite(t, BackendEpoll, true) }

// TestNetpollBackend and TestNetpollInline run them on netpoll, the other
// backend behind the same engine.
func TestNetpollBackend(t *testing.T) { runSuite(t, BackendNetpoll, false) }
func TestNetpollInline(t *testing.T)  { runSuite(t, BackendNetpoll, true) }

// abortHandler aborts a connection from inside OnMessage when told so, and
// echoes everything else.
type abortHandler struct {
	echoHandler
}

func (h *abortHandler) OnMessage(c *Conn, op wsproto.OpCode, p []byte) {
	if string(p) == "abort" {
		c.Abort()
		return
	}
	c.WriteMessage(op, p)
}

// TestAbortWhileReading closes connections while their read tasks run: from
// inside OnMessage, and from other goroutines while the clients stream
// messages. Every connection must end with one OnClose and the server must
// still serve afterwards.
func TestAbortWhileReading(t *testing.T) {
	const n = 60
	h := &abortHandler{echoHandler{opened: make(chan *Conn, n)}}
	s := startServer(t, Options{Handler: h, CloseTimeout: 200 * time.Millisecond})
	var wg sync.WaitGroup
	for i := range n {
		c := dialWS(t, s)
		sc := <-h.opened
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.nc.SetDeadline(time.Now().Add(ioTimeout))
			for range 200 {
				if _, err := c.nc.Write(clientFrame(true, 0, wsproto.OpText, []byte("streaming"))); err != nil {
					return // aborted: the write fails once the server reset the connection
				}
			}
			if i%2 == 0 {
				c.nc.Write(clientFrame(true, 0, wsproto.OpText, []byte("abort")))
			}
		}()
		if i%2 == 1 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				time.Sleep(time.Duration(i) * 100 * time.Microsecond)
				sc.Abort()
			}()
		}
	}
	wg.Wait()
	waitFor(t, 20*time.Second, "every OnClose", func() bool { return len(h.closeRecords()) == n })
	checkEcho(t, s)
}

// slowHandler sleeps in OnMessage for messages that say "slow".
type slowHandler struct {
	echoHandler
}

func (h *slowHandler) OnMessage(c *Conn, op wsproto.OpCode, p []byte) {
	if string(p) == "slow" {
		time.Sleep(2 * SlowInlineTask)
	}
	c.WriteMessage(op, p)
}

// TestSlowInlineTaskCounted: a handler that sleeps on the event loop is
// counted; one that sleeps on a goroutine of its own is not. (Quick tasks
// are not checked: on a loaded machine any task may be descheduled for
// longer than SlowInlineTask.)
func TestSlowInlineTaskCounted(t *testing.T) {
	for _, inline := range []bool{false, true} {
		s := startServer(t, Options{Handler: &slowHandler{}, InlineHandlers: inline})
		c := dialWS(t, s)
		c.writeFrame(true, wsproto.OpText, []byte("slow"))
		c.expectMessage(wsproto.OpText, []byte("slow"))
		if !inline {
			// Give a wrong count the time to show before checking it is 0.
			checkEcho(t, s)
			if got := s.Stats().SlowInlineTasks; got != 0 {
				t.Errorf("handler on its own goroutine: SlowInlineTasks %d, want 0", got)
			}
			continue
		}
		// The count follows the task's return, which may come just after
		// the echo reached the client.
		waitFor(t, 5*time.Second, "the slow inline task counted", func() bool { return s.Stats().SlowInlineTasks >= 1 })
	}
}
