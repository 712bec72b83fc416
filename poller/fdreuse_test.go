package poller

import (
	"bytes"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/wsgate/wsgate/wsproto"
)

// TestNoWriteAfterAbort: senders keep writing to connections that are
// aborted under them while new connections arrive and take the freed file
// descriptor numbers. No byte meant for a dead connection may reach a new
// one, so every new handshake gets a clean 101. The race is narrow: a
// regression fails some runs, under -race most.
func TestNoWriteAfterAbort(t *testing.T) {
	if testing.Short() {
		t.Skip("stress")
	}
	h := &echoHandler{opened: make(chan *Conn, 1)}
	s := startServer(t, Options{Handler: h})
	req := []byte(upgradeRequest("/ws", ""))
	msg := bytes.Repeat([]byte("STALE"), 20)
	deadline := time.Now().Add(5 * time.Second)
	var buf [4096]byte
	for i := 0; i < 3000 && time.Now().Before(deadline); i++ {
		nc, err := net.DialTimeout("tcp", s.Addr().String(), ioTimeout)
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		nc.SetDeadline(time.Now().Add(ioTimeout))
		nc.Write(req)
		sc := <-h.opened
		// Senders racing the abort.
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for sc.WriteMessage(wsproto.OpBinary, msg) == nil {
				}
			}()
		}
		sc.Abort()
		// A new connection right away takes the lowest free fd.
		fresh, err := net.DialTimeout("tcp", s.Addr().String(), ioTimeout)
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		fresh.SetDeadline(time.Now().Add(ioTimeout))
		fresh.Write(req)
		got := 0
		for !bytes.Contains(buf[:got], []byte("\r\n\r\n")) && got < len(buf) {
			k, err := fresh.Read(buf[got:])
			if err != nil {
				t.Fatalf("iteration %d: fresh connection: %v after %q", i, err, buf[:got])
			}
			got += k
		}
		if !bytes.HasPrefix(buf[:got], []byte("HTTP/1.1 101 ")) || bytes.Contains(buf[:got], []byte("STALE")) {
			t.Fatalf("iteration %d: fresh connection got %q", i, buf[:got])
		}
		<-h.opened
		wg.Wait()
		fresh.Close()
		nc.Close()
	}
}
