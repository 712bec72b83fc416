package poller

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/wsgate/wsgate/wsproto"
)

// drainClients opens n clients and, for each, waits in the background for
// its close frame, answers it and records when it came and what it said.
type drainRecord struct {
	at     time.Duration // since start
	code   wsproto.StatusCode
	reason string
}

func drainClients(t *testing.T, s *Server, h *echoHandler, n int) (start func(), records func() []drainRecord) {
	t.Helper()
	clients := make([]*client, n)
	for i := range clients {
		clients[i] = dialWS(t, s)
		<-h.opened
	}
	var (
		mu   sync.Mutex
		recs []drainRecord
		wg   sync.WaitGroup
		t0   time.Time
	)
	start = func() {
		t0 = time.Now()
		for _, c := range clients {
			wg.Go(func() {
				f, err := c.readFrame()
				if err != nil || f.op != wsproto.OpClose {
					t.Errorf("want a close frame, got %v, %v", f, err)
					return
				}
				at := time.Since(t0)
				c.write(clientFrame(true, 0, wsproto.OpClose, f.payload[:2]))
				mu.Lock()
				recs = append(recs, drainRecord{at, f.closeCode(), string(f.payload[2:])})
				mu.Unlock()
			})
		}
	}
	records = func() []drainRecord {
		wg.Wait()
		slices.SortFunc(recs, func(a, b drainRecord) int { return int(a.at - b.at) })
		return recs
	}
	return start, records
}

// TestShutdownSpreadsCloses: with a DrainWindow, Shutdown closes the
// clients with 1001 and the reconnect reason, spread over the window
// rather than all at once.
func TestShutdownSpreadsCloses(t *testing.T) {
	const n, window = 30, 600 * time.Millisecond
	h := &echoHandler{opened: make(chan *Conn, n)}
	s := startServer(t, Options{Handler: h, DrainWindow: window})
	start, records := drainClients(t, s, h, n)

	start()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	recs := records()
	if len(recs) != n {
		t.Fatalf("%d clients got a close frame, want %d", len(recs), n)
	}
	for _, r := range recs {
		if r.code != wsproto.CloseGoingAway || r.reason != ShutdownReason {
			t.Fatalf("closed with %d %q, want 1001 %q", r.code, r.reason, ShutdownReason)
		}
	}
	// Evenly spread, the first close comes at once and the last near the
	// end of the window; all at once, they would span a few milliseconds.
	if spread := recs[n-1].at - recs[0].at; spread < window/2 {
		t.Fatalf("closes spread over %v, want most of the %v window", spread, window)
	}
	if mid := recs[n/2].at; mid < window/5 {
		t.Fatalf("half the clients closed within %v of a %v window", mid, window)
	}
}

// TestShutdownWindowFitsContext: a window longer than Shutdown's context
// is cut to fit it, so every client still gets its close frame.
func TestShutdownWindowFitsContext(t *testing.T) {
	const n = 10
	h := &echoHandler{opened: make(chan *Conn, n)}
	s := startServer(t, Options{Handler: h, DrainWindow: time.Hour})
	start, records := drainClients(t, s, h, n)

	start()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	began := time.Now()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v after %v", err, time.Since(began))
	}
	if recs := records(); len(recs) != n {
		t.Fatalf("%d clients got a close frame, want %d", len(recs), n)
	}
}
