package register

import (
	"context"
	"errors"
	"fmt"
	"slices"
)

// Static is a fixed peer list: for tests and small deployments whose nodes
// and addresses do not change. Nothing watches the peers: a node that is
// down stays listed, and calls for its clients fail as the rpc layer finds
// it unreachable. It is always ready.
type Static struct {
	self   Peer
	peers  []Peer // sorted by ID, self left out
	feed   *feed
	cancel context.CancelFunc
	done   chan struct{} // closed when the feed's goroutine ends
}

// NewStatic returns the source of the fixed list all (which may include
// self; it is left out of what the node is told). IDs must be unique and
// every peer needs an address.
func NewStatic(self Peer, all []Peer) (*Static, error) {
	if self.ID == "" {
		return nil, errors.New("register: static list: self needs an ID")
	}
	seen := make(map[string]bool, len(all))
	var peers []Peer
	for _, p := range all {
		switch {
		case p.ID == "" || p.Addr == "":
			return nil, fmt.Errorf("register: static list: peer %q needs an ID and an address", p.ID+"@"+p.Addr)
		case seen[p.ID]:
			return nil, fmt.Errorf("register: static list: node %s listed twice", p.ID)
		}
		seen[p.ID] = true
		if p.ID != self.ID {
			peers = append(peers, p)
		}
	}
	sortPeers(peers)
	return &Static{self: self, peers: peers, feed: newFeed(), done: make(chan struct{})}, nil
}

// Peers returns the list, sorted by ID, without this node.
func (s *Static) Peers() []Peer { return slices.Clone(s.peers) }

// OnChange adds fn; it is called once, with the list, after Start.
func (s *Static) OnChange(fn func([]Peer)) { s.feed.onChange(fn) }

// Start delivers the list once.
func (s *Static) Start(ctx context.Context) error {
	if s.cancel != nil {
		return errors.New("register: static list already started")
	}
	ctx, s.cancel = context.WithCancel(ctx)
	s.feed.set(s.peers)
	go func() {
		defer close(s.done)
		s.feed.run(ctx)
	}()
	return nil
}

// Joined is nil: a fixed list has nobody to refuse the node.
func (s *Static) Joined(context.Context) error { return nil }

// Ready is nil: a fixed list is always known.
func (s *Static) Ready() error { return nil }

// Close stops the delivery; there is nobody to tell.
func (s *Static) Close() error {
	if s.cancel != nil {
		s.cancel()
		<-s.done
	}
	return nil
}
