package api

import (
	"fmt"
	"maps"
	"testing"
)

// TestGetClientInfosByUID returns the info of a uid's clients in one call,
// on one node and across a cluster from every node and from a
// connection-less Client: each client once, wherever it is, with its info.
func TestGetClientInfosByUID(t *testing.T) {
	// bind binds each client to u with an info naming it.
	bind := func(t *testing.T, a Api, cs []*client) map[string]map[string]string {
		want := map[string]map[string]string{}
		for i, c := range cs {
			must(t, a.BindUID(bg, c.id, "u"))
			info := map[string]string{"n": fmt.Sprint(i)}
			must(t, a.SetInfo(bg, c.id, info))
			want[c.id] = info
		}
		return want
	}
	infos := func(t *testing.T, what string, a Api, uid string, want map[string]map[string]string) {
		t.Helper()
		got, err := a.GetClientInfosByUID(bg, uid)
		if err != nil || !maps.EqualFunc(got, want, maps.Equal) {
			t.Fatalf("%s: GetClientInfosByUID(%s) = %v, %v; want %v", what, uid, got, err, want)
		}
	}

	t.Run("one node", func(t *testing.T) {
		g := startGateway(t, newRecorder())
		want := bind(t, g.Api(), []*client{dial(t, g), dial(t, g)})
		dial(t, g) // no uid
		infos(t, "one node", g.Api(), "u", want)
		infos(t, "one node", g.Api(), "nobody", map[string]map[string]string{})
	})

	t.Run("cluster", func(t *testing.T) {
		c := startCluster(t, 3)
		// Two clients of u on node 0, one on node 1, none on node 2.
		want := bind(t, c.nodes[2].Api(), []*client{dial(t, c.nodes[0]), dial(t, c.nodes[0]), dial(t, c.nodes[1])})
		dial(t, c.nodes[2])
		for _, g := range c.nodes {
			infos(t, "from node "+g.NodeID().String(), g.Api(), "u", want)
		}
		infos(t, "cluster", c.nodes[0].Api(), "nobody", map[string]map[string]string{})
		cl, err := NewClient(ClusterOptions{Registers: []string{c.reg.addr}, Secret: testSecret, Logger: quiet})
		must(t, err)
		t.Cleanup(func() { cl.Close(bg) })
		waitFor(t, "the Client to reach the nodes", func() bool { return len(cl.Peers()) == 3 })
		infos(t, "from a Client", cl.Api(), "u", want)
	})
}
