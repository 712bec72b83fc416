package register

import (
	"io"
	"net"
	"testing"
	"time"
)

// Over ServerOptions.MaxConns a new connection is closed as soon as it is
// accepted, and counted; the node registered before stays, and a new node
// joins once a slot is free.
func TestConnectionsOverCapClosed(t *testing.T) {
	srv, reg := startRegisterWith(t, "127.0.0.1:0", func(o *ServerOptions) { o.MaxConns = 2 })
	a := startNode(t, "a", reg)
	waitFor(t, "a registered", func() bool { return len(srv.Peers()) == 1 })

	// A stranger takes the last slot and says nothing.
	idle, err := net.Dial("tcp", reg)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	waitFor(t, "two connections held", func() bool { return srv.Stats().Conns == 2 })

	over, err := net.Dial("tcp", reg)
	if err != nil {
		t.Fatal(err)
	}
	defer over.Close()
	// Closed before the register wrote anything (gRPC starts with its
	// settings), and well within the 5s handshake timeout.
	over.SetReadDeadline(time.Now().Add(time.Second))
	if n, err := io.Copy(io.Discard, over); err != nil || n != 0 {
		t.Fatalf("a connection over the cap: read %d bytes, then %v; want it closed at once", n, err)
	}
	waitFor(t, "the refusal counted", func() bool { return srv.Stats().ConnsRefused == 1 })
	if got := srv.Stats().Conns; got != 2 {
		t.Fatalf("Stats().Conns = %d after a refusal, want 2", got)
	}

	// The node registered before stays registered, heartbeats going on.
	time.Sleep(2 * testTimeout)
	if got := ids(srv.Peers()); len(got) != 1 || got[0] != "a" || !a.Up() {
		t.Fatalf("after a refusal the register lists %v (a up: %v), want a", got, a.Up())
	}

	// Once the stranger leaves, a new node joins.
	idle.Close()
	b := startNode(t, "b", reg)
	waitFor(t, "a and b see each other", func() bool { return sees(a, "b") && sees(b, "a") })
}
