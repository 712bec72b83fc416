package rpc

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"strconv"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	grpcpeer "google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/wsgate/wsgate/rpc/rpcpb"
)

// Metadata keys every stream and call carries.
const (
	mdSecret    = "wsgate-secret"
	mdNode      = "wsgate-node"
	mdHeartbeat = "wsgate-heartbeat-ms" // on Commands: how often to send a Heartbeat
)

// service is the gRPC face of a Node: what peers call.
type service struct {
	rpcpb.UnimplementedNodeServer
	n *Node
}

// authenticate checks the cluster secret (constant time, on hashes so the
// length leaks nothing either) and returns the caller's node ID.
func (s *service) authenticate(ctx context.Context, method string) (string, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	secret, from := first(md, mdSecret), first(md, mdNode)
	h := sha256.Sum256([]byte(secret))
	if subtle.ConstantTimeCompare(h[:], s.n.secretHash[:]) != 1 || from == "" {
		remote := "unknown"
		if p, ok := grpcpeer.FromContext(ctx); ok {
			remote = p.Addr.String()
		}
		s.n.opts.Logger.Warn("rpc: refused peer: wrong secret or no node ID",
			"method", method, "remote", remote, "node", from)
		return "", status.Error(codes.Unauthenticated, "wrong secret or no node ID")
	}
	return from, nil
}

func first(md metadata.MD, key string) string {
	if v := md.Get(key); len(v) > 0 {
		return v[0]
	}
	return ""
}

// Commands applies a peer's batches in order. It greets the peer with a
// Heartbeat at once (so the peer knows it was accepted) and then keeps
// sending them at the interval the peer asked for.
func (s *service) Commands(stream rpcpb.Node_CommandsServer) error {
	ctx := stream.Context()
	from, err := s.authenticate(ctx, "Commands")
	if err != nil {
		return err
	}
	interval := time.Second
	md, _ := metadata.FromIncomingContext(ctx)
	if ms, err := strconv.Atoi(first(md, mdHeartbeat)); err == nil {
		interval = min(max(time.Duration(ms)*time.Millisecond, 50*time.Millisecond), 30*time.Second)
	}
	if err := stream.Send(&rpcpb.Heartbeat{}); err != nil {
		return err
	}
	// The heartbeat goroutine is the only sender from here on; it must be
	// gone before the handler returns.
	stop, stopped := make(chan struct{}), make(chan struct{})
	defer func() { close(stop); <-stopped }()
	go func() {
		defer close(stopped)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				if stream.Send(&rpcpb.Heartbeat{}) != nil {
					return
				}
			case <-stop:
				return
			}
		}
	}()
	h := s.n.opts.Handler
	for {
		batch, err := stream.Recv()
		if err != nil {
			return err
		}
		s.n.stats.batchesReceived.Add(1)
		s.n.stats.commandsReceived.Add(uint64(len(batch.Commands)))
		for _, cmd := range batch.Commands {
			h.HandleCommand(from, cmd)
		}
	}
}

// Call answers one request through the Handler.
func (s *service) Call(ctx context.Context, req *rpcpb.Request) (*rpcpb.Response, error) {
	from, err := s.authenticate(ctx, "Call")
	if err != nil {
		return nil, err
	}
	if req.GetKind() == nil {
		return nil, status.Error(codes.InvalidArgument, "empty request")
	}
	resp, err := s.n.opts.Handler.HandleRequest(ctx, from, req)
	if err != nil {
		if _, ok := status.FromError(err); ok {
			return nil, err
		}
		return nil, status.Error(codes.Internal, err.Error())
	}
	if resp == nil {
		return nil, status.Error(codes.Internal, "handler returned no response")
	}
	return resp, nil
}
