package register

import (
	"log/slog"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/wsgate/wsgate/internal/testutil"
	"github.com/wsgate/wsgate/register/registerpb"
)

func TestNodesSeeEachOther(t *testing.T) {
	_, reg := startRegister(t, "127.0.0.1:0", nil)
	a := startNode(t, "a", reg)
	b := startNode(t, "b", reg)
	waitFor(t, "two nodes to see each other", func() bool { return sees(a, "b") && sees(b, "a") })

	var mu sync.Mutex
	var lastSeen []Peer
	a.OnChange(func(peers []Peer) {
		mu.Lock()
		defer mu.Unlock()
		lastSeen = peers
	})
	c := startNode(t, "c", reg)
	waitFor(t, "three nodes to see each other", func() bool {
		return sees(a, "b", "c") && sees(b, "a", "c") && sees(c, "a", "b")
	})
	waitFor(t, "OnChange to report c", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return slices.Equal(ids(lastSeen), []string{"b", "c"})
	})

	// Peers carry what each node announced.
	for _, p := range a.Peers() {
		want := map[string]Peer{"b": b.Self(), "c": c.Self()}[p.ID]
		if p != want {
			t.Errorf("a sees %+v, want %+v", p, want)
		}
	}
}

func TestWrongSecretRefused(t *testing.T) {
	var logs testutil.LogBuffer
	srv, reg := startRegister(t, "127.0.0.1:0", slog.New(slog.NewTextHandler(&logs, nil)))
	a := startNode(t, "a", reg)
	waitFor(t, "a to register", func() bool { return len(srv.Peers()) == 1 })

	intruder := dialRaw(t, reg, "not-the-secret", "intruder")
	_, err := intruder.stream.Recv()
	if status.Code(err) != codes.Unauthenticated {
		t.Fatalf("wrong secret: got %v, want Unauthenticated", err)
	}
	waitFor(t, "the refusal to be logged with the remote address", func() bool {
		return logs.Contains("wrong secret") && logs.Contains("remote=127.0.0.1:")
	})
	if got := ids(srv.Peers()); !slices.Equal(got, []string{"a"}) {
		t.Errorf("register lists %v after a refused node, want [a]", got)
	}
	if len(a.Peers()) != 0 {
		t.Errorf("a sees %v, want nobody", a.Peers())
	}
}

// leaveTime measures how long after gone() every watcher has dropped id.
func leaveTime(t *testing.T, id string, gone func(), watchers ...*Client) time.Duration {
	t.Helper()
	start := time.Now()
	gone()
	waitFor(t, id+" to leave every list", func() bool {
		for _, w := range watchers {
			if slices.Contains(ids(w.Peers()), id) {
				return false
			}
		}
		return true
	})
	took := time.Since(start)
	if took >= testTimeout+time.Second {
		t.Errorf("%s left after %v, want under the heartbeat timeout %v plus 1s", id, took, testTimeout)
	}
	t.Logf("%s left every list after %v (heartbeat timeout %v)", id, took, testTimeout)
	return took
}

func TestClosedNodeLeaves(t *testing.T) {
	_, reg := startRegister(t, "127.0.0.1:0", nil)
	a := startNode(t, "a", reg)
	b := startNode(t, "b", reg)
	c := startNode(t, "c", reg)
	waitFor(t, "three nodes", func() bool { return sees(a, "b", "c") && sees(b, "a", "c") })
	leaveTime(t, "c", func() { c.Close() }, a, b)
}

func TestCutStreamLeaves(t *testing.T) {
	srv, reg := startRegister(t, "127.0.0.1:0", nil)
	a := startNode(t, "a", reg)
	b := startNode(t, "b", reg)
	dead := dialRaw(t, reg, testSecret, "dead")
	dead.drain()
	waitFor(t, "dead to join", func() bool { return sees(a, "b", "dead") && sees(b, "a", "dead") })
	// The process dies: its connection goes without a goodbye.
	leaveTime(t, "dead", func() { dead.conn.Close() }, a, b)
	if got := ids(srv.Peers()); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("register lists %v, want [a b]", got)
	}
}

func TestSilentNodeLeaves(t *testing.T) {
	_, reg := startRegister(t, "127.0.0.1:0", nil)
	a := startNode(t, "a", reg)
	// A frozen node: its connection stays open but it never sends a
	// heartbeat after the hello, so only the timeout can catch it.
	var frozen *rawNode
	took := leaveTime(t, "frozen", func() {
		frozen = dialRaw(t, reg, testSecret, "frozen")
		frozen.drain()
		waitFor(t, "frozen to join", func() bool { return sees(a, "frozen") })
	}, a)
	if took < testTimeout {
		t.Errorf("frozen left after %v, before the heartbeat timeout %v", took, testTimeout)
	}
}

