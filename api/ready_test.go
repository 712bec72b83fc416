package api

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/wsgate/wsgate/register"
)

// TestStartWaitsForPeerList: when Start returns, the node already knows
// the nodes the register lists, so a call for another node's client made
// at once finds it rather than answering offline.
func TestStartWaitsForPeerList(t *testing.T) {
	reg := startRegister(t, "127.0.0.1:0")
	n1 := startNode(t, nodeIPs[0], Options{Cluster: clusterOptions(nodeIPs[0], reg.addr)}, newRecorder())
	c := dial(t, n1)
	// n1 now holds a client; the register lists n1 for any node that joins.
	for i := range 5 {
		n2 := startNode(t, nodeIPs[1], Options{Cluster: clusterOptions(nodeIPs[1], reg.addr)}, newRecorder())
		if err := n2.Ready(); err != nil {
			t.Fatalf("start %d: not ready when Start returned: %v", i, err)
		}
		if err := n2.Api().SendToClient(bg, c.id, []byte("right away")); err != nil {
			t.Fatalf("start %d: send to n1's client as Start returned: %v", i, err)
		}
		if got := c.Read(); got != "right away" {
			t.Fatalf("got %q", got)
		}
		shutdown(t, n2)
	}
}

// TestStartWithoutRegister: with no register answering, Start waits for
// JoinTimeout, then listens; the node is not ready until a register sends
// it a list, and ready from then on.
func TestStartWithoutRegister(t *testing.T) {
	addr := freeAddr(t)
	o := clusterOptions(nodeIPs[0], addr)
	o.JoinTimeout = 300 * time.Millisecond
	o.RegisterMaxBackoff = 200 * time.Millisecond
	began := time.Now()
	g := startNode(t, nodeIPs[0], Options{Cluster: o}, newRecorder())
	if took := time.Since(began); took < o.JoinTimeout {
		t.Fatalf("Start returned after %v, before the %v join timeout", took, o.JoinTimeout)
	}
	if !g.Serving() {
		t.Fatal("not serving after Start")
	}
	if err := g.Ready(); err == nil || !strings.Contains(err.Error(), "no peer list") {
		t.Fatalf("Ready = %v, want no peer list yet", err)
	}
	startRegister(t, addr)
	waitFor(t, "the node to be ready once the register is up", func() bool { return g.Ready() == nil })
}

// TestStartRefusedSecret: a register that refuses the secret fails Start:
// waiting would not fix it.
func TestStartRefusedSecret(t *testing.T) {
	reg := startRegister(t, "127.0.0.1:0")
	o := clusterOptions(nodeIPs[0], reg.addr)
	o.Secret = "not-" + testSecret
	g, err := NewGateway(Options{Cluster: o, Server: serverOn0(), Logger: quiet}, newRecorder())
	must(t, err)
	if err := g.Start(); !errors.Is(err, register.ErrSecretRefused) {
		t.Fatalf("Start = %v, want ErrSecretRefused", err)
	}
	if g.Serving() {
		t.Fatal("serving after a failed Start")
	}
}

// TestReadyOutlivesRegister: a ready node stays ready when the register
// goes down (the cluster keeps delivering with the last list), and turns
// unready when a register refuses its secret.
func TestReadyOutlivesRegister(t *testing.T) {
	reg := startRegister(t, "127.0.0.1:0")
	o := clusterOptions(nodeIPs[0], reg.addr)
	o.RegisterMaxBackoff = 200 * time.Millisecond
	g := startNode(t, nodeIPs[0], Options{Cluster: o}, newRecorder())
	must(t, g.Ready())

	reg.stop()
	// Longer than the heartbeat timeout: the node has noticed by then.
	time.Sleep(defaultHeartbeatTimeout + 500*time.Millisecond)
	if err := g.Ready(); err != nil {
		t.Fatalf("Ready with the register down = %v, want nil", err)
	}

	// The register comes back with another secret.
	srv, err := register.NewServer(register.ServerOptions{Secret: "rotated-" + testSecret, Logger: quiet})
	must(t, err)
	var lis net.Listener
	waitFor(t, "listen on "+reg.addr, func() bool {
		lis, err = net.Listen("tcp", reg.addr)
		return err == nil
	})
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	waitFor(t, "Ready to report the refusal", func() bool {
		err := g.Ready()
		return err != nil && strings.Contains(err.Error(), "refuses")
	})
}

// freeAddr is a loopback address nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	addr := lis.Addr().String()
	lis.Close()
	return addr
}

// shutdown drains g within the test wait.
func shutdown(t *testing.T, g *Gateway) {
	t.Helper()
	ctx, cancel := context.WithTimeout(bg, wait)
	defer cancel()
	must(t, g.Shutdown(ctx))
}
