package poller

import "sync"

// tableShards spreads the connection table over locks.
const tableShards = 64

// connTable holds every live connection, for Shutdown, indexed by its file
// descriptor: live descriptors are distinct and dense, so a slot costs 8
// bytes per connection where a map entry cost several times that. A
// connection leaves the table in netpoll's close callback, before its fd is
// closed, so a reused fd number never finds the old connection.
type connTable struct {
	shards [tableShards]struct {
		mu    sync.Mutex
		slots []*Conn // slot fd/tableShards of the fds in this shard
	}
}

func (t *connTable) add(c *Conn) {
	sh := &t.shards[int(c.fd)%tableShards]
	i := int(c.fd) / tableShards
	sh.mu.Lock()
	if i >= len(sh.slots) {
		sh.slots = append(sh.slots, make([]*Conn, i+1-len(sh.slots))...)
	}
	sh.slots[i] = c
	sh.mu.Unlock()
}

func (t *connTable) remove(c *Conn) {
	sh := &t.shards[int(c.fd)%tableShards]
	i := int(c.fd) / tableShards
	sh.mu.Lock()
	if i < len(sh.slots) && sh.slots[i] == c {
		sh.slots[i] = nil
	}
	sh.mu.Unlock()
}

// each calls f for every connection, outside the shard locks.
func (t *connTable) each(f func(*Conn)) {
	var batch []*Conn
	for i := range t.shards {
		sh := &t.shards[i]
		sh.mu.Lock()
		batch = batch[:0]
		for _, c := range sh.slots {
			if c != nil {
				batch = append(batch, c)
			}
		}
		sh.mu.Unlock()
		for _, c := range batch {
			f(c)
		}
	}
}
