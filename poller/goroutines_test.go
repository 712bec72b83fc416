package poller

import (
	"bufio"
	"bytes"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/wsgate/wsgate/wsproto"
)

// TestNoGoroutinePerConnection opens thousands of idle connections and
// checks that the process's goroutine count does not grow with them. The
// client side holds raw sockets and handshakes synchronously, so it adds no
// goroutines either.
func TestNoGoroutinePerConnection(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 5,000 connections")
	}
	const n = 5000 // both ends live in this process: 10,000 fds
	s := startServer(t, Options{})
	checkEcho(t, s) // start the event loop's pollers and workers
	waitFor(t, 10*time.Second, "the warm-up connection to go", func() bool { return s.Stats().Conns == 0 })
	before := runtime.NumGoroutine()

	req := []byte(upgradeRequest("/ws", ""))
	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, nc := range conns {
			nc.Close()
		}
	}()
	var buf [512]byte
	for i := range n {
		nc, err := net.DialTimeout("tcp", s.Addr().String(), ioTimeout)
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		conns = append(conns, nc)
		nc.SetDeadline(time.Now().Add(ioTimeout))
		if _, err := nc.Write(req); err != nil {
			t.Fatalf("conn %d: write request: %v", i, err)
		}
		got := 0
		for !bytes.Contains(buf[:got], []byte("\r\n\r\n")) {
			k, err := nc.Read(buf[got:])
			if err != nil {
				t.Fatalf("conn %d: read response after %q: %v", i, buf[:got], err)
			}
			got += k
		}
		if !bytes.HasPrefix(buf[:got], []byte("HTTP/1.1 101 ")) {
			t.Fatalf("conn %d: response %q", i, buf[:got])
		}
	}
	waitFor(t, 10*time.Second, "the server to count every connection", func() bool {
		st := s.Stats()
		return st.Conns == n && st.Opened == n+1
	})

	// Workers of the event loop may linger briefly after the burst of
	// handshakes; what must not stay is anything per connection.
	const allowed = 50
	var growth int
	deadline := time.Now().Add(5 * time.Second)
	for {
		growth = runtime.NumGoroutine() - before
		if growth < allowed || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("%d idle connections: %d goroutines before, growth %d", n, before, growth)
	if growth >= allowed {
		t.Fatalf("goroutines grew by %d with %d idle connections, want < %d", growth, n, allowed)
	}

	// They are live connections, not leftovers: the last one echoes.
	last := &client{t: t, nc: conns[n-1]}
	last.br = bufio.NewReader(last.nc)
	last.writeFrame(true, wsproto.OpText, []byte("hello"))
	last.expectMessage(wsproto.OpText, []byte("hello"))

	for _, nc := range conns {
		nc.Close()
	}
	conns = nil
	waitFor(t, 20*time.Second, "every connection to be gone", func() bool { return s.Stats().Conns == 0 })
}
