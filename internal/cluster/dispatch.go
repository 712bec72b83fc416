package cluster

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/wsgate/wsgate/router"
	"github.com/wsgate/wsgate/rpc"
	"github.com/wsgate/wsgate/rpc/rpcpb"
)

// route says which nodes an operation goes to.
type route uint8

const (
	toOwner     route = iota // the node that owns the clientID (Args.ID, Message.ID)
	toOwners                 // the owner of each of Message.IDs, once per node
	toEveryNode              // this node and every peer
)

// Request is an operation that answers, with an R.
type Request[R any] struct {
	to    route
	apply func(*router.Router, Args) (R, error) // on the node that holds the clients
	wire  func(Args) *rpcpb.Request
	// result carries the answer back from a peer.
	result codec[R]
	// merge makes this node's answer and its peers' one (toEveryNode).
	merge func(mine R, theirs []R) R
	// settled, if set, tells an answer that no other node can change
	// (IsUIDOnline: true). Such an answer is returned as it is: from this
	// node without asking its peers, or after merging without the error
	// of peers that did not answer.
	settled func(R) bool
}

// Command is an operation that is not answered: it travels on the
// ordered stream to each node it goes to.
type Command struct {
	to    route
	apply func(*router.Router, Message) error
	wire  func(Message) *rpcpb.Command
}

// Dispatcher carries out operations for one cluster member: on its own
// router for its clients, and over rpc on the nodes that hold the others.
type Dispatcher struct {
	router *router.Router
	// self is the node number in this node's clientIDs; 0, which no node
	// has, for a member without clients.
	self router.NodeID
	node *rpc.Node // nil: no peers, a single node
}

// NewDispatcher returns the dispatcher of a member whose clients are in r.
// node is nil for a single node.
func NewDispatcher(r *router.Router, self router.NodeID, node *rpc.Node) *Dispatcher {
	return &Dispatcher{router: r, self: self, node: node}
}

// Call carries out a request: on the owner of a.ID, or on every node with
// the answers merged. Peers that did not answer a request for every node
// are named by a *rpc.PartialError, returned with the merged answer of the
// others.
func Call[R any](ctx context.Context, d *Dispatcher, op *Request[R], a Args) (R, error) {
	var zero R
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	if op.to == toOwner {
		peer := d.owner(a.ID)
		if peer == "" {
			return op.apply(d.router, a)
		}
		resp, err := d.call(ctx, peer, a.ID, op.wire(a))
		if err != nil {
			return zero, err
		}
		return op.result.decode(resp), nil
	}
	mine, err := op.apply(d.router, a)
	if err != nil {
		return zero, err
	}
	if d.node == nil || op.settled != nil && op.settled(mine) {
		return op.merge(mine, nil), nil
	}
	resps, err := d.gather(ctx, op.wire(a))
	theirs := make([]R, len(resps))
	for i, resp := range resps {
		theirs[i] = op.result.decode(resp)
	}
	all := op.merge(mine, theirs)
	if op.settled != nil && op.settled(all) {
		return all, nil
	}
	return all, err
}

// Send carries out a command. A command for one client goes to its owner,
// which is first asked whether the client is connected (unless m.Async),
// so that an error says so as a local call would: the stream does not
// answer. A command for every node is applied here and queued once for
// each peer; peers that could not take it are named by a
// *rpc.PartialError.
func (d *Dispatcher) Send(ctx context.Context, op *Command, m Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	switch op.to {
	case toOwner:
		peer := d.owner(m.ID)
		if peer == "" {
			return op.apply(d.router, m)
		}
		if !m.Async {
			if err := d.confirm(ctx, peer, m.ID); err != nil {
				return err
			}
		}
		return d.send(peer, m.ID, op.wire(m.detached()))
	case toOwners:
		return d.sendToOwners(op, m)
	default: // toEveryNode: here, and once to each peer
		if err := op.apply(d.router, m); err != nil || d.node == nil {
			return err
		}
		return d.broadcast(op.wire(m.detached()))
	}
}

