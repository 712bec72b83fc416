// Package gatewaytest starts gateways and registers on loopback for tests
// outside package api (whose own tests cannot import api through it). It
// lives apart from testutil because it imports api, which testutil must
// not: api's tests use testutil.
package gatewaytest

import (
	"context"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/wsgate/wsgate/api"
	"github.com/wsgate/wsgate/internal/testutil"
	"github.com/wsgate/wsgate/register"
)

// NodeIPs are the loopback addresses the nodes of a test cluster use, one
// each, as separate machines would (Linux routes all of 127.0.0.0/8).
var NodeIPs = []string{"127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4"}

// Secret is the cluster secret of the registers and nodes started here.
const Secret = "gatewaytest-secret"

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// Start runs a gateway for app with o until the test ends. An empty
// o.Server.Addr is a free port of 127.0.0.1; a nil o.Logger discards.
func Start(t testing.TB, o api.Options, app api.Application) *api.Gateway {
	t.Helper()
	if o.Server.Addr == "" {
		o.Server.Addr = "127.0.0.1:0"
	}
	if o.Logger == nil {
		o.Logger = quiet
	}
	g, err := api.NewGateway(o, app)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testutil.Wait)
		defer cancel()
		g.Shutdown(ctx)
	})
	return g
}

// StartRegister serves a register with secret on a free port of 127.0.0.1
// until the test ends, and returns its address.
func StartRegister(t testing.TB, secret string) string {
	t.Helper()
	reg, err := register.NewServer(register.ServerOptions{Secret: secret, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go reg.Serve(lis)
	t.Cleanup(reg.Stop)
	return lis.Addr().String()
}

// StartCluster starts a register and one node per app, node i on
// NodeIPs[i] with the options o (its Server, Logger and limits; Start fills
// in the addresses and the cluster), and waits until each node reaches all
// the others.
func StartCluster(t testing.TB, o api.Options, apps ...api.Application) []*api.Gateway {
	t.Helper()
	reg := StartRegister(t, Secret)
	var nodes []*api.Gateway
	for i, app := range apps {
		no := o
		no.Server.Addr = NodeIPs[i] + ":0"
		no.Cluster = &api.ClusterOptions{Registers: []string{reg}, Secret: Secret, RPCListen: NodeIPs[i] + ":0"}
		nodes = append(nodes, Start(t, no, app))
	}
	WaitMesh(t, nodes...)
	return nodes
}

// meshWait bounds WaitMesh: the longest any cluster test allowed before
// these helpers were shared.
const meshWait = 15 * time.Second

// WaitMesh waits until each node has all the others as peers.
func WaitMesh(t testing.TB, nodes ...*api.Gateway) {
	t.Helper()
	deadline := time.Now().Add(meshWait)
	for _, g := range nodes {
		for len(g.Peers()) != len(nodes)-1 {
			if time.Now().After(deadline) {
				t.Fatalf("node %s reaches %v, want the %d others", g.NodeID(), g.Peers(), len(nodes)-1)
			}
			time.Sleep(5 * time.Millisecond) // poll the peer list
		}
	}
}
