package api_test

import (
	"context"
	"net"
	"testing"

	"github.com/wsgate/wsgate/api"
	"github.com/wsgate/wsgate/internal/testutil/apiscript"
	"github.com/wsgate/wsgate/register"
)

// TestClusterAnswersAsOneNode runs the same script of Api calls against one
// node and against three nodes with the clients spread over them, from a
// node and from a connection-less Client, and expects the same record of
// answers and deliveries from all three.
func TestClusterAnswersAsOneNode(t *testing.T) {
	single := api.StartTestNode(t, "127.0.0.1", api.Options{})
	want := apiscript.Run(t, single.Api(), apiscript.Spread(t, single), apiscript.Unknown(single))

	nodes, reg := api.StartTestCluster(t, 3)
	unknown := apiscript.Unknown(nodes[1])
	clients := apiscript.Spread(t, nodes...)
	got := apiscript.Run(t, nodes[0].Api(), clients, unknown)
	apiscript.Diff(t, "cluster, from a node", want, got)

	member := api.ClusterOptions{Registers: []string{reg}, Secret: api.TestSecret, Logger: api.Quiet}
	got = apiscript.RunFromClient(t, nodes, clients, member, unknown)
	apiscript.Diff(t, "cluster, from a Client", want, got)
}

// TestClusterOnStaticListAnswersAsOneNode runs the Api script of
// TestClusterAnswersAsOneNode on three nodes that learn their peers from a
// static list instead of a register: the Source seam carries the whole Api.
func TestClusterOnStaticListAnswersAsOneNode(t *testing.T) {
	single := api.StartTestNode(t, "127.0.0.1", api.Options{})
	want := apiscript.Run(t, single.Api(), apiscript.Spread(t, single), apiscript.Unknown(single))

	// A static list names the rpc addresses up front: take free ports.
	var list []register.Peer
	for i := range 3 {
		lis, err := net.Listen("tcp", api.NodeIPs[i]+":0")
		if err != nil {
			t.Fatal(err)
		}
		list = append(list, register.Peer{ID: api.NodeID(i + 1).String(), Addr: lis.Addr().String(), Incarnation: 1})
		lis.Close()
	}
	var nodes []*api.Gateway
	for i := range 3 {
		o := &api.ClusterOptions{
			Secret:    api.TestSecret,
			RPCListen: list[i].Addr,
			Logger:    api.Quiet,
			Source: func(self register.Peer) (register.Source, error) {
				return register.NewStatic(self, list)
			},
		}
		nodes = append(nodes, api.StartTestNode(t, api.NodeIPs[i], api.Options{NodeID: api.NodeID(i + 1), Cluster: o}))
	}
	api.WaitConnected(t, nodes...)
	// A static list names the nodes before they all listen: the first
	// dials may have failed, so wait until node 1, which runs the script,
	// reaches the other two (a cluster-wide count answers in full).
	api.WaitFor(t, "node 1 to reach its peers", func() bool {
		_, err := nodes[0].Api().GetAllClientCount(context.Background())
		return err == nil
	})
	for _, g := range nodes {
		if err := g.Ready(); err != nil {
			t.Fatalf("node %s on a static list not ready: %v", g.NodeID(), err)
		}
	}

	got := apiscript.Run(t, nodes[0].Api(), apiscript.Spread(t, nodes...), apiscript.Unknown(nodes[1]))
	apiscript.Diff(t, "cluster on a static list", want, got)
}
