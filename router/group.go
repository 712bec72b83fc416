package router

// A client joins any number of groups; a group exists while it has a
// member (closing ones included).

// JoinGroup adds the client to group; joining twice is a no-op.
func (r *Router) JoinGroup(id, group string) error {
	if group == "" {
		return ErrEmptyGroup
	}
	c, err := r.lockOpen(id)
	if err != nil {
		return err
	}
	if _, in := c.extra().groups[group]; !in {
		x := c.mutableExtra()
		if x.groups == nil {
			x.groups = make(map[string]struct{})
		}
		x.groups[group] = struct{}{}
		r.groupShard(group).add(group, c)
	}
	c.mu.Unlock()
	return nil
}

// LeaveGroup takes the client out of group; a no-op if it is not in it. A
// closing client may leave.
func (r *Router) LeaveGroup(id, group string) error {
	c, err := r.lockPresent(id)
	if err != nil {
		return err
	}
	r.leaveLocked(c, group)
	c.mu.Unlock()
	return nil
}

func (r *Router) leaveLocked(c *Client, group string) {
	if _, in := c.extra().groups[group]; in {
		delete(c.more.groups, group)
		r.groupShard(group).remove(group, c)
	}
}

// Ungroup dissolves group: every member leaves it and stays connected. A
// client joining while Ungroup runs may stay in the group (its join comes
// after the ungroup).
func (r *Router) Ungroup(group string) {
	p := r.getScratch()
	*p = r.groupShard(group).snapshot(group, *p)
	for _, c := range *p {
		c.mu.Lock()
		r.leaveLocked(c, group)
		c.mu.Unlock()
	}
	r.putScratch(p)
}

// GroupsOf lists the groups the client is in, in no order.
func (r *Router) GroupsOf(id string) ([]string, error) {
	c, err := r.lockPresent(id)
	if err != nil {
		return nil, err
	}
	groups := c.extra().groups
	gs := make([]string, 0, len(groups))
	for g := range groups {
		gs = append(gs, g)
	}
	c.mu.Unlock()
	return gs, nil
}

// GroupCount is the number of members of group.
func (r *Router) GroupCount(group string) int { return r.groupShard(group).size(group) }

// ClientIDsByGroup lists the members of group, in no order.
func (r *Router) ClientIDsByGroup(group string) []string {
	return r.idsOf(r.groupShard(group), group)
}

// UIDsByGroup lists the distinct uids of the members of group, in no
// order; members without a uid are not counted.
func (r *Router) UIDsByGroup(group string) []string {
	p := r.getScratch()
	defer r.putScratch(p)
	*p = r.groupShard(group).snapshot(group, *p)
	seen := make(map[string]struct{})
	uids := []string{}
	for _, c := range *p {
		c.mu.Lock()
		uid := c.extra().uid
		c.mu.Unlock()
		if _, dup := seen[uid]; uid != "" && !dup {
			seen[uid] = struct{}{}
			uids = append(uids, uid)
		}
	}
	return uids
}

// InfosByGroup returns a copy of the info of every member of group, by
// clientID.
func (r *Router) InfosByGroup(group string) map[string]map[string]string {
	return r.infosOf(r.groupShard(group), group)
}

// Groups lists every group with a member on this node, in no order.
func (r *Router) Groups() []string { return keys(r.groups, nil) }

// CountGroups is the number of groups with a member on this node; it costs
// one read lock per shard, whatever the number of clients.
func (r *Router) CountGroups() int { return count(r.groups) }
