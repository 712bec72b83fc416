package etcdtest

import (
	"testing"

	"github.com/wsgate/wsgate/api"
	"github.com/wsgate/wsgate/internal/testutil/apiscript"
	"github.com/wsgate/wsgate/internal/testutil/gatewaytest"
)

// TestEtcdAnswersAsOneNode runs the api package's cluster script (every
// Api call, see internal/testutil/apiscript) against one node and against
// three in-process nodes whose peers come from etcd, from a node and from
// a connection-less Client also on etcd, and expects the same record from
// all three: etcd as the source of peers carries the whole Api.
func TestEtcdAnswersAsOneNode(t *testing.T) {
	single := gatewaytest.Start(t, api.Options{}, &apiscript.App{})
	want := apiscript.Run(t, single.Api(), apiscript.Spread(t, single), apiscript.Unknown(single))

	e := startEtcd(t, 1)
	eps := []string{e.members[0].client}
	var nodes []*api.Gateway
	for i := range 3 {
		nodes = append(nodes, startGatewayFor(t, nodeIPs[i], eps, &apiscript.App{}))
	}
	gatewaytest.WaitMesh(t, nodes...)
	unknown := apiscript.Unknown(nodes[1])
	clients := apiscript.Spread(t, nodes...)
	got := apiscript.Run(t, nodes[0].Api(), clients, unknown)
	apiscript.Diff(t, "cluster on etcd, from a node", want, got)

	member := api.ClusterOptions{Secret: secret, Logger: quiet, Source: etcdSource(eps)}
	got = apiscript.RunFromClient(t, nodes, clients, member, unknown)
	apiscript.Diff(t, "cluster on etcd, from a Client", want, got)
}
