package api

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/wsgate/wsgate/router"

	"github.com/wsgate/wsgate/internal/testutil"
)

// Bounds the fault tests hold the cluster to. They are correctness bounds
// with room for a loaded machine, not performance targets.
const (
	// defaultHeartbeatTimeout is ClusterOptions' default: a dead node
	// leaves the peer lists within it.
	defaultHeartbeatTimeout = 3 * time.Second
	// dropMargin is added for the register's push and a slow scheduler.
	dropMargin = 2 * time.Second
	// offlineWithin bounds a call for a client of a node that has left the
	// peer list: it is answered here, with no dial.
	offlineWithin = 100 * time.Millisecond
)

// kill stops g as a crash would: its register stream goes silent (the
// proxy it registered through freezes, so the register notices only by
// the heartbeat timeout), its rpc server and its clients' sockets close.
func kill(g *Gateway, regProxy *testutil.FreezeProxy) {
	regProxy.Freeze()
	g.member.Node().Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	g.Shutdown(ctx)
}

func TestKilledNodeLeavesAndItsClientsAreOffline(t *testing.T) {
	reg := startRegister(t, "127.0.0.1:0")
	n1 := startNode(t, nodeIPs[0], Options{Cluster: clusterOptions(nodeIPs[0], reg.addr)}, newRecorder())
	n2 := startNode(t, nodeIPs[1], Options{Cluster: clusterOptions(nodeIPs[1], reg.addr)}, newRecorder())
	proxy := testutil.StartProxy(t, nodeIPs[2], reg.addr)
	n3 := startNode(t, nodeIPs[2], Options{Cluster: clusterOptions(nodeIPs[2], proxy.Addr())}, newRecorder())
	waitConnected(t, n1, n2, n3)
	a := n1.Api()
	local := dial(t, n1)
	victim := dial(t, n3)
	must(t, a.BindUID(bg, victim.id, "v"))

	t0 := time.Now()
	kill(n3, proxy)

	// While n3 is still listed, calls that need it fail fast or come back
	// partial; none waits for more than the call timeout.
	n, err := a.GetAllClientCount(bg)
	var pe *PartialError
	if !errors.As(err, &pe) || len(pe.Missing) != 1 || pe.Missing[0] != n3.NodeID().String() || n != 1 {
		t.Fatalf("GetAllClientCount with n3 dead: %d, %v; want 1 and a PartialError naming %s", n, err, n3.NodeID())
	}
	if err := a.SetInfo(bg, victim.id, nil); !errors.Is(err, ErrClientOffline) {
		t.Fatalf("SetInfo on a client of a dead node: %v, want ErrClientOffline", err)
	}
	if d := since(t0); d > 2*time.Second+dropMargin {
		t.Fatalf("calls with n3 dead took %v", d)
	}

	waitFor(t, "n1 and n2 to drop n3", func() bool { return !hasPeer(n1, n3) && !hasPeer(n2, n3) })
	if d := since(t0); d > defaultHeartbeatTimeout+dropMargin {
		t.Fatalf("n3 dropped after %v, want within the heartbeat timeout %v (+%v margin)", d, defaultHeartbeatTimeout, dropMargin)
	}

	// Gone from the list: its clients are offline at once, with no dial.
	for name, call := range map[string]func() error{
		"SendToClient":  func() error { return a.SendToClient(bg, victim.id, []byte("x")) },
		"GetInfo":       func() error { _, err := a.GetInfo(bg, victim.id); return err },
		"BindUID":       func() error { return a.BindUID(bg, victim.id, "u") },
		"CloseClient":   func() error { return a.CloseClient(bg, victim.id, CloseOptions{}) },
		"DestroyClient": func() error { return a.DestroyClient(bg, victim.id) },
		"Async send":    func() error { return a.SendToClient(bg, victim.id, []byte("x"), Async()) },
	} {
		t1 := time.Now()
		err := call()
		if d := since(t1); !errors.Is(err, ErrClientOffline) || d > offlineWithin {
			t.Errorf("%s for a client of the dropped node: %v after %v, want ErrClientOffline within %v", name, err, d, offlineWithin)
		}
	}
	if on, err := a.IsOnline(bg, victim.id); on || err != nil {
		t.Errorf("IsOnline for a client of the dropped node: %v %v", on, err)
	}
	if n, err := a.GetAllClientCount(bg); n != 1 || err != nil {
		t.Errorf("GetAllClientCount after the drop: %d %v, want 1 and no error", n, err)
	}
	if on, err := a.IsUIDOnline(bg, "v"); on || err != nil {
		t.Errorf("IsUIDOnline of the dead node's uid: %v %v", on, err)
	}
	must(t, n2.Api().SendToClient(bg, local.id, []byte("still here")))
	if got := local.Read(); got != "still here" {
		t.Fatalf("got %q", got)
	}
}

