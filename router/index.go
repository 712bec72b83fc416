package router

import (
	"sync"
	"sync/atomic"
)

// clientIndex finds most clients by id in one probe of one array, without
// a lock. A send to one client is the commonest call of all (every reply
// is one), and the client map's probe touches the shard's lock, the map's
// directory, a control word and a slot: on a node whose caches the
// kernel's network stack keeps clearing, four misses a send where the
// index has one.
//
// A slot is chosen by the id's last 8 hex digits, the low 32 bits of its
// sequence number: ids issued one after another take neighbouring slots,
// so live clients rarely share one. Two that do keep the later in the
// slot; the other is found in the map, which stays the authority: the
// index only ever answers a lookup it can prove (the same id, not removed).
type clientIndex struct {
	table atomic.Pointer[indexTable] // never nil once New returns
	grow  sync.Mutex                 // one growth at a time
}

type indexTable struct {
	slots []atomic.Pointer[Client]
	mask  uint32
}

const (
	// indexMinSlots is the first table's size: 8 KiB.
	indexMinSlots = 1 << 10
	// indexMaxSlots bounds the table at 64 MiB (8 million clients); past
	// it, the index answers for fewer of them and the map for the rest.
	indexMaxSlots = 1 << 23
)

func newIndexTable(n int) *indexTable {
	return &indexTable{slots: make([]atomic.Pointer[Client], n), mask: uint32(n - 1)}
}

// indexKey is the slot number of an id: the low 32 bits of its sequence
// when it has the shape of a clientID (40 characters ending in 8 lower-case
// hex digits); other ids are not indexed.
func indexKey(id string) (uint32, bool) {
	if len(id) != ClientIDLen {
		return 0, false
	}
	var k uint32
	for i := ClientIDLen - 8; i < ClientIDLen; i++ {
		c := id[i]
		switch {
		case '0' <= c && c <= '9':
			k = k<<4 | uint32(c-'0')
		case 'a' <= c && c <= 'f':
			k = k<<4 | uint32(c-'a'+10)
		default:
			return 0, false
		}
	}
	return k, true
}

// get returns the client with this id if the index holds it.
func (x *clientIndex) get(id string) *Client {
	k, ok := indexKey(id)
	if !ok {
		return nil
	}
	t := x.table.Load()
	c := t.slots[k&t.mask].Load()
	if c == nil || c.id != id || c.removed.Load() {
		return nil
	}
	return c
}

// put indexes c, taking the slot from any client already in it.
func (x *clientIndex) put(c *Client) {
	if k, ok := indexKey(c.id); ok {
		t := x.table.Load()
		t.slots[k&t.mask].Store(c)
	}
}

// drop takes c out of its slot if it is still there. A growth that copied
// c before its removal may leave it in the new table: get's removed check
// makes such a slot answer nothing until another client takes it.
func (x *clientIndex) drop(c *Client) {
	if k, ok := indexKey(c.id); ok {
		t := x.table.Load()
		t.slots[k&t.mask].CompareAndSwap(c, nil)
	}
}

// fit grows the table to at least n slots, up to indexMaxSlots, keeping
// at most one client a slot on average; each client the map holds is
// placed again. Growing doubles, so the copies cost O(1) an Add.
func (x *clientIndex) fit(r *Router, n int) {
	if t := x.table.Load(); len(t.slots) >= n || len(t.slots) >= indexMaxSlots {
		return
	}
	x.grow.Lock()
	defer x.grow.Unlock()
	size := len(x.table.Load().slots)
	if size >= n || size >= indexMaxSlots {
		return // another Add grew it meanwhile
	}
	for size < n && size < indexMaxSlots {
		size <<= 1
	}
	t := newIndexTable(size)
	for i := range r.clients {
		sh := &r.clients[i]
		sh.mu.RLock()
		for _, c := range sh.m {
			if k, ok := indexKey(c.id); ok && !c.removed.Load() {
				t.slots[k&t.mask].Store(c)
			}
		}
		sh.mu.RUnlock()
	}
	x.table.Store(t)
}
