package api

import (
	"net"
	"testing"

	"github.com/wsgate/wsgate/register"
	"github.com/wsgate/wsgate/router"
)

// TestClusterOnStaticListAnswersAsOneNode runs the Api script of
// TestClusterAnswersAsOneNode on three nodes that learn their peers from a
// static list instead of a register: the Source seam carries the whole Api.
func TestClusterOnStaticListAnswersAsOneNode(t *testing.T) {
	single := startGateway(t, newRecorder())
	var clients []*client
	for range 6 {
		clients = append(clients, dial(t, single))
	}
	unknown := router.ClientIDParts{Node: single.NodeID(), Incarnation: 1, Seq: 1 << 40}.String()
	want := apiScript(t, single.Api(), clients, unknown)

	// A static list names the rpc addresses up front: take free ports.
	var list []register.Peer
	for i := range 3 {
		lis, err := net.Listen("tcp", nodeIPs[i]+":0")
		must(t, err)
		list = append(list, register.Peer{ID: NodeID(i + 1).String(), Addr: lis.Addr().String(), Incarnation: 1})
		lis.Close()
	}
	var nodes []*Gateway
	for i := range 3 {
		o := &ClusterOptions{
			Secret:    testSecret,
			RPCListen: list[i].Addr,
			Logger:    quiet,
			Source: func(self register.Peer) (register.Source, error) {
				return register.NewStatic(self, list)
			},
		}
		nodes = append(nodes, startNode(t, nodeIPs[i], Options{NodeID: NodeID(i + 1), Cluster: o}, newRecorder()))
	}
	waitConnected(t, nodes...)
	// A static list names the nodes before they all listen: the first
	// dials may have failed, so wait until node 1, which runs the script,
	// reaches the other two (a cluster-wide count answers in full).
	waitFor(t, "node 1 to reach its peers", func() bool {
		_, err := nodes[0].Api().GetAllClientCount(bg)
		return err == nil
	})
	for _, g := range nodes {
		if err := g.Ready(); err != nil {
			t.Fatalf("node %s on a static list not ready: %v", g.NodeID(), err)
		}
	}

	unknown = router.ClientIDParts{Node: nodes[1].NodeID(), Incarnation: 1, Seq: 1 << 40}.String()
	clients = nil
	for i := range 6 {
		clients = append(clients, dial(t, nodes[i%3]))
	}
	got := apiScript(t, nodes[0].Api(), clients, unknown)
	diffLogs(t, "cluster on a static list", want, got)
}

func TestClusterSourceOptionErrors(t *testing.T) {
	src := func(register.Peer) (register.Source, error) { return nil, nil }
	for _, o := range []ClusterOptions{
		{Secret: "s", Source: src, Registers: []string{"127.0.0.1:1"}},
		{Secret: "s", Source: src, EmbeddedRegister: "127.0.0.1:0"},
	} {
		if _, err := NewGateway(Options{Cluster: &o}, newRecorder()); err == nil {
			t.Errorf("%+v accepted: Source goes with neither Registers nor EmbeddedRegister", o)
		}
	}
}
