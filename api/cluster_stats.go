package api

import (
	"github.com/wsgate/wsgate/register"
	"github.com/wsgate/wsgate/rpc"
)

// ClusterStats are a cluster node's transport counters.
type ClusterStats struct {
	RPC rpc.Stats
	// Register is the embedded register's; zero when the node runs none.
	Register register.ServerStats
}

// ClusterStats returns the counters of the node's rpc server and embedded
// register; zero for a single node.
func (g *Gateway) ClusterStats() ClusterStats {
	var st ClusterStats
	if g.member == nil {
		return st
	}
	st.RPC = g.member.Node().Stats()
	st.Register = g.member.RegisterStats()
	return st
}