// sendToOwners applies a command for a list of clients here for this
// node's clients, and sends it once to each other node that owns some,
// with its share of the list.
func (d *Dispatcher) sendToOwners(op *Command, m Message) error {
	var local []string
	byPeer := make(map[string][]string)
	for _, id := range m.IDs {
		if peer := d.owner(id); peer == "" {
			local = append(local, id)
		} else {
			byPeer[peer] = append(byPeer[peer], id)
		}
	}
	if len(local) > 0 {
		mine := m
		mine.IDs = local
		if err := op.apply(d.router, mine); err != nil {
			return err
		}
	}
	if len(byPeer) == 0 {
		return nil
	}
	m = m.detached()
	// A peer that is gone has no clients to miss the message: not an
	// error, as a local client that is not connected is not one either.
	var pe rpc.PartialError
	for _, peer := range slices.Sorted(maps.Keys(byPeer)) {
		m.IDs = byPeer[peer]
		if err := d.node.Send(peer, op.wire(m)); err != nil && !errors.Is(err, rpc.ErrPeerUnavailable) {
			addMissing(&pe, peer, err)
		}
	}
	if len(pe.Missing) > 0 {
		return &pe
	}
	return nil
}

// owner says where the client with this id lives: the peer id of another
// node, or "" for this node. A malformed id is left to this node's router,
// which knows no such client and answers as it would for any unknown id.
func (d *Dispatcher) owner(id string) (peer string) {
	if d.node == nil {
		return ""
	}
	n, err := router.NodeOf(id)
	if err != nil || n == d.self {
		return ""
	}
	return n.String()
}

// call asks the owner of client id and turns a failed answer back into
// the error the owner's router returned.
func (d *Dispatcher) call(ctx context.Context, peer, id string, req *rpcpb.Request) (*rpcpb.Response, error) {
	resp, err := d.node.Call(ctx, peer, req)
	switch {
	case errors.Is(err, rpc.ErrPeerUnavailable):
		return nil, fmt.Errorf("%w: %s (node %s is not reachable)", router.ErrClientOffline, id, peer)
	case err != nil:
		return nil, fmt.Errorf("cluster: call node %s: %w", peer, err)
	}
	if e := resp.GetError(); e != nil {
		return nil, errorFromProto(peer, e)
	}
	return resp, nil
}

// confirm asks the owner whether a client is connected, before a command
// for it is queued: ErrClientOffline if not, as a local call would say.
func (d *Dispatcher) confirm(ctx context.Context, peer, id string) error {
	resp, err := d.call(ctx, peer, id, IsOnline.wire(Args{ID: id}))
	if err != nil {
		return err
	}
	if !IsOnline.result.decode(resp) {
		return fmt.Errorf("%w: %s (node %s)", router.ErrClientOffline, id, peer)
	}
	return nil
}

// send queues a command for the owner of client id.
func (d *Dispatcher) send(peer, id string, cmd *rpcpb.Command) error {
	err := d.node.Send(peer, cmd)
	switch {
	case errors.Is(err, rpc.ErrPeerUnavailable):
		return fmt.Errorf("%w: %s (node %s is not reachable)", router.ErrClientOffline, id, peer)
	case err != nil:
		return fmt.Errorf("cluster: send to node %s: %w", peer, err)
	}
	return nil
}

// broadcast queues a command once for every peer. Peers that could not
// take it come back as a *rpc.PartialError.
func (d *Dispatcher) broadcast(cmd *rpcpb.Command) error {
	err := d.node.Broadcast(cmd)
	var pe *rpc.PartialError
	if err != nil && !errors.As(err, &pe) {
		return fmt.Errorf("cluster: broadcast: %w", err)
	}
	return err
}

// gather asks every peer and returns the answers that came, in the order
// of the peers' ids. Peers that did not answer, or answered with an
// error, are listed in a *rpc.PartialError; any other error means nothing
// could be asked.
func (d *Dispatcher) gather(ctx context.Context, req *rpcpb.Request) ([]*rpcpb.Response, error) {
	got, err := d.node.CallAll(ctx, req)
	var pe *rpc.PartialError
	if err != nil && !errors.As(err, &pe) {
		return nil, fmt.Errorf("cluster: ask every node: %w", err)
	}
	if pe == nil {
		pe = &rpc.PartialError{}
	}
	resps := make([]*rpcpb.Response, 0, len(got))
	for _, peer := range slices.Sorted(maps.Keys(got)) {
		resp := got[peer]
		if e := resp.GetError(); e != nil {
			addMissing(pe, peer, errorFromProto(peer, e))
			continue
		}
		resps = append(resps, resp)
	}
	if len(pe.Missing) == 0 {
		return resps, nil
	}
	slices.Sort(pe.Missing)
	return resps, pe
}

func addMissing(pe *rpc.PartialError, peer string, err error) {
	if pe.Errs == nil {
		pe.Errs = make(map[string]error)
	}
	pe.Missing = append(pe.Missing, peer)
	pe.Errs[peer] = err
}
