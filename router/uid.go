package router

// A client has at most one uid; a uid has any number of clients. A uid is
// online while it has at least one client (closing ones included).

// BindUID gives the client uid, replacing the uid it had.
func (r *Router) BindUID(id, uid string) error {
	if uid == "" {
		return ErrEmptyUID
	}
	c, err := r.lockOpen(id)
	if err != nil {
		return err
	}
	r.bindLocked(c, uid)
	c.mu.Unlock()
	return nil
}

func (r *Router) bindLocked(c *Client, uid string) {
	x := c.mutableExtra()
	if x.uid == uid {
		return
	}
	if x.uid != "" {
		r.uidShard(x.uid).remove(x.uid, c)
	}
	x.uid = uid
	r.uidShard(uid).add(uid, c)
}

// UnbindUID takes the client's uid away; it is a no-op if it has none. A
// closing client may be unbound.
func (r *Router) UnbindUID(id string) error {
	c, err := r.lockPresent(id)
	if err != nil {
		return err
	}
	if x := c.extra(); x.uid != "" {
		r.uidShard(x.uid).remove(x.uid, c)
		c.more.uid = ""
	}
	c.mu.Unlock()
	return nil
}

// UIDOf returns the client's uid, "" if it has none.
func (r *Router) UIDOf(id string) (string, error) {
	c, err := r.lockPresent(id)
	if err != nil {
		return "", err
	}
	uid := c.extra().uid
	c.mu.Unlock()
	return uid, nil
}

// IsUIDOnline reports whether uid has a client on this node.
func (r *Router) IsUIDOnline(uid string) bool {
	return uid != "" && r.uidShard(uid).size(uid) > 0
}

// ClientCountByUID is the number of clients of uid on this node.
func (r *Router) ClientCountByUID(uid string) int { return r.uidShard(uid).size(uid) }

// ClientIDsByUID lists the clients of uid, in no order.
func (r *Router) ClientIDsByUID(uid string) []string {
	return r.idsOf(r.uidShard(uid), uid)
}

// UIDs lists every uid with a client on this node, in no order.
func (r *Router) UIDs() []string { return keys(r.uids, nil) }

// CountUIDs is the number of uids with a client on this node; it costs one
// read lock per shard, whatever the number of clients.
func (r *Router) CountUIDs() int { return count(r.uids) }

// InfosByUID returns a copy of the info of every client of uid, by
// clientID: what a whois shows of a user, in one call.
func (r *Router) InfosByUID(uid string) map[string]map[string]string {
	return r.infosOf(r.uidShard(uid), uid)
}

// infosOf copies the info of every client of the set named key, by
// clientID. The members are copied under the shard's read lock and their
// info read after it, under each client's own lock.
func (r *Router) infosOf(s *setShard, key string) map[string]map[string]string {
	p := r.getScratch()
	defer r.putScratch(p)
	*p = s.snapshot(key, *p)
	out := make(map[string]map[string]string, len(*p))
	for _, c := range *p {
		c.mu.Lock()
		if c.state != stateGone {
			out[c.id] = cloneInfo(c.extra().info)
		}
		c.mu.Unlock()
	}
	return out
}

// idsOf lists the ids of the set named key.
func (r *Router) idsOf(s *setShard, key string) []string {
	s.mu.RLock()
	ids := make([]string, 0, len(s.m[key]))
	for c := range s.m[key] {
		ids = append(ids, c.id)
	}
	s.mu.RUnlock()
	return ids
}
