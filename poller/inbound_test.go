package poller

import (
	"bytes"
	"testing"
	"time"

	"github.com/wsgate/wsgate/wsproto"
)

// TestInboundBudget: the connections' partial frames together stay within
// Options.InboundBudget. A frame that would pass it closes its connection
// with 1013 and is counted; what a connection held comes back when its
// message completes or it closes, and the others are served all along.
func TestInboundBudget(t *testing.T) {
	const budget = 1 << 20
	s := startServer(t, Options{InboundBudget: budget})
	frameOf := func(n int) []byte { return clientFrame(true, 0, wsproto.OpBinary, bytes.Repeat([]byte{'x'}, n)) }

	// holder sends 600 KiB of a 700 KiB frame: it holds 700 KiB at once.
	holder := dialWS(t, s)
	held := frameOf(700 << 10)
	holder.write(held[:600<<10])
	waitFor(t, 5*time.Second, "the holder's frame to be reserved", func() bool { return s.Stats().InboundBytes == 700<<10 })

	// A second partial frame of 400 KiB does not fit: 1013.
	over := dialWS(t, s)
	over.write(frameOf(400 << 10)[:100<<10])
	over.expectClose(wsproto.CloseTryAgainLater)
	if st := s.Stats(); st.InboundRefusals != 1 || st.ProtocolErrors != 0 {
		t.Fatalf("refusals %d, protocol errors %d; want 1 and 0", st.InboundRefusals, st.ProtocolErrors)
	}

	// Small messages, which arrive whole, are served meanwhile.
	checkEcho(t, s)

	// The holder completes its frame: echoed, and its bytes come back.
	holder.write(held[600<<10:])
	holder.expectMessage(wsproto.OpBinary, bytes.Repeat([]byte{'x'}, 700<<10))
	waitFor(t, 5*time.Second, "the budget to be given back", func() bool { return s.Stats().InboundBytes == 0 })

	// A connection that closes with a partial frame gives it back too.
	quitter := dialWS(t, s)
	quitter.write(frameOf(900 << 10)[:1000])
	waitFor(t, 5*time.Second, "the quitter's frame to be reserved", func() bool { return s.Stats().InboundBytes == 900<<10 })
	quitter.nc.Close()
	waitFor(t, 5*time.Second, "the closed connection's bytes to come back", func() bool { return s.Stats().InboundBytes == 0 })
}

// TestMessageTimeout: a client that trickles a message a byte at a time
// keeps its connection alive (every byte counts as life) but not the
// message: past MessageTimeout it is failed with 1008 and counted, while
// a message that completes in time is served.
func TestMessageTimeout(t *testing.T) {
	const limit = 300 * time.Millisecond
	s := startServer(t, Options{MessageTimeout: limit})

	// Slow but in time: the first half now, the rest within the limit.
	ok := dialWS(t, s)
	msg := clientFrame(true, 0, wsproto.OpText, []byte("in time"))
	ok.write(msg[:5])
	time.Sleep(limit / 3)
	ok.write(msg[5:])
	ok.expectMessage(wsproto.OpText, []byte("in time"))

	c := dialWS(t, s)
	trickled := clientFrame(true, 0, wsproto.OpBinary, bytes.Repeat([]byte{'t'}, 1000))
	began := time.Now()
	c.write(trickled[:10])
	closed := make(chan time.Duration, 1)
	go func() {
		c.expectClose(wsproto.ClosePolicyViolation)
		closed <- time.Since(began)
	}()
	var took time.Duration
trickle:
	for i := 10; ; i++ {
		select {
		case took = <-closed:
			break trickle
		case <-time.After(limit / 10):
			if time.Since(began) > 20*limit {
				t.Fatalf("no close frame %v after the trickle began", time.Since(began))
			}
			c.nc.Write(trickled[i : i+1]) // fails once the server has closed
		}
	}
	if took > 5*limit {
		t.Errorf("the trickled message was cut after %v, want about %v", took, limit)
	}
	if got := s.Stats().MessageTimeouts; got != 1 {
		t.Errorf("Stats().MessageTimeouts = %d, want 1", got)
	}
	checkEcho(t, s)
}
