package cluster

import (
	"context"
	"errors"

	"github.com/wsgate/wsgate/rpc"
	"github.com/wsgate/wsgate/rpc/rpcpb"
)

// NodeViews asks every peer for its figures, for the operator's cluster
// page. It is not an Api operation: nothing merges the answers, and the
// Handler answers it from its view function rather than from its router.
// Peers that did not answer are in missing, with why; err is for a
// failure to ask at all.
func (d *Dispatcher) NodeViews(ctx context.Context) (views []*rpcpb.NodeView, missing map[string]error, err error) {
	if d.node == nil {
		return nil, nil, nil
	}
	resps, err := d.gather(ctx, &rpcpb.Request{Kind: &rpcpb.Request_GetNodeView{GetNodeView: &rpcpb.Empty{}}})
	var pe *rpc.PartialError
	switch {
	case errors.As(err, &pe):
		missing = pe.Errs
	case err != nil:
		return nil, nil, err
	}
	for _, r := range resps {
		if v := r.GetNodeView(); v != nil {
			views = append(views, v)
		}
	}
	return views, missing, nil
}
