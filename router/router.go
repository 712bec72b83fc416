// Package router keeps the state of one node's clients: clientID ->
// connection, uid <-> clients, group <-> clients and each client's info.
//
// Every table is split into shards, each with its own lock, so that calls
// for different clients, uids or groups rarely meet; a client is found by
// its id through a lock-free index first (index.go), the shard's map
// after. Locks are taken in one order only: a client's own lock, then a
// shard's. No lock is held while writing to a connection: fan-out copies
// the member list under a read lock into a pooled slice, then writes one
// shared frame to each.
package router

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
)

// Options configure a Router. Zero values mean the documented defaults.
type Options struct {
	// Shards is the number of lock shards of each table, rounded up to a
	// power of two. Default 256.
	Shards int
}

// DefaultShards is the number of shards when Options.Shards is 0.
const DefaultShards = 256

// Router holds the clients of one node. All methods are safe for
// concurrent use.
type Router struct {
	seed    maphash.Seed
	mask    uint64
	clients []clientShard
	index   clientIndex // the fast path to clients by id
	uids    []setShard  // uid -> its clients
	groups  []setShard  // group -> its clients
	count   atomic.Int64
	sent    atomic.Uint64 // messages connections took, for MessagesOut
	scratch sync.Pool     // *[]*Client, member snapshots for fan-out
}

type clientShard struct {
	mu sync.RWMutex
	m  map[string]*Client
	_  [40]byte // keep neighbouring shard locks off one cache line
}

// setShard maps a name (a uid or group) to the set of its clients. A name
// with no clients is deleted, so listings never show stale entries.
type setShard struct {
	mu sync.RWMutex
	m  map[string]map[*Client]struct{}
	_  [40]byte
}

// New returns an empty router.
func New(o Options) *Router {
	n := o.Shards
	if n <= 0 {
		n = DefaultShards
	}
	size := 1
	for size < n {
		size <<= 1
	}
	r := &Router{
		seed:    maphash.MakeSeed(),
		mask:    uint64(size - 1),
		clients: make([]clientShard, size),
		uids:    make([]setShard, size),
		groups:  make([]setShard, size),
	}
	for i := 0; i < size; i++ {
		r.clients[i].m = make(map[string]*Client)
		r.uids[i].m = make(map[string]map[*Client]struct{})
		r.groups[i].m = make(map[string]map[*Client]struct{})
	}
	r.index.table.Store(newIndexTable(indexMinSlots))
	r.scratch.New = func() any { s := make([]*Client, 0, 64); return &s }
	return r
}

func (r *Router) shardOf(key string) uint64 { return maphash.String(r.seed, key) & r.mask }

func (r *Router) clientShard(id string) *clientShard { return &r.clients[r.shardOf(id)] }
func (r *Router) uidShard(uid string) *setShard      { return &r.uids[r.shardOf(uid)] }
func (r *Router) groupShard(g string) *setShard      { return &r.groups[r.shardOf(g)] }

// add puts c into the set named key, creating it if needed.
func (s *setShard) add(key string, c *Client) {
	s.mu.Lock()
	set := s.m[key]
	if set == nil {
		set = make(map[*Client]struct{})
		s.m[key] = set
	}
	set[c] = struct{}{}
	s.mu.Unlock()
}

// remove takes c out of the set named key, dropping the set once empty.
func (s *setShard) remove(key string, c *Client) {
	s.mu.Lock()
	if set := s.m[key]; set != nil {
		delete(set, c)
		if len(set) == 0 {
			delete(s.m, key)
		}
	}
	s.mu.Unlock()
}

// snapshot appends the members of key to dst under the read lock.
func (s *setShard) snapshot(key string, dst []*Client) []*Client {
	s.mu.RLock()
	for c := range s.m[key] {
		dst = append(dst, c)
	}
	s.mu.RUnlock()
	return dst
}

// size is the number of members of key.
func (s *setShard) size(key string) int {
	s.mu.RLock()
	n := len(s.m[key])
	s.mu.RUnlock()
	return n
}

// keys appends every name with at least one member.
func keys(shards []setShard, dst []string) []string {
	for i := range shards {
		s := &shards[i]
		s.mu.RLock()
		for k := range s.m {
			dst = append(dst, k)
		}
		s.mu.RUnlock()
	}
	return dst
}

// count is the number of names with at least one member: one read lock
// per shard, never a walk over the members.
func count(shards []setShard) int {
	n := 0
	for i := range shards {
		s := &shards[i]
		s.mu.RLock()
		n += len(s.m)
		s.mu.RUnlock()
	}
	return n
}

func (r *Router) getScratch() *[]*Client { return r.scratch.Get().(*[]*Client) }

// putScratch clears the snapshot (so it pins no client) and pools it.
func (r *Router) putScratch(p *[]*Client) {
	clear(*p)
	*p = (*p)[:0]
	r.scratch.Put(p)
}
