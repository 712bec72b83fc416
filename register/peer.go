// Package register is cluster membership: a register Server that keeps the
// list of live nodes, and the node-side Client that joins one or more
// registers and keeps the merged peer list.
//
// Each node holds one long-lived gRPC stream to every register. The stream
// opens with the cluster secret and the node's identity; then both sides
// send heartbeats and the register pushes the full list whenever it
// changes. A node whose stream drops, or that stays silent for the
// heartbeat timeout, leaves the list, and every other node is told.
//
// The node's membership code consumes a Source of the peer list: the
// Client above, Etcd (a lease and a prefix watch on an etcd cluster), or
// Static (a fixed list).
package register

import (
	"slices"
	"strings"

	"github.com/wsgate/wsgate/register/registerpb"
)

// Peer is one node of the cluster as the register knows it.
type Peer struct {
	// ID names the node; unique in the cluster.
	ID string
	// Addr is the node's advertised rpc address: the one peers dial, which
	// may differ from the address it binds.
	Addr string
	// Incarnation tells registrations of the same ID apart. A node picks
	// it once per process start (its start time by default), so a
	// restarted node has a larger one and replaces its old entry.
	Incarnation uint64
}

// Limits on what a node may announce; anything longer is refused.
const (
	maxIDLen   = 256
	maxAddrLen = 256
)

func peerToProto(p Peer) *registerpb.Peer {
	return &registerpb.Peer{Id: p.ID, Addr: p.Addr, Incarnation: p.Incarnation}
}

func peerFromProto(p *registerpb.Peer) Peer {
	return Peer{ID: p.GetId(), Addr: p.GetAddr(), Incarnation: p.GetIncarnation()}
}

// sortPeers orders a list by ID so equal lists compare equal.
func sortPeers(peers []Peer) {
	slices.SortFunc(peers, func(a, b Peer) int { return strings.Compare(a.ID, b.ID) })
}

// mergePeers is the union of lists by ID; where lists disagree about an ID,
// the larger incarnation wins. The result is sorted by ID.
func mergePeers(lists ...[]Peer) []Peer {
	byID := make(map[string]Peer)
	for _, list := range lists {
		for _, p := range list {
			if old, ok := byID[p.ID]; !ok || p.Incarnation > old.Incarnation {
				byID[p.ID] = p
			}
		}
	}
	merged := make([]Peer, 0, len(byID))
	for _, p := range byID {
		merged = append(merged, p)
	}
	sortPeers(merged)
	return merged
}
