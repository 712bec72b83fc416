package rpc

import (
	"slices"
	"strings"
)

// Link is this node's view of one peer: whether its stream is up and what
// waits for it, for an operator's page.
type Link struct {
	Peer         string // the peer's node ID
	Addr         string // its rpc address
	State        LinkState
	QueuedBytes  int // commands waiting for the stream
	UnackedBytes int // sent, not yet acknowledged
}

// LinkState is where a peer's stream stands.
type LinkState string

const (
	LinkConnecting LinkState = "connecting" // no stream has opened yet
	LinkUp         LinkState = "up"         // a stream opened and the peer answers
	LinkDown       LinkState = "down"       // the peer stopped answering; calls to it fail fast
)

// Links returns a Link for each current peer, by node ID.
func (n *Node) Links() []Link {
	ps := n.snapshot()
	links := make([]Link, 0, len(ps))
	for _, p := range ps {
		p.mu.Lock()
		l := Link{Peer: p.id, Addr: p.addr, State: LinkConnecting, QueuedBytes: p.queued, UnackedBytes: p.unackedBytes}
		switch {
		case p.down.Load():
			l.State = LinkDown
		case p.receiver != 0:
			l.State = LinkUp
		}
		p.mu.Unlock()
		links = append(links, l)
	}
	slices.SortFunc(links, func(a, b Link) int { return strings.Compare(a.Peer, b.Peer) })
	return links
}
