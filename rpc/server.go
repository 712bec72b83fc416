package rpc

import (
	"context"
	"log/slog"
	"path"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	grpcpeer "google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/tap"

	"github.com/wsgate/wsgate/internal/safecall"
	"github.com/wsgate/wsgate/rpc/rpcpb"
)

// Metadata keys every stream and call carries.
const (
	mdSecret    = "wsgate-secret"
	mdNode      = "wsgate-node"
	mdHeartbeat = "wsgate-heartbeat-ms" // on Commands: how often to send a Heartbeat
	mdSession   = "wsgate-session"      // on Commands: the sender's session, numbering its batches
)

// ackDelay is the longest a receiver waits before acknowledging applied
// batches, and the shortest time between two acknowledgements: one
// Heartbeat covers every batch applied meanwhile, so a busy stream costs
// at most one message back per ackDelay.
const ackDelay = 10 * time.Millisecond

// Receivers remember what each sender session applied, to drop resent
// duplicates; a sender gone (no stream) for senderTTL is forgotten, and at
// most maxSessions sessions are kept per sender node.
const (
	senderTTL   = time.Hour
	maxSessions = 4
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
	senders map[string]*sender // by peer ID; forgotten senderTTL after their last stream
}

// sender serializes the streams of one peer and remembers what its
// sessions applied. A peer opens a new stream only after it saw the old
// one break, but this side may not have noticed yet: the newest stream
// wins, and what the old one still delivers is dropped (the peer resends
// it), so commands of one peer are applied one at a time and in order.
type sender struct {
	mu       sync.Mutex // held while applying a batch
	newest   uint64     // generation of the stream that may apply
	sessions []*session // most recently joined last

	streams   int       // open streams of this peer; guarded by service.mu
	idleSince time.Time // when streams dropped to 0; guarded by service.mu
}

// session is what one sender session has applied.
type session struct {
	id      string
	applied uint64 // highest seq applied
}

// join registers a new stream of peer from, in session sid, and makes it
// the newest. It returns the stream's generation, the session's state and
// what it applied so far; that is final, as no older stream applies
// anything after join.
func (s *service) join(from, sid string) (sd *sender, gen uint64, ss *session, applied uint64) {
	now := time.Now()
	s.mu.Lock()
	if s.senders == nil {
		s.senders = make(map[string]*sender)
	}
	for id, x := range s.senders {
		if x.streams == 0 && now.Sub(x.idleSince) > senderTTL {
			delete(s.senders, id)
		}
	}
	sd = s.senders[from]
	if sd == nil {
		sd = &sender{}
		s.senders[from] = sd
	}
	sd.streams++
	s.mu.Unlock()
	sd.mu.Lock() // waits for the batch an older stream is applying
	defer sd.mu.Unlock()
	sd.newest++
	for i, x := range sd.sessions {
		if x.id == sid {
			ss = x
			sd.sessions = append(sd.sessions[:i], sd.sessions[i+1:]...)
			break
		}
	}
	if ss == nil {
		ss = &session{id: sid}
		if len(sd.sessions) >= maxSessions {
			sd.sessions = append(sd.sessions[:0], sd.sessions[1:]...)
		}
	}
	sd.sessions = append(sd.sessions, ss)
	return sd, sd.newest, ss, ss.applied
}

func (s *service) leave(sd *sender) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sd.streams--; sd.streams == 0 {
		sd.idleSince = time.Now()
	}
}

// authenticate checks the cluster secret and returns the caller's node ID.
func (s *service) authenticate(ctx context.Context, method string) (string, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	from := first(md, mdNode)
	if !s.n.admits(md) {
		logRefusal(ctx, s.n.opts.Logger, method, from)
		return "", status.Error(codes.Unauthenticated, "wrong secret or no node ID")
	}
	return from, nil
}

// admits reports whether a stream's or call's metadata carries the secret
// and a node ID.
func (n *Node) admits(md metadata.MD) bool {
	return n.secret.Matches(first(md, mdSecret)) && first(md, mdNode) != ""
}

// tap refuses a stream or call without the secret before the server reads
// any of its messages: unauthenticated, a 16 MiB call was read in full
// (and 20 at once took a node from 18 to 569 MB) before the handler
// refused it. The handlers check again, and log the refusal.
func (n *Node) tap(ctx context.Context, info *tap.Info) (context.Context, error) {
	if !n.admits(info.Header) {
		n.stats.refused.Add(1)
		logRefusal(ctx, n.opts.Logger, path.Base(info.FullMethodName), first(info.Header, mdNode))
		return nil, status.Error(codes.Unauthenticated, "wrong secret or no node ID")
	}
	return ctx, nil
}

