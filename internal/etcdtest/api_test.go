package etcdtest

import (
	"context"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/wsgate/wsgate/api"
	"github.com/wsgate/wsgate/internal/testutil"
	"github.com/wsgate/wsgate/internal/testutil/gatewaytest"
	"github.com/wsgate/wsgate/poller"
	"github.com/wsgate/wsgate/register"
)

// uidApp binds each client to the uid its URL's query names, and does
// nothing else: the test drives the Api.
type uidApp struct{}

func (uidApp) OnHandshake(h *api.Handshake) error {
	h.UID = h.Query.Get("uid")
	return nil
}
func (uidApp) OnConnect(string)              {}
func (uidApp) OnMessage(string, api.Message) {}
func (uidApp) OnClose(string)                {}

// startGateway runs an in-process gateway for uidApp on ip whose peers
// come from the etcd at endpoints.
func startGateway(t *testing.T, ip string, endpoints []string) *api.Gateway {
	t.Helper()
	return startGatewayFor(t, ip, endpoints, uidApp{})
}

// quiet drops the in-process nodes' logs.
var quiet = slog.New(slog.DiscardHandler)

// etcdSource makes a member's source of peers the etcd at endpoints.
func etcdSource(endpoints []string) func(register.Peer) (register.Source, error) {
	return func(self register.Peer) (register.Source, error) {
		return register.NewEtcd(register.EtcdOptions{Endpoints: endpoints, Prefix: prefix, Self: self})
	}
}

// startGatewayFor is startGateway for app.
func startGatewayFor(t *testing.T, ip string, endpoints []string, app api.Application) *api.Gateway {
	t.Helper()
	return gatewaytest.Start(t, api.Options{
		Server: poller.Options{Addr: ip + ":0"},
		Cluster: &api.ClusterOptions{
			Secret:    secret,
			RPCListen: ip + ":0",
			Logger:    quiet,
			Source:    etcdSource(endpoints),
		},
	}, app)
}

// dialUID connects a client to g as uid.
func dialUID(t *testing.T, g *api.Gateway, uid string) *testutil.WSClient {
	t.Helper()
	c := testutil.MustDialWS(t, "ws://"+g.Addr().String()+poller.DefaultPath+"?uid="+uid)
	c.Name = uid
	return c
}

// expect reads c's next message and compares it.
func expect(c *testutil.WSClient, want string) {
	c.T.Helper()
	if got := c.Read(); got != want {
		c.T.Fatalf("%s: read %q, want %q", c.Name, got, want)
	}
}

// waitFor polls cond until it holds.
func waitFor(t *testing.T, what string, cond func() bool) time.Time {
	t.Helper()
	return testutil.WaitFor(t, wait, what, cond)
}

// TestEtcdApiAcrossNodes: three in-process gateways on etcd answer Api
// calls for clients on the others' nodes as for their own; a node that
// shuts down leaves the others' lists at once, and its clients read as
// offline.
func TestEtcdApiAcrossNodes(t *testing.T) {
	e := startEtcd(t, 1)
	eps := []string{e.members[0].client}
	var nodes []*api.Gateway
	for i := range 3 {
		nodes = append(nodes, startGateway(t, nodeIPs[i], eps))
	}
	for _, g := range nodes {
		waitFor(t, "node "+g.NodeID().String()+" lists the other two", func() bool { return len(g.Peers()) == 2 })
	}
	alice, cat, bob := dialUID(t, nodes[0], "alice"), dialUID(t, nodes[1], "cat"), dialUID(t, nodes[2], "bob")
	a := nodes[0].Api()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	waitFor(t, "three clients counted from node 1", func() bool {
		n, err := a.GetAllClientCount(ctx)
		return err == nil && n == 3
	})

	if err := a.SendToUID(ctx, "bob", []byte("to bob")); err != nil {
		t.Fatal(err)
	}
	expect(bob, "to bob")
	catIDs, err := a.GetClientIDsByUID(ctx, "cat")
	if err != nil || len(catIDs) != 1 {
		t.Fatalf("cat's clients: %v, %v", catIDs, err)
	}
	bobIDs, _ := a.GetClientIDsByUID(ctx, "bob")
	for _, id := range append(catIDs, bobIDs...) {
		if err := a.JoinGroup(ctx, id, "g"); err != nil {
			t.Fatal(err)
		}
	}
	if uids, err := a.GetUIDsByGroup(ctx, "g"); err != nil || !slices.Equal(sorted(uids), []string{"bob", "cat"}) {
		t.Fatalf("uids of the group: %v, %v", uids, err)
	}
	if err := a.SendToGroup(ctx, "g", []byte("to g")); err != nil {
		t.Fatal(err)
	}
	expect(cat, "to g")
	expect(bob, "to g")
	if err := a.SendToAll(ctx, []byte("to all")); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*testutil.WSClient{alice, cat, bob} {
		expect(c, "to all")
	}

	// Node 3 shuts down: it revokes its lease as it leaves, so the others
	// drop it at once, not a TTL later, and bob reads as offline. (Its
	// drain first waits for its client's close reply, which bob does not
	// read: the clock starts when the shutdown is done.)
	sctx, scancel := context.WithTimeout(context.Background(), wait)
	nodes[2].Shutdown(sctx)
	scancel()
	t0 := time.Now()
	d := waitFor(t, "node 1 drops node 3", func() bool { return len(nodes[0].Peers()) == 1 }).Sub(t0)
	t.Logf("node 1 dropped node 3 %v after its shutdown", d.Round(time.Millisecond))
	if d > time.Second {
		t.Errorf("node 1 dropped node 3 %v after its shutdown, want at once (its lease revoked)", d)
	}
	if online, err := a.IsUIDOnline(ctx, "bob"); err != nil || online {
		t.Fatalf("bob online %v, %v after his node left; want offline", online, err)
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}
