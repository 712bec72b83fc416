package poller

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wsgate/wsgate/wsproto"
)

// echoLoop keeps a normal client busy with echoes until stop closes,
// counting them; it reports the first failure.
func echoLoop(c *client, stop <-chan struct{}, count *atomic.Int64) error {
	for i := 0; ; i++ {
		select {
		case <-stop:
			return nil
		default:
		}
		msg := []byte(fmt.Sprintf("echo %d", i))
		c.nc.SetWriteDeadline(time.Now().Add(ioTimeout))
		if _, err := c.nc.Write(clientFrame(true, 0, wsproto.OpText, msg)); err != nil {
			return fmt.Errorf("echo %d: write: %w", i, err)
		}
		f, err := c.readFrame()
		if err != nil {
			return fmt.Errorf("echo %d: read: %w", i, err)
		}
		if f.op != wsproto.OpText || !bytes.Equal(f.payload, msg) {
			return fmt.Errorf("echo %d: got %v %q", i, f, f.payload)
		}
		count.Add(1)
	}
}

// slowScenario is a server with a client that never reads and a normal
// client kept busy with echoes, after a sender filled the slow one's queue.
type slowScenario struct {
	h       *echoHandler
	s       *Server
	slow    *client
	sc      *Conn
	msg     []byte
	sent    int           // messages accepted before the overflow
	maxCall time.Duration // the slowest WriteMessage call
	echoes  atomic.Int64
	echoErr error
	stop    chan struct{}
	wg      sync.WaitGroup
}

func fillSlowReader(t *testing.T, policy OverflowPolicy) *slowScenario {
	sn := &slowScenario{h: &echoHandler{opened: make(chan *Conn, 2)}, msg: binaryPattern(64 << 10), stop: make(chan struct{})}
	sn.s = startServer(t, Options{Handler: sn.h, OutboundBudget: 1 << 20, OverflowPolicy: policy, CloseTimeout: 20 * time.Second})
	sn.slow = dialWS(t, sn.s)
	sn.slow.nc.(*net.TCPConn).SetReadBuffer(64 << 10) // reach the budget sooner
	sn.sc = <-sn.h.opened
	normal := dialWS(t, sn.s)
	<-sn.h.opened
	sn.wg.Add(1)
	go func() {
		defer sn.wg.Done()
		sn.echoErr = echoLoop(normal, sn.stop, &sn.echoes)
	}()

	var sendErr error
	for ; sn.sent < 10_000; sn.sent++ { // 640 MiB: far past any socket buffer
		start := time.Now()
		sendErr = sn.sc.WriteMessage(wsproto.OpBinary, sn.msg)
		sn.maxCall = max(sn.maxCall, time.Since(start))
		if sendErr != nil {
			break
		}
	}
	if !errors.Is(sendErr, ErrOverflow) {
		t.Fatalf("after %d messages of 64 KiB the send returned %v, want ErrOverflow (slowest call %v)", sn.sent, sendErr, sn.maxCall)
	}
	// Later sends return at once too, with the policy's answer.
	for range 5 {
		start := time.Now()
		err := sn.sc.WriteMessage(wsproto.OpBinary, sn.msg)
		sn.maxCall = max(sn.maxCall, time.Since(start))
		want := ErrOverflow
		if policy == OverflowClose {
			want = ErrClosed
		}
		if !errors.Is(err, want) {
			t.Fatalf("send after the overflow returned %v, want %v", err, want)
		}
	}
	return sn
}

func (sn *slowScenario) stopEchoes() error {
	close(sn.stop)
	sn.wg.Wait()
	return sn.echoErr
}

