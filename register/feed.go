package register

import (
	"context"
	"slices"
	"sync"
)

// feed hands peer lists to OnChange functions from one goroutine, in
// order, the newest list winning over ones not yet delivered: a source sets
// lists as it learns them and never waits for a slow callback.
type feed struct {
	mu        sync.Mutex
	peers     []Peer
	version   uint64 // bumped on every change of peers
	callbacks []func([]Peer)
	changed   chan struct{} // capacity 1: wakes run
}

func newFeed() *feed { return &feed{changed: make(chan struct{}, 1)} }

func (f *feed) onChange(fn func([]Peer)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.callbacks = append(f.callbacks, fn)
}

// set records peers (sorted by ID) as the current list; an equal list is
// no change, except the first: it is news even when it holds no one, as
// it tells the node it has its list.
func (f *feed) set(peers []Peer) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.version > 0 && slices.Equal(peers, f.peers) {
		return
	}
	f.peers = slices.Clone(peers)
	f.version++
	select {
	case f.changed <- struct{}{}:
	default:
	}
}

// current returns the current list.
func (f *feed) current() []Peer {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.peers)
}

// run calls the OnChange functions with each new list until ctx ends.
func (f *feed) run(ctx context.Context) {
	var delivered uint64
	for {
		select {
		case <-f.changed:
		case <-ctx.Done():
			return
		}
		f.mu.Lock()
		version, peers, callbacks := f.version, slices.Clone(f.peers), slices.Clone(f.callbacks)
		f.mu.Unlock()
		if version == delivered {
			continue
		}
		delivered = version
		for _, fn := range callbacks {
			fn(peers)
		}
	}
}
