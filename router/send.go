package router

import (
	"errors"
	"fmt"

	"github.com/wsgate/wsgate/wsproto"
)

// Every send encodes its frame once and queues that same frame on each
// recipient; the connection keeps a reference until the bytes are written.
// Member lists are copied under a read lock and written after it is
// released, so a write never runs under a router lock. A recipient that is
// closing or over its outbound budget is skipped (its connection's policy
// applies); fan-out reports how many connections took the frame.

// SendToClient queues one message for the client. It returns
// ErrClientOffline if the client is unknown or closing, and the
// connection's error (e.g. an outbound budget overflow) if it refused the frame.
func (r *Router) SendToClient(id string, op wsproto.OpCode, data []byte) error {
	c, err := r.lookup(id)
	if err != nil {
		return err
	}
	f := wsproto.NewSharedFrame(op, data)
	err = c.conn.WriteFrame(f)
	f.Release()
	if err == nil {
		r.sent.Add(1)
	}
	switch {
	case errors.Is(err, wsproto.ErrClosed):
		return fmt.Errorf("%w: %s is closing", ErrClientOffline, id)
	case err != nil:
		return fmt.Errorf("send to %s: %w", id, err)
	}
	return nil
}

// SendToClients queues the message for each listed client on this node;
// unknown ids are skipped. Duplicates in ids get the message once.
func (r *Router) SendToClients(ids []string, op wsproto.OpCode, data []byte, exclude []string) int {
	ex := newIDSet(exclude)
	p := r.getScratch()
	defer r.putScratch(p)
	seen := newIDSet(nil)
	for _, id := range ids {
		if ex.has(id) || seen.has(id) {
			continue
		}
		if len(ids) > 1 {
			seen.add(id)
		}
		if c, ok := r.Lookup(id); ok {
			*p = append(*p, c)
		}
	}
	return r.write(*p, op, data)
}

// SendToAll queues the message for every client of this node except those
// in exclude.
func (r *Router) SendToAll(op wsproto.OpCode, data []byte, exclude []string) int {
	ex := newIDSet(exclude)
	f := wsproto.NewSharedFrame(op, data)
	defer f.Release()
	p := r.getScratch()
	defer r.putScratch(p)
	n := 0
	for i := range r.clients {
		sh := &r.clients[i]
		*p = (*p)[:0]
		sh.mu.RLock()
		for id, c := range sh.m {
			if !ex.has(id) {
				*p = append(*p, c)
			}
		}
		sh.mu.RUnlock()
		n += r.writeFrame(*p, f)
	}
	return n
}

// SendToUIDs queues the message for every client of each uid. A client has
// one uid, so nobody gets it twice.
func (r *Router) SendToUIDs(uids []string, op wsproto.OpCode, data []byte) int {
	p := r.getScratch()
	defer r.putScratch(p)
	for _, uid := range uids {
		*p = r.uidShard(uid).snapshot(uid, *p)
	}
	if len(uids) > 1 {
		*p = dedupClients(*p)
	}
	return r.write(*p, op, data)
}

// SendToGroups queues the message for every member of each group except
// those in exclude; a member of several groups gets it once.
func (r *Router) SendToGroups(groups []string, op wsproto.OpCode, data []byte, exclude []string) int {
	p := r.getScratch()
	defer r.putScratch(p)
	for _, g := range groups {
		*p = r.groupShard(g).snapshot(g, *p)
	}
	if len(groups) > 1 {
		*p = dedupClients(*p)
	}
	if len(exclude) > 0 {
		ex := newIDSet(exclude)
		kept := (*p)[:0]
		for _, c := range *p {
			if !ex.has(c.id) {
				kept = append(kept, c)
			}
		}
		clear((*p)[len(kept):])
		*p = kept
	}
	return r.write(*p, op, data)
}

// CloseClient closes the client's connection: final, if not nil, is sent
// first as a message of type finalOp, then a close frame with code and
// reason after everything queued.
func (r *Router) CloseClient(id string, final []byte, finalOp wsproto.OpCode, code wsproto.StatusCode, reason string) error {
	c, err := r.lookup(id)
	if err != nil {
		return err
	}
	if final != nil {
		f := wsproto.NewSharedFrame(finalOp, final)
		c.conn.WriteFrame(f) // a refusal here still lets the close go on
		f.Release()
	}
	if err := c.conn.Close(code, reason); err != nil {
		if errors.Is(err, wsproto.ErrClosed) {
			return fmt.Errorf("%w: %s is closing", ErrClientOffline, id)
		}
		return fmt.Errorf("close %s: %w", id, err)
	}
	return nil
}

// DestroyClient drops the client's connection at once, without a close
// handshake or flushing what is queued.
func (r *Router) DestroyClient(id string) error {
	c, err := r.lookup(id)
	if err != nil {
		return err
	}
	c.conn.Abort()
	return nil
}

// write encodes one frame and queues it on every client in cs.
func (r *Router) write(cs []*Client, op wsproto.OpCode, data []byte) int {
	if len(cs) == 0 {
		return 0
	}
	f := wsproto.NewSharedFrame(op, data)
	n := r.writeFrame(cs, f)
	f.Release()
	return n
}

// writeFrame queues f on every client: a single recipient is written
// right away, several are left to the flushers (see Conn.QueueFrame).
func (r *Router) writeFrame(cs []*Client, f *wsproto.SharedFrame) int {
	n := 0
	if len(cs) == 1 {
		if cs[0].conn.WriteFrame(f) == nil {
			n = 1
		}
	} else {
		for _, c := range cs {
			if c.conn.QueueFrame(f) == nil {
				n++
			}
		}
	}
	r.sent.Add(uint64(n)) // once per send, not per recipient
	return n
}

// dedupClients removes repeated clients in place, keeping the first.
func dedupClients(cs []*Client) []*Client {
	seen := make(map[*Client]struct{}, len(cs))
	kept := cs[:0]
	for _, c := range cs {
		if _, dup := seen[c]; !dup {
			seen[c] = struct{}{}
			kept = append(kept, c)
		}
	}
	clear(cs[len(kept):])
	return kept
}

// idSet is a set of clientIDs that avoids a map for short lists, the usual
// size of an exclude list.
type idSet struct {
	list []string
	m    map[string]struct{}
}

const idSetLinear = 16

func newIDSet(ids []string) idSet {
	if len(ids) <= idSetLinear {
		// Read the caller's slice in place; the full slice expression
		// makes a later add copy instead of writing into it.
		return idSet{list: ids[:len(ids):len(ids)]}
	}
	s := idSet{}
	for _, id := range ids {
		s.add(id)
	}
	return s
}

func (s *idSet) add(id string) {
	if s.m != nil {
		s.m[id] = struct{}{}
		return
	}
	s.list = append(s.list, id)
	if len(s.list) > idSetLinear {
		s.m = make(map[string]struct{}, 2*len(s.list))
		for _, x := range s.list {
			s.m[x] = struct{}{}
		}
		s.list = nil
	}
}

func (s *idSet) has(id string) bool {
	if s.m != nil {
		_, ok := s.m[id]
		return ok
	}
	for _, x := range s.list {
		if x == id {
			return true
		}
	}
	return false
}