func TestSendsFlowWhileRegisterIsDown(t *testing.T) {
	reg := startRegister(t, "127.0.0.1:0")
	opts := func(ip string) Options {
		o := clusterOptions(ip, reg.addr)
		o.RegisterMaxBackoff = 500 * time.Millisecond
		return Options{Cluster: o}
	}
	n1 := startNode(t, nodeIPs[0], opts(nodeIPs[0]), newRecorder())
	n2 := startNode(t, nodeIPs[1], opts(nodeIPs[1]), newRecorder())
	waitConnected(t, n1, n2)
	c1, c2 := dial(t, n1), dial(t, n2)

	reg.stop()
	// Keep sending both ways for longer than the heartbeat timeout: the
	// nodes keep their last peer list.
	deadline := time.Now().Add(defaultHeartbeatTimeout + time.Second)
	for i := 0; time.Now().Before(deadline); i++ {
		must(t, n1.Api().SendToClient(bg, c2.id, []byte("to c2")))
		must(t, n2.Api().SendToAll(bg, []byte("to all"), Exclude(c2.id)))
		if got := c2.Read(); got != "to c2" {
			t.Fatalf("c2 got %q", got)
		}
		if got := c1.Read(); got != "to all" {
			t.Fatalf("c1 got %q", got)
		}
		time.Sleep(100 * time.Millisecond) // pace the rounds over the outage
	}
	if n, err := n1.Api().GetAllClientCount(bg); n != 2 || err != nil {
		t.Fatalf("GetAllClientCount with the register down: %d %v", n, err)
	}

	// The register comes back on its address; a new node joins and is
	// reached by the old ones.
	startRegister(t, reg.addr)
	n3 := startNode(t, nodeIPs[2], opts(nodeIPs[2]), newRecorder())
	waitConnected(t, n1, n2, n3)
	c3 := dial(t, n3)
	must(t, n1.Api().SendToClient(bg, c3.id, []byte("welcome")))
	if got := c3.Read(); got != "welcome" {
		t.Fatalf("c3 got %q", got)
	}
}

func TestRestartedNodeNeverReusesClientIDs(t *testing.T) {
	reg := startRegister(t, "127.0.0.1:0")
	const id NodeID = 0x0000beef
	n1 := startNode(t, nodeIPs[0], Options{Cluster: clusterOptions(nodeIPs[0], reg.addr)}, newRecorder())
	proxy := testutil.StartProxy(t, nodeIPs[1], reg.addr)
	old := startNode(t, nodeIPs[1], Options{NodeID: id, Cluster: clusterOptions(nodeIPs[1], proxy.Addr())}, newRecorder())
	waitConnected(t, n1, old)
	var oldIDs []string
	for range 3 {
		oldIDs = append(oldIDs, dial(t, old).id)
	}

	// Crash it and start it again at once, before the register has noticed:
	// the new start replaces the old registration.
	kill(old, proxy)
	restarted := startNode(t, nodeIPs[1], Options{NodeID: id, Cluster: clusterOptions(nodeIPs[1], reg.addr)}, newRecorder())
	c := dial(t, restarted)
	fresh := map[string]bool{c.id: true}
	for range 3 {
		fresh[dial(t, restarted).id] = true
	}
	oldParts, _ := router.ParseClientID(oldIDs[0])
	for newID := range fresh {
		p, err := router.ParseClientID(newID)
		must(t, err)
		if p.Node != id || p.Incarnation <= oldParts.Incarnation {
			t.Fatalf("new id %s: node %s incarnation %d, want node %s and an incarnation above %d", newID, p.Node, p.Incarnation, id, oldParts.Incarnation)
		}
	}
	for _, o := range oldIDs {
		if fresh[o] {
			t.Fatalf("clientID %s issued again after the restart", o)
		}
	}

	// n1 reaches the new start at its new address.
	waitFor(t, "n1 to reach the restarted node", func() bool {
		on, err := n1.Api().IsOnline(bg, c.id)
		return on && err == nil
	})
	must(t, n1.Api().SendToClient(bg, c.id, []byte("hello again")))
	if got := c.Read(); got != "hello again" {
		t.Fatalf("got %q", got)
	}
	for _, o := range oldIDs {
		if err := n1.Api().SendToClient(bg, o, []byte("x")); !errors.Is(err, ErrClientOffline) {
			t.Fatalf("send to a client of the old start: %v, want ErrClientOffline", err)
		}
	}
}

