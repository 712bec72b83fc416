package api

import (
	"context"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/wsgate/wsgate/register"
)

const testSecret = "cluster-test-secret"

// nodeIPs are the loopback addresses the nodes of a test cluster use, one
// each, as separate machines would.
var nodeIPs = []string{"127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4"}

// testRegister is a register served on loopback; stop ends it early.
type testRegister struct {
	srv  *register.Server
	addr string
	done chan error
	once sync.Once
}

// startRegister serves a register with the default heartbeats on addr
// ("127.0.0.1:0" for any port) until stop or the end of the test.
func startRegister(t testing.TB, addr string) *testRegister {
	t.Helper()
	srv, err := register.NewServer(register.ServerOptions{Secret: testSecret, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	var lis net.Listener
	// A restarted register takes the port back; the old listener's socket
	// may take a moment to be released.
	waitFor(t, "listen on "+addr, func() bool {
		lis, err = net.Listen("tcp", addr)
		return err == nil
	})
	r := &testRegister{srv: srv, addr: lis.Addr().String(), done: make(chan error, 1)}
	go func() { r.done <- srv.Serve(lis) }()
	t.Cleanup(r.stop)
	return r
}

func (r *testRegister) stop() {
	r.once.Do(func() {
		r.srv.Stop()
		<-r.done
	})
}

// clusterOptions is a node's cluster config for the test registers, its
// rpc server bound to ip.
func clusterOptions(ip string, registers ...string) *ClusterOptions {
	return &ClusterOptions{
		Registers: registers,
		Secret:    testSecret,
		RPCListen: ip + ":0",
		Logger:    quiet,
	}
}

// startNode runs a node for app on a free port of ip with the given
// options until the test ends; with o.Cluster set, a cluster node.
func startNode(t testing.TB, ip string, o Options, app Application) *Gateway {
	t.Helper()
	o.Server.Addr = ip + ":0"
	if o.Logger == nil {
		o.Logger = quiet
	}
	g, err := NewGateway(o, app)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		g.Shutdown(ctx)
	})
	return g
}

// testCluster is a register and gateway nodes, each with a recorder.
type testCluster struct {
	reg   *testRegister
	nodes []*Gateway
	apps  []*recorder
}

// startCluster starts a register and n nodes on separate loopback
// addresses and waits until every node reaches all the others.
func startCluster(t testing.TB, n int) *testCluster {
	t.Helper()
	c := &testCluster{reg: startRegister(t, "127.0.0.1:0")}
	for i := 0; i < n; i++ {
		app := newRecorder()
		g := startNode(t, nodeIPs[i], Options{Cluster: clusterOptions(nodeIPs[i], c.reg.addr)}, app)
		c.nodes = append(c.nodes, g)
		c.apps = append(c.apps, app)
	}
	waitConnected(t, c.nodes...)
	return c
}

// waitConnected waits until each node has exactly the others as peers.
func waitConnected(t testing.TB, nodes ...*Gateway) {
	t.Helper()
	for _, g := range nodes {
		var want []string
		for _, o := range nodes {
			if o != g {
				want = append(want, o.NodeID().String())
			}
		}
		slices.Sort(want)
		waitFor(t, "node "+g.NodeID().String()+" to reach its peers", func() bool {
			got := g.Peers()
			slices.Sort(got)
			return slices.Equal(got, want)
		})
	}
}

// hasPeer reports whether g currently lists peer.
func hasPeer(g *Gateway, peer *Gateway) bool {
	return slices.Contains(g.Peers(), peer.NodeID().String())
}

// since is the time elapsed since t0, for bounds on how long something
// took.
func since(t0 time.Time) time.Duration { return time.Since(t0) }
