package poller

import (
	"fmt"
	"testing"

	"github.com/wsgate/wsgate/wsproto"
)

// TestQueueFrameFanOut queues a burst of shared frames on several
// connections, mixing QueueFrame and WriteFrame; each client must get all
// of them, in order, and a Close after them must arrive last.
func TestQueueFrameFanOut(t *testing.T) {
	const conns, msgs = 8, 500
	h := &echoHandler{opened: make(chan *Conn, conns)}
	s := startServer(t, Options{Handler: h, Flushers: 2})
	clients := make([]*client, conns)
	scs := make([]*Conn, conns)
	for i := range clients {
		clients[i] = dialWS(t, s)
		scs[i] = <-h.opened
	}
	for m := range msgs {
		f := wsproto.NewSharedFrame(wsproto.OpText, []byte(fmt.Sprintf("msg %d", m)))
		for i, c := range scs {
			var err error
			if (m+i)%7 == 0 {
				err = c.WriteFrame(f)
			} else {
				err = c.QueueFrame(f)
			}
			if err != nil {
				t.Fatalf("queue msg %d on conn %d: %v", m, i, err)
			}
		}
		f.Release()
	}
	for _, c := range scs {
		if err := c.Close(wsproto.CloseNormal, "done"); err != nil {
			t.Fatalf("Close: %v", err)
		}
	}
	for i, cl := range clients {
		for m := range msgs {
			cl.expectMessage(wsproto.OpText, []byte(fmt.Sprintf("msg %d", m)))
		}
		if f := cl.mustReadFrame(); f.op != wsproto.OpClose || f.closeCode() != wsproto.CloseNormal {
			t.Fatalf("conn %d: got %v after the messages, want close 1000", i, f)
		}
	}
}

// TestQueueFrameAfterClose refuses a frame once the connection is closing.
func TestQueueFrameAfterClose(t *testing.T) {
	h := &echoHandler{opened: make(chan *Conn, 1)}
	s := startServer(t, Options{Handler: h})
	cl := dialWS(t, s)
	sc := <-h.opened
	sc.Close(wsproto.CloseNormal, "")
	f := wsproto.NewSharedFrame(wsproto.OpText, []byte("late"))
	defer f.Release()
	if err := sc.QueueFrame(f); err != ErrClosed {
		t.Fatalf("QueueFrame after Close: %v, want ErrClosed", err)
	}
	cl.expectClose(wsproto.CloseNormal)
}
