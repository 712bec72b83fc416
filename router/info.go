package router

import "maps"

// Info is a client's own small key-value store, e.g. a display name or a
// status, kept on the node that owns the client.

// Info returns a copy of the client's info (empty, never nil).
func (r *Router) Info(id string) (map[string]string, error) {
	c, err := r.lockPresent(id)
	if err != nil {
		return nil, err
	}
	info := cloneInfo(c.extra().info)
	c.mu.Unlock()
	return info, nil
}

// SetInfo replaces the client's info with a copy of info.
func (r *Router) SetInfo(id string, info map[string]string) error {
	c, err := r.lockOpen(id)
	if err != nil {
		return err
	}
	if len(info) > 0 {
		c.mutableExtra().info = maps.Clone(info)
	} else if c.more != nil {
		c.more.info = nil
	}
	c.mu.Unlock()
	return nil
}

// UpdateInfo merges info into the client's: its keys overwrite, other keys
// stay.
func (r *Router) UpdateInfo(id string, info map[string]string) error {
	c, err := r.lockOpen(id)
	if err != nil {
		return err
	}
	if len(info) > 0 {
		x := c.mutableExtra()
		if x.info == nil {
			x.info = make(map[string]string, len(info))
		}
		maps.Copy(x.info, info)
	}
	c.mu.Unlock()
	return nil
}

func cloneInfo(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	maps.Copy(out, m)
	return out
}