// TestShutdownDrainsThenLeaves: a node shutting down says goodbye to the
// register, so the others drop it at once rather than after the heartbeat
// timeout, and its clients' OnClose still reaches the other nodes (its rpc
// node stays up until they have all closed).
func TestShutdownDrainsThenLeaves(t *testing.T) {
	reg := startRegister(t, "127.0.0.1:0")
	n1 := startNode(t, nodeIPs[0], Options{Cluster: clusterOptions(nodeIPs[0], reg.addr)}, newRecorder())
	app := newRecorder()
	app.onClose = func(id string) {
		app.api.SendToGroup(bg, "room", []byte("bye from "+id), Exclude(id))
	}
	n2 := startNode(t, nodeIPs[1], Options{Cluster: clusterOptions(nodeIPs[1], reg.addr)}, app)
	waitConnected(t, n1, n2)
	stay, leaving := dial(t, n1), dial(t, n2)
	must(t, n1.Api().JoinGroup(bg, stay.id, "room"))
	must(t, n1.Api().JoinGroup(bg, leaving.id, "room"))

	t0 := time.Now()
	ctx, cancel := context.WithTimeout(bg, wait)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- n2.Shutdown(ctx) }()
	if ce, _ := leaving.CloseErr(); ce.Code != 1001 { // answers the close
		t.Fatalf("leaving client closed with %d, want 1001", ce.Code)
	}
	must(t, recv(t, done, "n2's shutdown"))
	if got := stay.Read(); got != "bye from "+leaving.id {
		t.Fatalf("got %q", got)
	}
	waitFor(t, "n1 to drop n2", func() bool { return !hasPeer(n1, n2) })
	if d := since(t0); d >= defaultHeartbeatTimeout {
		t.Fatalf("n2 dropped %v after its shutdown began; the goodbye should beat the heartbeat timeout", d)
	}
}

// TestSeveralRegisters: nodes join every listed register; with one of
// them gone, the others still bring new nodes in.
func TestSeveralRegisters(t *testing.T) {
	r1, r2 := startRegister(t, "127.0.0.1:0"), startRegister(t, "127.0.0.2:0")
	n1 := startNode(t, nodeIPs[0], Options{Cluster: clusterOptions(nodeIPs[0], r1.addr, r2.addr)}, newRecorder())
	n2 := startNode(t, nodeIPs[1], Options{Cluster: clusterOptions(nodeIPs[1], r2.addr, r1.addr)}, newRecorder())
	waitConnected(t, n1, n2)

	r1.stop()
	n3 := startNode(t, nodeIPs[2], Options{Cluster: clusterOptions(nodeIPs[2], r1.addr, r2.addr)}, newRecorder())
	waitConnected(t, n1, n2, n3)
	c := dial(t, n3)
	must(t, n1.Api().SendToClient(bg, c.id, []byte("via the second register")))
	if got := c.Read(); got != "via the second register" {
		t.Fatalf("got %q", got)
	}
}
