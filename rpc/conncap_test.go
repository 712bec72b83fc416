package rpc

import (
	"context"
	"io"
	"net"
	"testing"
	"time"
)

// Over Options.MaxConns a new connection is closed as soon as it is
// accepted, and counted; the peer already connected keeps working, and a
// new peer gets in once a slot is free.
func TestConnectionsOverCapClosed(t *testing.T) {
	a := startNode(t, "a", "127.0.0.1", func(o *Options) { o.MaxConns = 2 })
	b := startNode(t, "b", "127.0.0.2", nil)
	b.SetPeers([]Peer{{ID: "a", Addr: a.addr}})
	if _, err := b.Call(context.Background(), "a", countRequest); err != nil {
		t.Fatal(err)
	}

	// A stranger takes the last slot and says nothing.
	idle, err := net.Dial("tcp", a.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	eventually(t, 5*time.Second, "two connections held", func() bool { return a.Stats().Conns == 2 })

	over, err := net.Dial("tcp", a.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer over.Close()
	began := time.Now()
	// Closed before the server wrote anything (it starts with its
	// settings), and well within the 5s handshake timeout.
	over.SetReadDeadline(time.Now().Add(time.Second))
	if n, err := io.Copy(io.Discard, over); err != nil || n != 0 {
		t.Fatalf("a connection over the cap: read %d bytes, then %v; want it closed at once", n, err)
	}
	t.Logf("connection over the cap closed after %v", time.Since(began).Round(time.Millisecond))
	eventually(t, 5*time.Second, "the refusal counted", func() bool { return a.Stats().ConnsRefused == 1 })
	if got := a.Stats().Conns; got != 2 {
		t.Fatalf("Stats().Conns = %d after a refusal, want 2", got)
	}

	// The peer connected before still works.
	if _, err := b.Call(context.Background(), "a", countRequest); err != nil {
		t.Fatalf("peer under the cap: %v", err)
	}
	if err := b.Send("a", seqCommand(0)); err != nil {
		t.Fatal(err)
	}
	a.rec.waitFor(t, 10*time.Second, "b's command", func(r *recorder) bool { return len(r.cmds["b"]) == 1 })

	// Once the stranger leaves, a new peer connects.
	idle.Close()
	c := startNode(t, "c", "127.0.0.3", nil)
	c.SetPeers([]Peer{{ID: "a", Addr: a.addr}})
	eventually(t, 10*time.Second, "c's call once a slot is free", func() bool {
		_, err := c.Call(context.Background(), "a", countRequest)
		return err == nil
	})
}
