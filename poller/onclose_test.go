package poller

import (
	"context"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/wsgate/wsgate/wsproto"
)

// TestOnCloseOncePerConnection closes many connections at the same time in
// every way a connection ends, and checks that OnClose ran exactly once for
// each with the right code.
func TestOnCloseOncePerConnection(t *testing.T) {
	const n = 300
	h := &echoHandler{opened: make(chan *Conn, n)}
	s := startServer(t, Options{Handler: h, CloseTimeout: 200 * time.Millisecond})

	clients := make([]*client, n)
	conns := make([]*Conn, n)
	for i := range n {
		clients[i] = dialWS(t, s)
		conns[i] = <-h.opened
	}

	// How connection i ends, and the code OnClose must see.
	const (
		peerClose   = iota // the client sends close 4000+i
		peerAbort          // the client drops TCP: 1006
		serverClose        // the server closes with 3000+i, the client answers
		both               // server and client close at the same moment
		violation          // the client sends a bad frame: 1002
		kinds
	)
	want := make(map[uint64]wsproto.StatusCode, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		c, sc := clients[i], conns[i]
		switch i % kinds {
		case peerClose, both:
			want[sc.ID()] = wsproto.StatusCode(4000 + i)
		case peerAbort:
			want[sc.ID()] = wsproto.CloseAbnormal
		case serverClose:
			want[sc.ID()] = wsproto.StatusCode(3000 + i)
		case violation:
			want[sc.ID()] = wsproto.CloseProtocolError
		}
		wg.Add(2)
		go func() {
			defer wg.Done()
			c.nc.SetDeadline(time.Now().Add(ioTimeout))
			switch i % kinds {
			case peerClose, both:
				c.nc.Write(clientFrame(true, 0, wsproto.OpClose, closePayload(uint16(4000+i), "peer")))
			case peerAbort:
				c.nc.Close()
				return
			case violation:
				c.nc.Write(clientFrame(true, 3, wsproto.OpText, []byte("x")))
			case serverClose:
				// answer the server's close as soon as it arrives
				if f, err := c.readFrame(); err != nil || f.op != wsproto.OpClose {
					errs <- err
					return
				}
				c.nc.Write(clientFrame(true, 0, wsproto.OpClose, closePayload(uint16(3000+i), "")))
			}
			if _, err := io.Copy(io.Discard, c.br); err != nil && !isReset(err) {
				errs <- err
			}
		}()
		go func() {
			defer wg.Done()
			switch i % kinds {
			case serverClose:
				sc.Close(wsproto.StatusCode(3000+i), "server")
			case both:
				sc.Close(wsproto.StatusCode(4000+i), "server")
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("client: %v", err)
	}
	waitFor(t, 20*time.Second, "OnClose for every connection", func() bool { return len(h.closeRecords()) >= n })
	// Shutdown waits for every connection; after it, late duplicates would
	// have shown.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	records := h.closeRecords()
	if len(records) != n || h.openCount.Load() != n {
		t.Fatalf("%d OnClose calls for %d opened connections, want %d", len(records), h.openCount.Load(), n)
	}
	seen := make(map[uint64]bool, n)
	for _, r := range records {
		if seen[r.id] {
			t.Fatalf("OnClose ran twice for conn %d", r.id)
		}
		seen[r.id] = true
		code, ok := want[r.id]
		if !ok {
			t.Fatalf("OnClose for unknown conn %d", r.id)
		}
		if r.code != code {
			t.Errorf("conn %d: OnClose code %d, want %d", r.id, r.code, code)
		}
	}
}
