package api

import (
	"context"
	"slices"
	"strings"

	"github.com/wsgate/wsgate/rpc/rpcpb"
)

// ClusterView is every node's figures as one node gathered them, for the
// operator's cluster page.
type ClusterView struct {
	Self    string     `json:"self"`              // the node that gathered the view
	Nodes   []NodeView `json:"nodes"`             // by node ID
	Missing []string   `json:"missing,omitempty"` // peers that did not answer in time
	Error   string     `json:"error,omitempty"`   // the peers could not be asked at all
}

// NodeView is one node's figures. The counters are totals since the node
// started; a page polling them derives rates.
type NodeView struct {
	Node        string     `json:"node"`
	Addr        string     `json:"addr,omitempty"` // its rpc address; empty for a node alone
	Conns       int64      `json:"conns"`          // connections, in the handshake, open or closing
	Clients     int        `json:"clients"`        // clients in the router, closing ones included
	UIDs        int        `json:"uids"`           // uids with a client on the node
	Groups      int        `json:"groups"`         // groups with a member on the node
	MessagesIn  uint64     `json:"messages_in"`    // data messages received from clients
	MessagesOut uint64     `json:"messages_out"`   // messages queued for clients
	Overflows   uint64     `json:"overflows"`      // sends over a connection's outbound budget
	Links       []LinkView `json:"links"`          // its streams to its peers, by peer
	Error       string     `json:"error,omitempty"`
}

// LinkView is one node's stream to one peer.
type LinkView struct {
	Peer         string `json:"peer"`
	State        string `json:"state"` // connecting, up or down
	QueuedBytes  int    `json:"queued_bytes"`
	UnackedBytes int    `json:"unacked_bytes"`
}

// localView is this node's own NodeView.
func (g *Gateway) localView() NodeView {
	st, c := g.srv.Stats(), g.Counts()
	v := NodeView{
		Node: g.ids.Node().String(), Conns: st.Conns, Clients: c.Clients, UIDs: c.UIDs, Groups: c.Groups,
		MessagesIn: st.MessagesIn, MessagesOut: c.MessagesOut, Overflows: st.Overflows, Links: []LinkView{},
	}
	if g.member != nil {
		if a := g.member.RPCAddr(); a != nil {
			v.Addr = a.String()
		}
		for _, l := range g.member.Node().Links() {
			v.Links = append(v.Links, LinkView{Peer: l.Peer, State: string(l.State), QueuedBytes: l.QueuedBytes, UnackedBytes: l.UnackedBytes})
		}
	}
	return v
}

// nodeViewProto is localView on the wire, the answer a peer gets.
func (g *Gateway) nodeViewProto() *rpcpb.NodeView {
	v := g.localView()
	pv := &rpcpb.NodeView{
		Node: v.Node, Addr: v.Addr, Conns: v.Conns, Clients: int64(v.Clients), Uids: int64(v.UIDs), Groups: int64(v.Groups),
		MessagesIn: v.MessagesIn, MessagesOut: v.MessagesOut, Overflows: v.Overflows,
	}
	for _, l := range v.Links {
		pv.Links = append(pv.Links, &rpcpb.NodeView_Link{Peer: l.Peer, State: l.State, QueuedBytes: int64(l.QueuedBytes), UnackedBytes: int64(l.UnackedBytes)})
	}
	return pv
}

// nodeViewOf is a peer's answer as a NodeView.
func nodeViewOf(pv *rpcpb.NodeView) NodeView {
	v := NodeView{
		Node: pv.GetNode(), Addr: pv.GetAddr(), Conns: pv.GetConns(), Clients: int(pv.GetClients()), UIDs: int(pv.GetUids()),
		Groups: int(pv.GetGroups()), MessagesIn: pv.GetMessagesIn(), MessagesOut: pv.GetMessagesOut(), Overflows: pv.GetOverflows(),
		Links: []LinkView{},
	}
	for _, l := range pv.GetLinks() {
		v.Links = append(v.Links, LinkView{Peer: l.GetPeer(), State: l.GetState(), QueuedBytes: int(l.GetQueuedBytes()), UnackedBytes: int(l.GetUnackedBytes())})
	}
	return v
}

// ClusterView asks every node for its figures. A peer that does not answer
// before ctx ends is listed in Missing and shown with its error.
func (g *Gateway) ClusterView(ctx context.Context) ClusterView {
	self := g.localView()
	view := ClusterView{Self: self.Node, Nodes: []NodeView{self}}
	peers, missing, err := g.dispatch.NodeViews(ctx)
	if err != nil {
		view.Error = err.Error()
	}
	for _, p := range peers {
		view.Nodes = append(view.Nodes, nodeViewOf(p))
	}
	for id, err := range missing {
		view.Missing = append(view.Missing, id)
		view.Nodes = append(view.Nodes, NodeView{Node: id, Links: []LinkView{}, Error: err.Error()})
	}
	slices.Sort(view.Missing)
	slices.SortFunc(view.Nodes, func(a, b NodeView) int { return strings.Compare(a.Node, b.Node) })
	return view
}
