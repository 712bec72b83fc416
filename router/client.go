package router

import (
	"fmt"
	"maps"
	"sync"
	"sync/atomic"
	"unsafe"
)

type clientState uint8

const (
	stateOpen    clientState = iota
	stateClosing             // the connection is gone; OnClose is running
	stateGone                // removed from every table
)

// Client is one connection's entry. Its extra (uid, groups, info) is
// guarded by mu; a change to it and to the tables that index it happens
// under mu, so the two never disagree.
type Client struct {
	id string
	// text holds the characters of a clientID-shaped id, which id then
	// points into: the client and its id are one allocation, and a lookup
	// reads the id's digits from the cache line that holds the client.
	text    [ClientIDLen]byte
	removed atomic.Bool // set once Remove begins, for the lock-free index
	state   clientState
	mu      sync.Mutex
	conn    Conn
	more    *extra // nil until the client is given a uid, a group or info
}

// extra is what a client may be given besides its connection. It has an
// allocation of its own, made on the first of them, so that a client given
// none costs its 96-byte entry alone.
type extra struct {
	uid    string
	groups map[string]struct{}
	info   map[string]string
}

// noExtra is what a client without extra reads as. Nothing writes to it.
var noExtra extra

// extra is c's extra for reading, never nil; c.mu is held.
func (c *Client) extra() *extra {
	if c.more == nil {
		return &noExtra
	}
	return c.more
}

// mutableExtra is c's extra for writing, made if c had none; c.mu is held.
func (c *Client) mutableExtra() *extra {
	if c.more == nil {
		c.more = &extra{}
	}
	return c.more
}

// newClient makes a client's entry, keeping a clientID's characters in it.
func newClient(id string, conn Conn) *Client {
	c := &Client{id: id, conn: conn}
	if len(id) == ClientIDLen {
		copy(c.text[:], id)
		c.keepText()
	}
	return c
}

// keepText points c.id at c.text. The characters are never written again,
// so the string over them stays immutable.
func (c *Client) keepText() { c.id = unsafe.String(&c.text[0], ClientIDLen) }

// ID is the client's clientID.
func (c *Client) ID() string { return c.id }

// Conn is the client's connection.
func (c *Client) Conn() Conn { return c.conn }

// Add registers a new open client with an optional first uid and info
// (the info map is copied).
func (r *Router) Add(id string, conn Conn, uid string, info map[string]string) (*Client, error) {
	c := newClient(id, conn)
	if err := r.AddClient(c, uid, info); err != nil {
		return nil, err
	}
	return c, nil
}

// AddClient is Add for an entry made by IDGenerator.NewClient.
func (r *Router) AddClient(c *Client, uid string, info map[string]string) error {
	if len(info) > 0 {
		c.mutableExtra().info = maps.Clone(info)
	}
	r.index.fit(r, int(r.count.Load())+1) // grow before any lock is held
	// c is locked before anyone can find it, so that a Remove cannot come
	// between its entry and its first uid and leave the uid behind.
	c.mu.Lock()
	defer c.mu.Unlock()
	sh := r.clientShard(c.id)
	sh.mu.Lock()
	if _, dup := sh.m[c.id]; dup {
		sh.mu.Unlock()
		return fmt.Errorf("%w: %s", ErrDuplicateClient, c.id)
	}
	sh.m[c.id] = c
	sh.mu.Unlock()
	r.count.Add(1)
	r.index.put(c)
	if uid != "" {
		r.bindLocked(c, uid)
	}
	return nil
}

// Closing marks a client whose connection is gone. Until Remove, it stays
// in every table so that its uid, groups and info still answer, but sends
// to it are dropped, IsOnline reports false, and calls that would add to
// its state return ErrClientOffline.
func (r *Router) Closing(c *Client) {
	c.mu.Lock()
	if c.state == stateOpen {
		c.state = stateClosing
	}
	c.mu.Unlock()
}

// Remove takes a client out of every table at once: its uid (a uid with no
// clients left is offline), its groups (an empty group disappears) and its
// info.
func (r *Router) Remove(c *Client) {
	c.mu.Lock()
	if c.state == stateGone {
		c.mu.Unlock()
		return
	}
	c.state = stateGone
	c.removed.Store(true)
	r.index.drop(c)
	x := c.extra()
	if x.uid != "" {
		r.uidShard(x.uid).remove(x.uid, c)
	}
	for g := range x.groups {
		r.groupShard(g).remove(g, c)
	}
	c.more = nil
	c.mu.Unlock()

	sh := r.clientShard(c.id)
	sh.mu.Lock()
	if sh.m[c.id] == c {
		delete(sh.m, c.id)
	}
	sh.mu.Unlock()
	r.count.Add(-1)
}

// Lookup returns the client with this id, open or closing.
func (r *Router) Lookup(id string) (*Client, bool) {
	if c := r.index.get(id); c != nil {
		return c, true
	}
	sh := r.clientShard(id)
	sh.mu.RLock()
	c, ok := sh.m[id]
	sh.mu.RUnlock()
	return c, ok
}

// lookup returns the client or ErrClientOffline.
func (r *Router) lookup(id string) (*Client, error) {
	if c, ok := r.Lookup(id); ok {
		return c, nil
	}
	return nil, fmt.Errorf("%w: %s", ErrClientOffline, id)
}

// lockOpen finds the client and locks it if it is open; otherwise it
// returns ErrClientOffline with nothing locked.
func (r *Router) lockOpen(id string) (*Client, error) {
	c, err := r.lookup(id)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.state != stateOpen {
		c.mu.Unlock()
		return nil, fmt.Errorf("%w: %s is closing", ErrClientOffline, id)
	}
	return c, nil
}

// lockPresent finds the client and locks it if it is open or closing.
func (r *Router) lockPresent(id string) (*Client, error) {
	c, err := r.lookup(id)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.state == stateGone {
		c.mu.Unlock()
		return nil, fmt.Errorf("%w: %s", ErrClientOffline, id)
	}
	return c, nil
}

// IsOnline reports whether the client is connected and not closing.
func (r *Router) IsOnline(id string) bool {
	c, ok := r.Lookup(id)
	if !ok {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state == stateOpen
}

// ClientCount is the number of clients, closing ones included.
func (r *Router) ClientCount() int { return int(r.count.Load()) }

// MessagesOut is the number of messages this router's connections took
// (queued or written) since New; a fan-out to n clients counts n.
func (r *Router) MessagesOut() uint64 { return r.sent.Load() }

// ClientIDs lists every client, closing ones included, in no order.
func (r *Router) ClientIDs() []string {
	ids := make([]string, 0, r.ClientCount())
	for i := range r.clients {
		sh := &r.clients[i]
		sh.mu.RLock()
		for id := range sh.m {
			ids = append(ids, id)
		}
		sh.mu.RUnlock()
	}
	return ids
}
