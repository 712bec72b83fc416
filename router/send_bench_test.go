package router

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/wsgate/wsgate/wsproto"
)

// countingConn takes frames and counts their bytes without a socket, so
// that BenchmarkSendToGroup measures the router alone: snapshot, encode,
// hand-off. (10,000 real sockets plus their client ends would exceed the
// process's file limit; BenchmarkSendToGroupSockets measures with real
// connections at smaller sizes.)
type countingConn struct{ bytes int }

func (c *countingConn) WriteFrame(f *wsproto.SharedFrame) error { c.bytes += f.Len(); return nil }
func (c *countingConn) QueueFrame(f *wsproto.SharedFrame) error { c.bytes += f.Len(); return nil }
func (c *countingConn) Close(wsproto.StatusCode, string) error  { return nil }
func (c *countingConn) Abort()                                  {}

// BenchmarkSendToGroup sends a 64-byte message to a group of local members.
// allocs/op must not grow with the member count (the frame is encoded once
// and shared); ns/delivery is the router's cost per member.
func BenchmarkSendToGroup(b *testing.B) {
	for _, members := range []int{100, 1000, 10000} {
		b.Run(fmt.Sprintf("members=%d", members), func(b *testing.B) {
			r := New(Options{})
			gen := NewIDGenerator(1)
			conns := make([]countingConn, members)
			for i := range conns {
				c, err := r.Add(gen.Next(), &conns[i], "", nil)
				if err != nil {
					b.Fatal(err)
				}
				if err := r.JoinGroup(c.ID(), "room"); err != nil {
					b.Fatal(err)
				}
			}
			msg := make([]byte, 64)
			groups := []string{"room"}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if n := r.SendToGroups(groups, wsproto.OpText, msg, nil); n != members {
					b.Fatalf("delivered %d", n)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(members), "ns/delivery")
		})
	}
}

// BenchmarkSendToGroupSockets is SendToGroup over real loopback
// connections: the frame is queued on each poller connection and written
// with writev; the client ends read and discard it.
func BenchmarkSendToGroupSockets(b *testing.B) {
	for _, members := range []int{100, 1000, 5000} {
		b.Run(fmt.Sprintf("members=%d", members), func(b *testing.B) {
			node, cs := startLiveNode(b, members)
			for _, c := range cs {
				if err := node.r.JoinGroup(c.ID(), "room"); err != nil {
					b.Fatal(err)
				}
			}
			msg := make([]byte, 64)
			groups := []string{"room"}
			frameLen := int64(len(msg) + 2)
			b.ReportAllocs()
			b.ResetTimer()
			sent := 0
			for b.Loop() {
				sent += node.r.SendToGroups(groups, wsproto.OpText, msg, nil)
			}
			// Count the time until the clients have read everything.
			deadline := time.Now().Add(time.Minute)
			for node.read.Load() < int64(sent)*frameLen && time.Now().Before(deadline) {
				time.Sleep(100 * time.Microsecond)
			}
			b.StopTimer()
			if got := node.read.Load(); got < int64(b.N*members)*frameLen {
				b.Fatalf("clients read %d bytes, want %d", got, int64(b.N*members)*frameLen)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(members), "ns/delivery")
		})
	}
}

// BenchmarkSendToClient is the router's part of a send to one client
// among 10,000, in an order the caches do not follow: the lookup and the
// shared frame, the write itself being free.
func BenchmarkSendToClient(b *testing.B) {
	r, ids := shuffledClients(b, 10000)
	msg := []byte("a message of sixty-four bytes, or thereabouts, for the echo....")
	i := 0
	for b.Loop() {
		if err := r.SendToClient(ids[i], wsproto.OpText, msg); err != nil {
			b.Fatal(err)
		}
		i = (i + 1) % len(ids)
	}
}

// shuffledClients is a router with n clients and their ids, as the gateway
// hands them to the application, in an order the caches do not follow.
func shuffledClients(b *testing.B, n int) (*Router, []string) {
	r := New(Options{})
	g := NewIDGenerator(1)
	ids := make([]string, n)
	for i := range ids {
		c, err := r.Add(g.Next(), &countingConn{}, "", nil)
		if err != nil {
			b.Fatal(err)
		}
		ids[i] = c.ID()
	}
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	return r, ids
}
