package connlimit

import (
	"io"
	"net"
	"testing"
	"time"
)

// Over the bound a connection is closed at once and counted; closing one
// within it frees its slot for the next.
func TestListenerCapsOpenConnections(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	limit := New(2)
	lis := limit.Listener(inner, 0)
	defer lis.Close()
	accepted := make(chan net.Conn, 8)
	go func() {
		for {
			c, err := lis.Accept()
			if err != nil {
				close(accepted)
				return
			}
			accepted <- c
		}
	}()

	dial := func() net.Conn {
		t.Helper()
		c, err := net.Dial("tcp", inner.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	var held []net.Conn
	for range 2 {
		dial()
		held = append(held, <-accepted)
	}
	if got := limit.Open(); got != 2 {
		t.Fatalf("Open = %d, want 2", got)
	}

	over := dial()
	if !closedSoon(over) {
		t.Fatal("a connection over the bound was not closed within a second")
	}
	if got := limit.Refused(); got != 1 {
		t.Fatalf("Refused = %d, want 1", got)
	}
	if got := limit.Open(); got != 2 {
		t.Fatalf("Open after a refusal = %d, want 2", got)
	}

	// Closing twice gives back one slot only.
	held[0].Close()
	held[0].Close()
	if got := limit.Open(); got != 1 {
		t.Fatalf("Open after a close = %d, want 1", got)
	}
	within := dial()
	select {
	case c := <-accepted:
		defer c.Close()
	case <-time.After(5 * time.Second):
		t.Fatal("a connection within the bound was not accepted")
	}
	if closedSoon(within) {
		t.Fatal("a connection within the bound was closed")
	}
	if got := limit.Refused(); got != 1 {
		t.Fatalf("Refused = %d, want still 1", got)
	}
}

// closedSoon reports whether the server closed c within a second.
func closedSoon(c net.Conn) bool {
	c.SetReadDeadline(time.Now().Add(time.Second))
	_, err := io.Copy(io.Discard, c)
	return err == nil // EOF; else the deadline passed
}
