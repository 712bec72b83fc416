package api

import "testing"

// TestGetClientCountByUID counts a uid's clients on one node, and across a
// cluster from a node holding some of them, none of them, and from a
// connection-less Client: each client counts once, wherever it is.
func TestGetClientCountByUID(t *testing.T) {
	bind := func(t *testing.T, a Api, cs []*client) {
		for _, c := range cs {
			must(t, a.BindUID(bg, c.id, "u"))
		}
	}
	count := func(t *testing.T, what string, a Api, uid string, want int) {
		t.Helper()
		n, err := a.GetClientCountByUID(bg, uid)
		if err != nil || n != want {
			t.Fatalf("%s: GetClientCountByUID(%s) = %d, %v; want %d", what, uid, n, err, want)
		}
	}

	t.Run("one node", func(t *testing.T) {
		g := startGateway(t, newRecorder())
		bind(t, g.Api(), []*client{dial(t, g), dial(t, g)})
		count(t, "one node", g.Api(), "u", 2)
		count(t, "one node", g.Api(), "nobody", 0)
	})

	t.Run("cluster", func(t *testing.T) {
		c := startCluster(t, 3)
		// Two clients of u on node 0, one on node 1, none on node 2.
		bind(t, c.nodes[2].Api(), []*client{dial(t, c.nodes[0]), dial(t, c.nodes[0]), dial(t, c.nodes[1])})
		dial(t, c.nodes[2])
		for i, g := range c.nodes {
			count(t, "from node "+g.NodeID().String(), g.Api(), "u", 3)
			if i == 0 {
				count(t, "from node "+g.NodeID().String(), g.Api(), "nobody", 0)
			}
		}
		cl, err := NewClient(ClusterOptions{Registers: []string{c.reg.addr}, Secret: testSecret, Logger: quiet})
		must(t, err)
		t.Cleanup(func() { cl.Close(bg) })
		waitFor(t, "the Client to reach the nodes", func() bool { return len(cl.Peers()) == 3 })
		count(t, "from a Client", cl.Api(), "u", 3)
	})
}