func TestNoHelloTimesOut(t *testing.T) {
	_, reg := startRegister(t, "127.0.0.1:0", nil)
	conn, err := grpc.NewClient(reg, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	stream, err := registerpb.NewRegisterClient(conn).Join(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = stream.Recv() // the stream says nothing
	if status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("silent stream: got %v, want DeadlineExceeded", err)
	}
	if took := time.Since(start); took < testTimeout/2 || took > testTimeout+time.Second {
		t.Errorf("silent stream dropped after %v, want about %v", took, testTimeout)
	}
}

func TestNewerRegistrationReplacesOlder(t *testing.T) {
	srv, reg := startRegister(t, "127.0.0.1:0", nil)
	a := startNode(t, "a", reg)
	old := dialRaw(t, reg, testSecret, "x") // incarnation 1
	waitFor(t, "x to join", func() bool { return sees(a, "x") })

	newer, err := NewClient(ClientOptions{
		Addrs: []string{reg}, Secret: testSecret, HeartbeatInterval: testInterval,
		Self: Peer{ID: "x", Addr: "x.rpc:7001", Incarnation: 2},
	})
	if err != nil {
		t.Fatal(err)
	}
	newer.Start(t.Context())
	t.Cleanup(func() { newer.Close() })
	waitFor(t, "the newer x to replace the older", func() bool {
		peers := a.Peers()
		return len(peers) == 1 && peers[0] == newer.Self()
	})
	err = nil
	for err == nil { // skip what was sent before the replacement
		_, err = old.stream.Recv()
	}
	if status.Code(err) != codes.Aborted {
		t.Errorf("old stream ended with %v, want Aborted", err)
	}

	// The older incarnation may not come back over the newer one.
	stale := dialRaw(t, reg, testSecret, "x")
	if _, err := stale.stream.Recv(); status.Code(err) != codes.FailedPrecondition {
		t.Errorf("stale registration: got %v, want FailedPrecondition", err)
	}
	if got := srv.Peers(); len(got) != 2 || !slices.Contains(got, newer.Self()) {
		t.Errorf("register lists %v, want a and the newer x", got)
	}
}

func TestRegisterDownKeepsListsAndRestartRejoins(t *testing.T) {
	first, reg := startRegister(t, "127.0.0.1:0", nil)
	a := startNode(t, "a", reg)
	b := startNode(t, "b", reg)
	c := startNode(t, "c", reg)
	waitFor(t, "three nodes", func() bool { return sees(a, "b", "c") && sees(b, "a", "c") && sees(c, "a", "b") })

	// From the register's death until everyone is back, a must never
	// lose a peer: not while it is down, and not while the restarted one
	// knows only the nodes that reconnected first.
	var mu sync.Mutex
	var blinks [][]string
	a.OnChange(func(peers []Peer) {
		if got := ids(peers); !slices.Contains(got, "b") || !slices.Contains(got, "c") {
			mu.Lock()
			defer mu.Unlock()
			blinks = append(blinks, got)
		}
	})

	first.Stop()
	waitFor(t, "every node to see the register down", func() bool {
		return upRegisters(a) == 0 && upRegisters(b) == 0 && upRegisters(c) == 0
	})
	// Stay down past several heartbeat timeouts and reconnect attempts:
	// nobody may lose a peer.
	for end := time.Now().Add(3 * testTimeout); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if !sees(a, "b", "c") || !sees(b, "a", "c") || !sees(c, "a", "b") {
			t.Fatalf("lists changed while the register was down: a=%v b=%v c=%v",
				ids(a.Peers()), ids(b.Peers()), ids(c.Peers()))
		}
	}

	second := restartRegister(t, reg)
	d := startNode(t, "d", reg)
	waitFor(t, "old nodes to re-register and see the new one", func() bool {
		return sees(a, "b", "c", "d") && sees(b, "a", "c", "d") && sees(c, "a", "b", "d") && sees(d, "a", "b", "c")
	})
	waitFor(t, "the restarted register to list all four", func() bool {
		return slices.Equal(ids(second.Peers()), []string{"a", "b", "c", "d"})
	})
	mu.Lock()
	if len(blinks) > 0 {
		t.Errorf("a lost peers around the register restart: %v", blinks)
	}
	mu.Unlock()

	// Once the rejoin grace is over, a node that leaves is dropped as usual.
	waitFor(t, "the rejoin grace to end", func() bool { return !inGrace(a) && !inGrace(b) && !inGrace(d) })
	leaveTime(t, "c", func() { c.Close() }, a, b, d)
}

// restartRegister serves a new register on the address a stopped one used.
func restartRegister(t *testing.T, addr string) *Server {
	t.Helper()
	var srv *Server
	waitFor(t, "the address to be free again", func() bool {
		lis, err := net.Listen("tcp", addr)
		if err != nil {
			return false
		}
		lis.Close()
		srv, _ = startRegister(t, addr, nil)
		return true
	})
	return srv
}

func TestTwoRegistersOneDown(t *testing.T) {
	first, reg1 := startRegister(t, "127.0.0.1:0", nil)
	second, reg2 := startRegister(t, "127.0.0.1:0", nil)
	a := startNode(t, "a", reg1, reg2)
	b := startNode(t, "b", reg1, reg2)
	waitFor(t, "both nodes on both registers", func() bool {
		return upRegisters(a) == 2 && upRegisters(b) == 2 && sees(a, "b") && sees(b, "a")
	})

	first.GracefulStop() // must end the long-lived streams, not wait on them
	waitFor(t, "the nodes to see the first register down", func() bool {
		return upRegisters(a) == 1 && upRegisters(b) == 1
	})
	if !sees(a, "b") || !sees(b, "a") {
		t.Fatalf("lists changed when one of two registers died: a=%v b=%v", ids(a.Peers()), ids(b.Peers()))
	}

	c := startNode(t, "c", reg1, reg2)
	waitFor(t, "a new node to join through the second register", func() bool {
		return sees(a, "b", "c") && sees(b, "a", "c") && sees(c, "a", "b")
	})
	if got := ids(second.Peers()); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Errorf("second register lists %v, want [a b c]", got)
	}
	// With one register left, a departure still reaches everyone.
	leaveTime(t, "b", func() { b.Close() }, a, c)
}
