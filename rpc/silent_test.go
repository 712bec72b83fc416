package rpc

import (
	"context"
	"crypto/tls"
	"errors"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/wsgate/wsgate/internal/testutil"
)

// A peer that goes silent without closing its connection is caught by the
// stream heartbeats: calls then fail fast, and traffic resumes when it
// answers again.
func TestSilentPeerDetected(t *testing.T) {
	a := startNode(t, "a", "127.0.0.1", func(o *Options) { o.CallTimeout = 20 * time.Second })
	b := startNode(t, "b", "127.0.0.2", nil)
	proxy := testutil.StartProxy(t, "127.0.0.3", b.addr)
	a.SetPeers([]Peer{{ID: "b", Addr: proxy.Addr()}})

	if err := a.Send("b", seqCommand(0)); err != nil {
		t.Fatal(err)
	}
	b.rec.waitFor(t, 10*time.Second, "command through the proxy", func(r *recorder) bool { return len(r.cmds["a"]) == 1 })
	if _, err := a.Call(context.Background(), "b", countRequest); err != nil {
		t.Fatal(err)
	}

	proxy.Freeze()
	frozen := time.Now()
	eventually(t, 15*time.Second, "a marks b down", func() bool { return a.logs.Contains("rpc: peer down") })
	t.Logf("silent peer detected after %v", time.Since(frozen).Round(10*time.Millisecond))
	start := time.Now()
	_, err := a.Call(context.Background(), "b", countRequest)
	if !errors.Is(err, ErrPeerUnavailable) {
		t.Fatalf("call to silent peer: got %v, want ErrPeerUnavailable", err)
	}
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Fatalf("call to silent peer took %v (CallTimeout 20s)", elapsed)
	}
	// Queued while silent, delivered once it answers again.
	if err := a.Send("b", seqCommand(1)); err != nil {
		t.Fatal(err)
	}

	proxy.Thaw()
	b.rec.waitFor(t, 20*time.Second, "command queued while silent", func(r *recorder) bool {
		cmds := r.cmds["a"]
		return len(cmds) > 0 && seqOf(cmds[len(cmds)-1]) == 1
	})
	eventually(t, 20*time.Second, "calls work again", func() bool {
		_, err := a.Call(context.Background(), "b", countRequest)
		return err == nil
	})
}

// A peer slow to open its stream (busy, as under a load spike) counts as
// down after ConnectTimeout, so calls fail fast, but the opening goes on
// over the same connection: no redial adds handshakes to its load, and
// what was queued goes out once it answers.
func TestSlowPeerKeepsItsConnection(t *testing.T) {
	a := startNode(t, "a", "127.0.0.1", func(o *Options) { o.ConnectTimeout = 200 * time.Millisecond })
	b := startNode(t, "b", "127.0.0.2", nil)
	proxy := testutil.StartProxy(t, "127.0.0.3", b.addr)
	proxy.Freeze()
	a.SetPeers([]Peer{{ID: "b", Addr: proxy.Addr()}})
	if err := a.Send("b", seqCommand(0)); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "a marks b down", func() bool { return a.logs.Contains("rpc: peer down") })
	start := time.Now()
	if _, err := a.Call(context.Background(), "b", countRequest); !errors.Is(err, ErrPeerUnavailable) {
		t.Fatalf("call to a peer that has not answered: got %v, want ErrPeerUnavailable", err)
	}
	if elapsed := time.Since(start); elapsed > time.Second {
		t.Fatalf("call to a peer that has not answered took %v", elapsed)
	}
	time.Sleep(time.Second) // 1.2 s in all: six ConnectTimeouts, within three heartbeats
	proxy.Thaw()
	b.rec.waitFor(t, 10*time.Second, "the command queued while b was slow", func(r *recorder) bool { return len(r.cmds["a"]) == 1 })
	eventually(t, 10*time.Second, "calls work again", func() bool {
		_, err := a.Call(context.Background(), "b", countRequest)
		return err == nil
	})
	if n := proxy.Accepted(); n != 1 {
		t.Fatalf("%d connections to the slow peer, want 1", n)
	}
}

// The keepalive settings must agree, or the server answers client pings
// with GOAWAY too_many_pings.
func TestKeepaliveSettingsAgree(t *testing.T) {
	if clientKeepalive.Time < serverPolicy.MinTime {
		t.Fatalf("client pings every %v, server allows every %v", clientKeepalive.Time, serverPolicy.MinTime)
	}
	if clientKeepalive.PermitWithoutStream && !serverPolicy.PermitWithoutStream {
		t.Fatal("client pings without streams, server forbids it")
	}
}

func TestMutualTLS(t *testing.T) {
	cert, pool := testutil.SelfSigned(t, "127.0.0.1")
	serverTLS := &tls.Config{
		Certificates: []tls.Certificate{cert},
		ClientCAs:    pool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
	}
	withTLS := func(o *Options) {
		o.ServerTLS = serverTLS
		o.ClientTLS = &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}}
	}
	a := startNode(t, "a", "127.0.0.1", withTLS)
	b := startNode(t, "b", "127.0.0.1", withTLS)
	a.SetPeers([]Peer{{ID: "b", Addr: b.addr}})
	if _, err := a.Call(context.Background(), "b", countRequest); err != nil {
		t.Fatal(err)
	}
	if err := a.Send("b", seqCommand(7)); err != nil {
		t.Fatal(err)
	}
	b.rec.waitFor(t, 10*time.Second, "command over mTLS", func(r *recorder) bool { return len(r.cmds["a"]) == 1 })

	// Without a client certificate the handshake fails: no call gets through.
	noCert := startNode(t, "x", "127.0.0.1", func(o *Options) {
		o.ClientTLS = &tls.Config{RootCAs: pool}
	})
	noCert.SetPeers([]Peer{{ID: "b", Addr: b.addr}})
	_, err := noCert.Call(context.Background(), "b", countRequest)
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("call without client certificate: got %v, want Unavailable", err)
	}
}

// Each node hears about peersPerBeat heartbeats an interval at most, so
// the mesh's idle cost grows linearly with its size.
func TestStreamHeartbeatGrowsWithPeers(t *testing.T) {
	n := &Node{opts: Options{HeartbeatInterval: time.Second}}
	for _, tc := range []struct {
		peers int32
		want  time.Duration
	}{{0, time.Second}, {8, time.Second}, {9, 2 * time.Second}, {51, 7 * time.Second}, {1000, maxHeartbeat}} {
		n.peerCount.Store(tc.peers)
		if got := n.streamHeartbeat(); got != tc.want {
			t.Errorf("%d peers: heartbeat every %v, want %v", tc.peers, got, tc.want)
		}
	}
}
