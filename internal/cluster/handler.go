package cluster

import (
	"context"
	"errors"
	"log/slog"
	"reflect"

	"github.com/wsgate/wsgate/router"
	"github.com/wsgate/wsgate/rpc/rpcpb"
)

// request is what the receiving side needs of a Request[R] of any R.
type request interface {
	kind() reflect.Type
	serve(*router.Router, Args) *rpcpb.Response
}

func (op *Request[R]) kind() reflect.Type {
	t, _ := wireKind(op.wire(Args{}).GetKind())
	return t
}

// serve answers the request from this node's router.
func (op *Request[R]) serve(r *router.Router, a Args) *rpcpb.Response {
	v, err := op.apply(r, a)
	if err != nil {
		return &rpcpb.Response{Result: &rpcpb.Response_Error{Error: errorToProto(err)}}
	}
	return op.result.encode(v)
}

// Handler applies what peers send straight to this node's router: the
// sending node checked each call already (context, UTF-8, close code), and
// peers hold the cluster secret. A fan-out command is encoded into one
// frame here and shared by every local recipient.
type Handler struct {
	router   *router.Router
	log      *slog.Logger
	requests map[reflect.Type]request  // by the Go type of Request.Kind
	commands map[reflect.Type]*Command // by the Go type of Command.Kind
	view     func() *rpcpb.NodeView    // answers GetNodeView; nil: not served
}

// NewHandler returns the rpc handler of a node whose clients are in r.
// view, if not nil, gives the node's figures for the operator's cluster
// page (NodeViews).
func NewHandler(r *router.Router, log *slog.Logger, view func() *rpcpb.NodeView) *Handler {
	h := &Handler{
		router:   r,
		log:      log,
		view:     view,
		requests: make(map[reflect.Type]request),
		commands: make(map[reflect.Type]*Command),
	}
	for _, op := range requests() {
		h.requests[op.kind()] = op
	}
	for _, op := range commands() {
		t, _ := wireKind(op.wire(Message{}).GetKind())
		h.commands[t] = op
	}
	return h
}

// HandleCommand applies one command. Its failures have nobody to go to
// (the sender did not wait); those other than a client being gone are
// logged.
func (h *Handler) HandleCommand(from string, cmd *rpcpb.Command) {
	t, m := wireKind(cmd.GetKind())
	op := h.commands[t]
	if op == nil {
		h.log.Warn("cluster: unknown command from peer", "peer", from)
		return
	}
	if err := op.apply(h.router, messageOf(m)); err != nil && !errors.Is(err, router.ErrClientOffline) {
		h.log.Warn("cluster: command from peer failed", "peer", from, "err", err)
	}
}

// HandleRequest answers one request from this node's share of the cluster.
func (h *Handler) HandleRequest(_ context.Context, _ string, req *rpcpb.Request) (*rpcpb.Response, error) {
	if _, ok := req.GetKind().(*rpcpb.Request_GetNodeView); ok && h.view != nil {
		return &rpcpb.Response{Result: &rpcpb.Response_NodeView{NodeView: h.view()}}, nil
	}
	t, m := wireKind(req.GetKind())
	op := h.requests[t]
	if op == nil {
		return &rpcpb.Response{Result: &rpcpb.Response_Error{Error: &rpcpb.Error{
			Code: rpcpb.Error_INVALID, Message: "unknown request",
		}}}, nil
	}
	return op.serve(h.router, argsOf(m)), nil
}