func logRefusal(ctx context.Context, log *slog.Logger, method, from string) {
	remote := "unknown"
	if p, ok := grpcpeer.FromContext(ctx); ok {
		remote = p.Addr.String()
	}
	log.Warn("rpc: refused peer: wrong secret or no node ID", "method", method, "remote", remote, "node", from)
}

func first(md metadata.MD, key string) string {
	if v := md.Get(key); len(v) > 0 {
		return v[0]
	}
	return ""
}

// Commands applies a peer's batches in order, each once. It greets the
// peer with a Heartbeat at once, telling it what its session applied (so
// it resends the rest) and which process this is, then keeps sending
// Heartbeats at the interval the peer asked for, and soon after applying
// batches, to acknowledge them.
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
	sd, gen, ss, done := s.join(from, first(md, mdSession))
	defer s.leave(sd)
	var applied atomic.Uint64 // what the heartbeats acknowledge
	applied.Store(done)
	if err := stream.Send(&rpcpb.Heartbeat{Acked: done, Incarnation: s.n.incarnation}); err != nil {
		return err
	}
	// The heartbeat goroutine is the only sender from here on; it must be
	// gone before the handler returns.
	stop, stopped := make(chan struct{}), make(chan struct{})
	wake := make(chan struct{}, 1) // a batch was applied
	defer func() { close(stop); <-stopped }()
	go func() {
		defer close(stopped)
		s.beat(stream, interval, &applied, wake, stop)
	}()
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
		seq := batch.GetSeq()
		if seq != 0 && ss.applied != 0 && seq <= ss.applied {
			// Applied already: the peer resent it, not knowing.
			sd.mu.Unlock()
			s.n.stats.batchesDuplicate.Add(1)
			continue
		}
		if seq != 0 && ss.applied != 0 && seq != ss.applied+1 {
			s.n.opts.Logger.Error("rpc: batches missing from peer", "peer", from,
				"applied", ss.applied, "got", seq)
		}
		s.n.stats.batchesReceived.Add(1)
		s.n.stats.commandsReceived.Add(uint64(len(batch.Commands)))
		for _, cmd := range batch.Commands {
			s.apply(h, from, cmd)
		}
		if seq != 0 {
			ss.applied = seq
		}
		sd.mu.Unlock()
		if seq != 0 {
			applied.Store(seq)
			select {
			case wake <- struct{}{}:
			default:
			}
		}
	}
}

// beat sends the stream's Heartbeats, every interval and, after a wake,
// to acknowledge applied batches: at once if none went out within
// ackDelay, else once ackDelay has passed.
func (s *service) beat(stream rpcpb.Node_CommandsServer, interval time.Duration,
	applied *atomic.Uint64, wake, stop <-chan struct{}) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	pause := time.NewTimer(ackDelay)
	defer pause.Stop()
	sentAck := applied.Load()
	for {
		ack := false
		select {
		case <-tick.C:
		case <-wake:
			if applied.Load() == sentAck {
				continue
			}
			ack = true
		case <-stop:
			return
		}
		sentAck = applied.Load()
		if stream.Send(&rpcpb.Heartbeat{Acked: sentAck}) != nil {
			return
		}
		if ack {
			// Batches applied meanwhile wait for the next acknowledgement.
			pause.Reset(ackDelay)
			select {
			case <-pause.C:
			case <-stop:
				return
			}
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
	if p := safecall.Run(func() { h.HandleCommand(from, cmd) }); p != nil {
		p.Log(s.n.opts.Logger, "HandleCommand", "peer", from)
	}
}

// answer runs the handler on one request; a panic becomes codes.Internal.
func (s *service) answer(ctx context.Context, from string, req *rpcpb.Request) (resp *rpcpb.Response, err error) {
	if p := safecall.Run(func() { resp, err = s.n.opts.Handler.HandleRequest(ctx, from, req) }); p != nil {
		p.Log(s.n.opts.Logger, "HandleRequest", "peer", from)
		return nil, status.Error(codes.Internal, "handler panicked")
	}
	return resp, err
}