// TestSlowReaderNeverBlocksSender: a client that never reads must not slow
// down the goroutine sending to it, nor other clients; past its outbound
// budget the overflow policy applies.
func TestSlowReaderNeverBlocksSender(t *testing.T) {
	// A send that waited for the client would last until WriteTimeout
	// (10s), as the client never reads. The wall clock also counts the time
	// the OS runs other processes, so on a loaded machine one call may
	// miss the bound by bad luck: the scenario is tried again, and fails
	// only if every attempt had a slow call.
	const bound, attempts = 50 * time.Millisecond, 3
	for _, policy := range []OverflowPolicy{OverflowClose, OverflowDrop} {
		t.Run(fmt.Sprintf("policy-%d", policy), func(t *testing.T) {
			var sn *slowScenario
			for attempt := 1; ; attempt++ {
				sn = fillSlowReader(t, policy)
				t.Logf("attempt %d: %d messages queued or written before the overflow; slowest WriteMessage %v", attempt, sn.sent, sn.maxCall)
				if sn.maxCall < bound {
					break
				}
				if err := sn.stopEchoes(); err != nil {
					t.Fatalf("normal client: %v", err)
				}
				if attempt == attempts {
					t.Fatalf("a WriteMessage call took %v in each of %d attempts, want < %v: the sender waits for the slow client", sn.maxCall, attempts, bound)
				}
			}
			h, s, slow, sc, msg := sn.h, sn.s, sn.slow, sn.sc, sn.msg
			// The other client is served meanwhile.
			waitFor(t, 10*time.Second, "echoes on the normal client", func() bool { return sn.echoes.Load() >= 3 })
			if err := sn.stopEchoes(); err != nil {
				t.Fatalf("normal client: %v", err)
			}
			st := s.Stats()
			if policy == OverflowClose {
				if st.Overflows != 1 {
					t.Fatalf("Stats().Overflows = %d, want 1", st.Overflows)
				}
				// Reading now, the slow client gets what was queued, then 1008.
				for {
					f := slow.mustReadFrame()
					if f.op == wsproto.OpClose {
						if f.closeCode() != wsproto.ClosePolicyViolation {
							t.Fatalf("close code %d, want 1008", f.closeCode())
						}
						break
					}
					if f.op != wsproto.OpBinary || !bytes.Equal(f.payload, msg) {
						t.Fatalf("got %v before the close", f)
					}
				}
				slow.write(closeFrame(closePayload(1000, "")))
				slow.expectEOF()
				waitFor(t, 10*time.Second, "OnClose of the slow client", func() bool { return len(h.closeRecords()) == 1 })
				if r := h.closeRecords()[0]; r.id != sc.ID() || r.code != wsproto.ClosePolicyViolation {
					t.Fatalf("OnClose %+v, want conn %d with 1008", r, sc.ID())
				}
				return
			}
			if st.Overflows < 6 {
				t.Fatalf("Stats().Overflows = %d, want one per dropped send (6)", st.Overflows)
			}
			// The connection stays open: once the client reads, it gets
			// the echo of a new message after what was queued.
			slow.writeFrame(true, wsproto.OpText, []byte("still open"))
			for {
				f := slow.mustReadFrame()
				if f.op == wsproto.OpText {
					if string(f.payload) != "still open" {
						t.Fatalf("echo %q", f.payload)
					}
					break
				}
				if f.op != wsproto.OpBinary || !bytes.Equal(f.payload, msg) {
					t.Fatalf("got %v, want queued messages and then the echo", f)
				}
			}
			if sc.WriteMessage(wsproto.OpText, []byte("after drain")) != nil {
				t.Fatal("send after the client drained its queue failed")
			}
			slow.expectMessage(wsproto.OpText, []byte("after drain"))
		})
	}
}

// TestWriteTimeout: a client that stops reading while the server has more
// for it than the socket buffers hold is dropped once the socket has stayed
// full for WriteTimeout, and its OnClose says the connection was lost.
func TestWriteTimeout(t *testing.T) {
	h := &echoHandler{opened: make(chan *Conn, 1)}
	s := startServer(t, Options{Handler: h, WriteTimeout: 300 * time.Millisecond, OutboundBudget: 256 << 20})
	c := dialWS(t, s)
	defer c.nc.Close()
	sc := <-h.opened
	msg := bytes.Repeat([]byte{'x'}, 1<<20)
	// Until the socket is full and bytes wait in the queue: loopback's
	// socket buffers take a few MiB each way. The clock starts then.
	for i := 0; sc.QueuedBytes() == 0; i++ {
		if i == 256 {
			t.Fatal("nothing waits in the queue after 256 MiB: the socket never filled up")
		}
		if err := sc.WriteMessage(wsproto.OpBinary, msg); err != nil {
			t.Fatalf("WriteMessage %d: %v", i, err)
		}
	}
	waitFor(t, 10*time.Second, "OnClose of the stalled client", func() bool { return len(h.closeRecords()) == 1 })
	if r := h.closeRecords()[0]; r.code != wsproto.CloseAbnormal {
		t.Fatalf("OnClose %+v, want 1006", r)
	}
	if s.Backend() == BackendEpoll && s.Stats().WriteTimeouts != 1 {
		t.Fatalf("Stats().WriteTimeouts = %d, want 1", s.Stats().WriteTimeouts)
	}
}
