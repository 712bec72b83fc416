package poller

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/wsgate/wsgate/wsproto"
)

// blockingCloseHandler echoes, and holds every OnClose until released.
type blockingCloseHandler struct {
	echoHandler
	inClose chan struct{}
	release chan struct{}
	done    chan struct{}
}

func (h *blockingCloseHandler) OnClose(c *Conn, code wsproto.StatusCode, reason string) {
	h.inClose <- struct{}{}
	<-h.release
	h.echoHandler.OnClose(c, code, reason)
	close(h.done)
}

// TestShutdownWaitsForOnClose: Shutdown returns only after OnClose has
// returned, and when its context ends first it returns at the deadline
// instead of waiting for a blocked OnClose.
func TestShutdownWaitsForOnClose(t *testing.T) {
	h := &blockingCloseHandler{inClose: make(chan struct{}, 1), release: make(chan struct{}), done: make(chan struct{})}
	h.opened = make(chan *Conn, 1)
	s := startServer(t, Options{Handler: h, CloseTimeout: 200 * time.Millisecond})
	c := dialWS(t, s)
	defer c.nc.Close()
	<-h.opened // the 101 can reach the client before OnOpen runs

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := s.Shutdown(ctx)
	took := time.Since(start)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown with OnClose blocked = %v after %v, want the deadline; stats %+v", err, took, s.Stats())
	}
	if took > 2*time.Second {
		t.Fatalf("Shutdown took %v with a 300ms deadline", took)
	}
	select {
	case <-h.inClose:
	case <-time.After(5 * time.Second):
		t.Fatal("OnClose never started")
	}
	if n := s.Stats().Conns; n != 1 {
		t.Fatalf("Conns = %d while OnClose runs, want 1", n)
	}
	close(h.release)
	<-h.done
	deadline := time.Now().Add(5 * time.Second)
	for s.Stats().Conns != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("Conns = %d after OnClose returned", s.Stats().Conns)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
