package api

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/wsgate/wsgate/poller"
)

// TestDrainLeavesFirstThenSpreads: a node shutting down with a drain
// window leaves the register first, so the other nodes drop it while its
// clients are still connected, then closes them with 1001 and the
// reconnect reason, spread over the window.
func TestDrainLeavesFirstThenSpreads(t *testing.T) {
	const n, window = 10, time.Second
	reg := startRegister(t, "127.0.0.1:0")
	n1 := startNode(t, nodeIPs[0], Options{Cluster: clusterOptions(nodeIPs[0], reg.addr)}, newRecorder())
	n2 := startNode(t, nodeIPs[1], Options{
		Cluster: clusterOptions(nodeIPs[1], reg.addr),
		Server:  poller.Options{DrainWindow: window},
	}, newRecorder())
	waitConnected(t, n1, n2)
	clients := make([]*client, n)
	for i := range clients {
		clients[i] = dial(t, n2)
	}

	t0 := time.Now()
	ctx, cancel := context.WithTimeout(bg, wait)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- n2.Shutdown(ctx) }()

	var (
		mu     sync.Mutex
		closes []time.Duration
		wg     sync.WaitGroup
	)
	for _, c := range clients {
		wg.Go(func() {
			ce, _ := c.CloseErr()
			if ce.Code != 1001 || ce.Reason != poller.ShutdownReason {
				t.Errorf("closed with %d %q, want 1001 %q", ce.Code, ce.Reason, poller.ShutdownReason)
			}
			mu.Lock()
			closes = append(closes, since(t0))
			mu.Unlock()
		})
	}
	waitFor(t, "n1 to drop n2", func() bool { return !hasPeer(n1, n2) })
	dropped := since(t0)
	wg.Wait()
	must(t, recv(t, done, "n2's shutdown"))

	first, last := closes[0], closes[0]
	for _, d := range closes {
		first, last = min(first, d), max(last, d)
	}
	if dropped >= last {
		t.Fatalf("n1 dropped n2 at %v, after the last client closed at %v: the node should leave first", dropped, last)
	}
	if last-first < window/2 {
		t.Fatalf("closes spread over %v (%v to %v), want most of the %v window", last-first, first, last, window)
	}
}
