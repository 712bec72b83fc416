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

// TestSlowReaderNeverBlocksSender: a client that never reads must not slow
// down the goroutine sending to it, nor other clients; past its outbound
// budget the overflow policy applies.
func TestSlowReaderNeverBlocksSender(t *testing.T) {
	for _, policy := range []OverflowPolicy{OverflowClose, OverflowDrop} {
		t.Run(fmt.Sprintf("policy-%d", policy), func(t *testing.T) {
			h := &echoHandler{opened: make(chan *Conn, 2)}
			s := startServer(t, Options{Handler: h, OutboundBudget: 1 << 20, OverflowPolicy: policy, CloseTimeout: 20 * time.Second})
			slow := dialWS(t, s)
			slow.nc.(*net.TCPConn).SetReadBuffer(64 << 10) // reach the budget sooner
			sc := <-h.opened
			normal := dialWS(t, s)
			<-h.opened

			stop := make(chan struct{})
			var echoes atomic.Int64
			var wg sync.WaitGroup
			var echoErr error
			wg.Add(1)
			go func() {
				defer wg.Done()
				echoErr = echoLoop(normal, stop, &echoes)
			}()

			msg := binaryPattern(64 << 10)
			var maxCall time.Duration
			var sendErr error
			sent := 0
			for ; sent < 10_000; sent++ { // 640 MiB: far past any socket buffer
				start := time.Now()
				sendErr = sc.WriteMessage(wsproto.OpBinary, msg)
				maxCall = max(maxCall, time.Since(start))
				if sendErr != nil {
					break
				}
			}
			if !errors.Is(sendErr, ErrOverflow) {
				t.Fatalf("after %d messages of 64 KiB the send returned %v, want ErrOverflow", sent, sendErr)
			}
			// Later sends return at once too, with the policy's answer.
			for range 5 {
				start := time.Now()
				err := sc.WriteMessage(wsproto.OpBinary, msg)
				maxCall = max(maxCall, time.Since(start))
				want := ErrOverflow
				if policy == OverflowClose {
					want = ErrClosed
				}
				if !errors.Is(err, want) {
					t.Fatalf("send after the overflow returned %v, want %v", err, want)
				}
			}
			t.Logf("%d messages queued or written before the overflow; slowest WriteMessage %v", sent, maxCall)
			if maxCall >= 50*time.Millisecond {
				t.Errorf("a WriteMessage call took %v, want < 50ms: the sender waited for the slow client", maxCall)
			}
			// The other client is served meanwhile.
			waitFor(t, 10*time.Second, "echoes on the normal client", func() bool { return echoes.Load() >= 3 })
			close(stop)
			wg.Wait()
			if echoErr != nil {
				t.Fatalf("normal client: %v", echoErr)
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
