package register

import "context"

// Source is where a node learns the peer list: the registers (Client), an
// etcd cluster (Etcd) or a fixed list (Static). The node's membership code
// consumes any of them the same way: it adds its OnChange functions, starts
// the source, and closes it on leave.
type Source interface {
	// OnChange adds fn to the functions called with each new peer list
	// (sorted by ID, this node left out), and with the first one even when
	// it is empty. Add them before Start. Calls
	// come from one goroutine, in order; a slow fn delays the next call,
	// which then carries the newest list (lists in between may be skipped,
	// never the last one).
	OnChange(fn func([]Peer))
	// Start joins in the background and returns at once; the source keeps
	// the node joined until ctx ends or Close is called.
	Start(ctx context.Context) error
	// Joined waits until the node is first part of the cluster (nil), or
	// the source refused it for good (an error saying why: retrying will
	// not help), or ctx ends (its error; the source keeps trying).
	Joined(ctx context.Context) error
	// Ready is nil unless the source knows the node is not held in the
	// cluster now (a refused secret, an etcd lease not renewed); then it
	// says why. A node that is not ready still keeps its last list.
	Ready() error
	// Close leaves the cluster, so that peers drop this node at once, and
	// waits for the background work to end.
	Close() error
}

// The sources this package offers.
var (
	_ Source = (*Client)(nil)
	_ Source = (*Static)(nil)
	_ Source = (*Etcd)(nil)
)
