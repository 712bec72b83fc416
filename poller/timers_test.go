package poller

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/wsgate/wsgate/wsproto"
)

// TestPingTimeout: with pings every 100ms and two missed pongs allowed, a
// silent client is closed with 1001, and a client that answers stays.
func TestPingTimeout(t *testing.T) {
	h := &echoHandler{}
	s := startServer(t, Options{Handler: h, PingInterval: 100 * time.Millisecond, MaxMissedPongs: 2, CloseTimeout: 300 * time.Millisecond})

	t.Run("answering-client-stays", func(t *testing.T) {
		c := dialWS(t, s)
		pings := 0
		for until := time.Now().Add(time.Second); time.Now().Before(until); {
			f := c.mustReadFrame()
			if f.op != wsproto.OpPing {
				t.Fatalf("got %v (code %d), want only pings", f, f.closeCode())
			}
			pings++
			c.write(pong(f.payload))
		}
		if pings < 3 {
			t.Fatalf("%d pings in a second at an interval of 100ms", pings)
		}
		c.write(closeFrame(closePayload(1000, "")))
		c.expectClose(1000)
		c.expectEOF()
	})

	t.Run("silent-client-closed", func(t *testing.T) {
		c := dialWS(t, s)
		start := time.Now()
		pings := 0
		for {
			f := c.mustReadFrame()
			if f.op == wsproto.OpPing {
				pings++
				continue
			}
			if f.op != wsproto.OpClose || f.closeCode() != wsproto.CloseGoingAway {
				t.Fatalf("got %v (code %d), want pings, then close 1001", f, f.closeCode())
			}
			break
		}
		// The client never answers the close either: CloseTimeout ends it.
		c.expectEOF()
		t.Logf("closed after %d pings in %v", pings, time.Since(start))
		if pings != 2 {
			t.Errorf("%d pings before the close, want MaxMissedPongs = 2", pings)
		}
		if got := s.Stats().PingTimeouts; got != 1 {
			t.Errorf("Stats().PingTimeouts = %d, want 1", got)
		}
	})
}

// TestIdleTimeout: a client that sends nothing is closed with 1001 after
// IdleTimeout; one that keeps talking is not.
func TestIdleTimeout(t *testing.T) {
	const idle = 200 * time.Millisecond
	s := startServer(t, Options{IdleTimeout: idle, PingInterval: -1, CloseTimeout: 300 * time.Millisecond})

	talker := dialWS(t, s)
	silent := dialWS(t, s)
	start := time.Now()
	for until := start.Add(3 * idle); time.Now().Before(until); {
		talker.writeFrame(true, wsproto.OpText, []byte("x"))
		talker.expectMessage(wsproto.OpText, []byte("x"))
	}
	silent.expectClose(wsproto.CloseGoingAway)
	if d := time.Since(start); d < idle {
		t.Fatalf("idle client closed after %v, before IdleTimeout %v", d, idle)
	}
	silent.expectEOF()
	// The talker went quiet only now; it is still open.
	talker.writeFrame(true, wsproto.OpText, []byte("y"))
	talker.expectMessage(wsproto.OpText, []byte("y"))
}

// TestCloseTimeout: a server-initiated close to a peer that never answers
// ends the TCP connection after CloseTimeout; a peer that answers ends it
// at once.
func TestCloseTimeout(t *testing.T) {
	const closeTimeout = 300 * time.Millisecond
	h := &echoHandler{opened: make(chan *Conn, 1)}
	s := startServer(t, Options{Handler: h, CloseTimeout: closeTimeout})

	c := dialWS(t, s)
	sc := <-h.opened
	start := time.Now()
	if err := sc.Close(4001, "bye"); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if f := c.expectClose(4001); string(f.payload[2:]) != "bye" {
		t.Fatalf("close reason %q", f.payload[2:])
	}
	if err := sc.Close(4002, "again"); !errors.Is(err, ErrClosed) {
		t.Fatalf("second Close returned %v, want ErrClosed", err)
	}
	if err := sc.WriteMessage(wsproto.OpText, []byte("late")); !errors.Is(err, ErrClosed) {
		t.Fatalf("WriteMessage after Close returned %v, want ErrClosed", err)
	}
	c.expectEOF()
	if d := time.Since(start); d < closeTimeout {
		t.Fatalf("dropped after %v, before CloseTimeout %v", d, closeTimeout)
	}
	waitFor(t, 5*time.Second, "OnClose", func() bool { return len(h.closeRecords()) == 1 })
	if r := h.closeRecords()[0]; r.code != 4001 || r.reason != "bye" {
		t.Fatalf("OnClose got %d %q, want our own 4001 bye", r.code, r.reason)
	}

	// A peer that answers: no waiting for the timeout (which here is far
	// longer than the read deadline).
	s2 := startServer(t, Options{Handler: h, CloseTimeout: time.Minute})
	c2 := dialWS(t, s2)
	sc2 := <-h.opened
	sc2.Close(1000, "")
	c2.expectClose(1000)
	c2.write(closeFrame(closePayload(1000, "")))
	c2.expectEOF()
}

// TestShutdown: clients get close 1001, those that answer are released at
// once, the silent one after CloseTimeout, and Shutdown returns.
func TestShutdown(t *testing.T) {
	h := &echoHandler{}
	s := startServer(t, Options{Handler: h, CloseTimeout: 500 * time.Millisecond})
	answering := []*client{dialWS(t, s), dialWS(t, s), dialWS(t, s)}
	silent := dialWS(t, s)
	handshaking := dialRaw(t, s)
	handshaking.write([]byte("GET /ws HTTP/1.1\r\n"))
	waitFor(t, 5*time.Second, "five connections", func() bool { return s.Stats().Conns == 5 })

	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		done <- s.Shutdown(ctx)
	}()
	for _, c := range answering {
		c.expectClose(wsproto.CloseGoingAway)
		c.write(closeFrame(closePayload(1001, "")))
		c.expectEOF()
	}
	silent.expectClose(wsproto.CloseGoingAway)
	silent.expectEOF()
	handshaking.expectEOF()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Shutdown did not return")
	}
	waitFor(t, 5*time.Second, "OnClose for the four open clients", func() bool { return len(h.closeRecords()) == 4 })
	for _, r := range h.closeRecords() {
		if r.code != wsproto.CloseGoingAway {
			t.Errorf("OnClose code %d, want 1001", r.code)
		}
	}
	// Nothing is served any more.
	if c, err := dialNoFatal(s); err == nil {
		c.SetDeadline(time.Now().Add(ioTimeout))
		c.Write([]byte(upgradeRequest("/ws", "")))
		var b [1]byte
		if _, err := c.Read(b[:]); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("a connection after Shutdown got an answer or hung: %v", err)
		}
		c.Close()
	}
}
