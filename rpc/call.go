package rpc

import (
	"context"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/wsgate/wsgate/rpc/rpcpb"
)

// Call sends req to peer peerID and waits for its answer, until ctx ends or
// CallTimeout if ctx has no deadline. It fails at once with an error
// matching ErrPeerUnavailable (and codes.Unavailable) if the peer is not in
// the set, is down, cannot be connected, or is removed while the call is
// pending. Other gRPC failures come back with their status.
func (n *Node) Call(ctx context.Context, peerID string, req *rpcpb.Request) (*rpcpb.Response, error) {
	p, err := n.peer(peerID)
	if err != nil {
		return nil, err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, n.opts.CallTimeout)
		defer cancel()
	}
	return p.call(ctx, req)
}

func (p *peer) call(ctx context.Context, req *rpcpb.Request) (*rpcpb.Response, error) {
	if p.down.Load() {
		return nil, peerUnavailable(p.id, "not answering")
	}
	resp, err := rpcpb.NewNodeClient(p.conn.Load()).Call(ctx, req)
	if err == nil {
		return resp, nil
	}
	switch {
	case p.isClosed():
		return nil, peerUnavailable(p.id, "removed from the peer set")
	case status.Code(err) == codes.Unavailable:
		return nil, peerUnavailable(p.id, status.Convert(err).Message())
	case status.Code(err) == codes.Canceled && ctx.Err() == nil:
		// The connection was replaced under the call: the peer went silent.
		return nil, peerUnavailable(p.id, "connection reset")
	}
	return nil, fmt.Errorf("rpc: call %s: %w", p.id, err)
}

// CallAll sends req to every peer at once (not to this node) and returns
// the answers that arrived before ctx ended (CallTimeout if ctx has no
// deadline), by peer ID. If some peers did not answer, it also returns a
// *PartialError naming them. It returns by the deadline even if a peer
// hangs.
func (n *Node) CallAll(ctx context.Context, req *rpcpb.Request) (map[string]*rpcpb.Response, error) {
	n.mu.RLock()
	closed := n.closed
	n.mu.RUnlock()
	if closed {
		return nil, ErrClosed
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, n.opts.CallTimeout)
		defer cancel()
	}
	type answer struct {
		peer string
		resp *rpcpb.Response
		err  error
	}
	peers := n.snapshot()
	answers := make(chan answer, len(peers)) // buffered: late answers never block
	for _, p := range peers {
		go func() {
			resp, err := p.call(ctx, req)
			answers <- answer{p.id, resp, err}
		}()
	}
	got := make(map[string]*rpcpb.Response, len(peers))
	var missing PartialError
	pending := make(map[string]bool, len(peers))
	for _, p := range peers {
		pending[p.id] = true
	}
	for len(pending) > 0 {
		select {
		case a := <-answers:
			delete(pending, a.peer)
			if a.err != nil {
				missing.add(a.peer, a.err)
			} else {
				got[a.peer] = a.resp
			}
		case <-ctx.Done():
			for id := range pending {
				missing.add(id, fmt.Errorf("rpc: call %s: %w", id, ctx.Err()))
			}
			clear(pending)
		}
	}
	return got, missing.orNil()
}
