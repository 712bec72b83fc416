package rpc

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"strconv"
	"sync"
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

// Bounds of the heartbeat interval a peer may ask for.
const (
	minHeartbeat = 50 * time.Millisecond
	maxHeartbeat = 30 * time.Second
)

// service is the gRPC face of a Node: what peers call.
type service struct {
	rpcpb.UnimplementedNodeServer
	n *Node

	mu      sync.Mutex
	senders map[string]*sender // by peer ID, while a stream of theirs is open
}

// sender serializes the streams of one peer. A peer opens a new stream
// only after it saw the old one break, but this side may not have noticed
// yet: the newest stream wins, and what the old one still delivers is
// dropped (it was in flight when the stream broke), so commands of one
// peer are applied one at a time and in order.
type sender struct {
	mu      sync.Mutex // held while applying a batch
	newest  uint64     // generation of the stream that may apply
	streams int        // open streams of this peer
}

// join registers a new stream of peer from and makes it the newest.
func (s *service) join(from string) (*sender, uint64) {
	s.mu.Lock()
	if s.senders == nil {
		s.senders = make(map[string]*sender)
	}
	sd := s.senders[from]
	if sd == nil {
		sd = &sender{}
		s.senders[from] = sd
	}
	sd.streams++
	s.mu.Unlock()
	sd.mu.Lock() // waits for the batch an older stream is applying
	sd.newest++
	gen := sd.newest
	sd.mu.Unlock()
	return sd, gen
}

func (s *service) leave(from string, sd *sender) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sd.streams--; sd.streams == 0 {
		delete(s.senders, from)
	}
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
		interval = min(max(time.Duration(ms)*time.Millisecond, minHeartbeat), maxHeartbeat)
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
	sd, gen := s.join(from)
	defer s.leave(from, sd)
	h := s.n.opts.Handler
	for {
		batch, err := stream.Recv()
		if err != nil {
			return err
		}
		sd.mu.Lock()
		if sd.newest != gen {
			sd.mu.Unlock()
			return status.Error(codes.Aborted, "superseded by a newer stream from "+from)
		}
		s.n.stats.batchesReceived.Add(1)
		s.n.stats.commandsReceived.Add(uint64(len(batch.Commands)))
		for _, cmd := range batch.Commands {
			s.apply(h, from, cmd)
		}
		sd.mu.Unlock()
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
	resp, err := s.answer(ctx, from, req)
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

// apply runs the handler on one command; a panic in it is logged and the
// stream goes on, so one bad command cannot take the node down.
func (s *service) apply(h Handler, from string, cmd *rpcpb.Command) {
	defer func() {
		if v := recover(); v != nil {
			s.n.opts.Logger.Error("rpc: HandleCommand panicked", "peer", from, "panic", v)
		}
	}()
	h.HandleCommand(from, cmd)
}

// answer runs the handler on one request; a panic becomes codes.Internal.
func (s *service) answer(ctx context.Context, from string, req *rpcpb.Request) (resp *rpcpb.Response, err error) {
	defer func() {
		if v := recover(); v != nil {
			s.n.opts.Logger.Error("rpc: HandleRequest panicked", "peer", from, "panic", v)
			resp, err = nil, status.Error(codes.Internal, "handler panicked")
		}
	}()
	return s.n.opts.Handler.HandleRequest(ctx, from, req)
}
