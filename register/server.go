package register

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/wsgate/wsgate/internal/connlimit"
	"github.com/wsgate/wsgate/internal/secret"
	"github.com/wsgate/wsgate/register/registerpb"
)

// ServerOptions configures a register Server.
type ServerOptions struct {
	// Secret is the cluster secret every node must present. Required.
	Secret string
	// HeartbeatInterval is how often the register sends each node a
	// heartbeat. Default DefaultHeartbeatInterval.
	HeartbeatInterval time.Duration
	// HeartbeatTimeout is how long a node may stay silent before it leaves
	// the list; it also bounds how long a new stream may take to say
	// hello. Default DefaultHeartbeatTimeout.
	HeartbeatTimeout time.Duration
	// TLS, when set, makes the register serve TLS (set ClientAuth and
	// ClientCAs for mTLS). Default: plaintext.
	TLS *tls.Config
	// MaxConns caps the connections the register holds open at once: one
	// over it is closed as soon as it is accepted, and counted in
	// Stats().ConnsRefused. Each node holds one connection (a restarting
	// node briefly two), so the bound is a few times the largest expected
	// cluster; it keeps strangers from drawing on the process's file limit.
	// While strangers fill it, new nodes are refused too; nodes already
	// registered are not. Default DefaultMaxConns.
	//
	// Before a node has shown the secret, what its connection may hold is
	// bounded too: the TLS and HTTP/2 setup must end within 5s, a stream's
	// headers within 16 KiB, its hello within maxNodeMessage bytes and
	// HeartbeatTimeout, and a connection with no stream open (a registered
	// node always has one) is closed after a minute.
	MaxConns int
	// Logger receives joins, leaves and refusals. Default: discard.
	Logger *slog.Logger
}

// DefaultMaxConns is ServerOptions.MaxConns unless set: room for a
// cluster of some hundreds of nodes.
const DefaultMaxConns = 1024

func (o *ServerOptions) setDefaults() error {
	if o.Secret == "" {
		return errors.New("register: ServerOptions.Secret is required")
	}
	if o.HeartbeatInterval <= 0 {
		o.HeartbeatInterval = DefaultHeartbeatInterval
	}
	if o.HeartbeatTimeout <= 0 {
		o.HeartbeatTimeout = DefaultHeartbeatTimeout
	}
	if o.MaxConns <= 0 {
		o.MaxConns = DefaultMaxConns
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// maxNodeMessage bounds what a node may send in one message; the largest
// legitimate one is a Hello of a few hundred bytes.
const maxNodeMessage = 4 << 10

// maxHeaderBytes bounds a stream's headers: a node sends none of its own,
// and gRPC's default of 16 MiB is that much buffered for a stranger.
const maxHeaderBytes = 16 << 10

// maxConnIdle: a connection with no stream open this long is closed. A
// registered node keeps its Join stream open, so this only ends
// connections that never joined and those of nodes that are gone.
const maxConnIdle = time.Minute

// Server is the register: it keeps the list of live nodes and pushes it to
// every node on each change.
type Server struct {
	opts     ServerOptions
	secret   secret.Hash
	grpc     *grpc.Server
	quit     chan struct{} // closed by Stop and GracefulStop
	quitOnce sync.Once
	conns    *connlimit.Limit // bounds the open connections

	mu      sync.Mutex
	members map[string]*member // by node ID
}

// member is one live registration: a node and the stream that holds it.
type member struct {
	peer     Peer
	changed  chan struct{} // capacity 1: the list changed since last sent
	replaced chan struct{} // closed when a newer registration takes the ID
}

// NewServer returns a register ready to Serve.
func NewServer(opts ServerOptions) (*Server, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	s := &Server{
		opts:    opts,
		secret:  secret.Of(opts.Secret),
		quit:    make(chan struct{}),
		members: make(map[string]*member),
		conns:   connlimit.New(opts.MaxConns),
	}
	grpcOpts := []grpc.ServerOption{
		grpc.MaxRecvMsgSize(maxNodeMessage),
		grpc.MaxHeaderListSize(maxHeaderBytes),
		// A connection that does not finish its TLS and HTTP/2 setup
		// within 5s is dropped (gRPC's default holds it for 120s).
		grpc.ConnectionTimeout(5 * time.Second),
		grpc.KeepaliveParams(keepalive.ServerParameters{MaxConnectionIdle: maxConnIdle}),
	}
	if opts.TLS != nil {
		grpcOpts = append(grpcOpts, grpc.Creds(credentials.NewTLS(opts.TLS)))
	}
	s.grpc = grpc.NewServer(grpcOpts...)
	registerpb.RegisterRegisterServer(s.grpc, &service{s: s})
	return s, nil
}

// grpcKeepaliveTimeout is gRPC's default keepalive timeout, which its
// server sets as TCP_USER_TIMEOUT on the connections it accepts unwrapped.
const grpcKeepaliveTimeout = 20 * time.Second

// Serve accepts nodes on lis until Stop or GracefulStop, at most
// ServerOptions.MaxConns at once. It returns nil after a stop, and the
// listener's error otherwise.
func (s *Server) Serve(lis net.Listener) error {
	s.opts.Logger.Info("register serving", "addr", lis.Addr().String())
	if err := s.grpc.Serve(s.conns.Listener(lis, grpcKeepaliveTimeout)); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
		return fmt.Errorf("register: serve: %w", err)
	}
	return nil
}

// GracefulStop ends every node's stream with codes.Unavailable, so nodes
// fail over to other registers at once, and waits for the streams to end.
func (s *Server) GracefulStop() {
	s.quitOnce.Do(func() { close(s.quit) })
	s.grpc.GracefulStop()
}

// Stop closes every connection at once.
func (s *Server) Stop() {
	s.quitOnce.Do(func() { close(s.quit) })
	s.grpc.Stop()
}

// ServerStats are a register's connection counts.
type ServerStats struct {
	Conns        int64  // connections held open now
	ConnsRefused uint64 // connections closed at accept, over ServerOptions.MaxConns
}

// Stats returns the connection counts since NewServer.
func (s *Server) Stats() ServerStats {
	return ServerStats{Conns: s.conns.Open(), ConnsRefused: s.conns.Refused()}
}

// Peers returns the registered nodes, sorted by ID.
func (s *Server) Peers() []Peer {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.listLocked()
}

func (s *Server) listLocked() []Peer {
	list := make([]Peer, 0, len(s.members))
	for _, m := range s.members {
		list = append(list, m.peer)
	}
	sortPeers(list)
	return list
}

// add registers m, replacing a registration of the same ID whose
// incarnation is not larger, and tells every member the list changed.
func (s *Server) add(m *member) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.members[m.peer.ID]; ok {
		if old.peer.Incarnation > m.peer.Incarnation {
			return status.Errorf(codes.FailedPrecondition,
				"node %q is registered with a newer incarnation", m.peer.ID)
		}
		close(old.replaced)
	}
	s.members[m.peer.ID] = m
	s.notifyLocked()
	return nil
}

// remove drops m unless a newer registration already replaced it.
func (s *Server) remove(m *member) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.members[m.peer.ID] != m {
		return false
	}
	delete(s.members, m.peer.ID)
	s.notifyLocked()
	return true
}

func (s *Server) notifyLocked() {
	for _, m := range s.members {
		select {
		case m.changed <- struct{}{}:
		default: // a send is already pending; it will carry the newest list
		}
	}
}

// service implements the generated gRPC interface on behalf of a Server.
type service struct {
	registerpb.UnimplementedRegisterServer
	s *Server
}

// Join holds one node's registration for as long as the stream lives.
func (svc *service) Join(stream registerpb.Register_JoinServer) error {
	s := svc.s
	remote := "unknown"
	if p, ok := peer.FromContext(stream.Context()); ok {
		remote = p.Addr.String()
	}

	// Recv runs in its own goroutine; it ends when Join returns.
	incoming, recvErr := receive(stream.Context(), stream.Recv)

	silence := time.NewTimer(s.opts.HeartbeatTimeout)
	defer silence.Stop()

	var hello *registerpb.Hello
	select {
	case msg := <-incoming:
		hello = msg.GetHello()
	case err := <-recvErr:
		return err
	case <-silence.C:
		s.opts.Logger.Warn("register: no hello in time", "remote", remote)
		return status.Error(codes.DeadlineExceeded, "no hello within the heartbeat timeout")
	case <-s.quit:
		return status.Error(codes.Unavailable, "register shutting down")
	}
	if hello == nil {
		return status.Error(codes.InvalidArgument, "first message must be a hello")
	}
	if !s.secret.Matches(hello.GetSecret()) {
		s.opts.Logger.Warn("register: wrong secret", "remote", remote)
		return status.Error(codes.Unauthenticated, "wrong secret")
	}
	node := peerFromProto(hello.GetNode())
	if node.ID == "" || node.Addr == "" || len(node.ID) > maxIDLen || len(node.Addr) > maxAddrLen {
		return status.Errorf(codes.InvalidArgument,
			"node id and addr must be 1 to %d bytes", maxIDLen)
	}

	m := &member{peer: node, changed: make(chan struct{}, 1), replaced: make(chan struct{})}
	if err := s.add(m); err != nil {
		s.opts.Logger.Warn("register: stale registration refused", "node", node.ID, "remote", remote)
		return err
	}
	s.opts.Logger.Info("node joined", "node", node.ID, "addr", node.Addr,
		"incarnation", node.Incarnation, "remote", remote)
	leave := func(why string) {
		if s.remove(m) {
			s.opts.Logger.Info("node left", "node", node.ID, "why", why, "remote", remote)
		}
	}

	heartbeat := time.NewTicker(s.opts.HeartbeatInterval)
	defer heartbeat.Stop()
	silence.Reset(s.opts.HeartbeatTimeout)
	for {
		select {
		case <-m.changed:
			s.mu.Lock()
			list := s.listLocked()
			s.mu.Unlock()
			if err := stream.Send(peerListMessage(list)); err != nil {
				leave("send failed")
				return err
			}
		case <-heartbeat.C:
			if err := stream.Send(registerHeartbeat); err != nil {
				leave("send failed")
				return err
			}
		case msg := <-incoming:
			silence.Reset(s.opts.HeartbeatTimeout)
			if msg.GetLeave() != nil {
				leave("goodbye")
				return nil
			}
		case err := <-recvErr:
			leave("stream closed")
			return err
		case <-silence.C:
			leave("heartbeat timeout")
			return status.Error(codes.DeadlineExceeded, "no heartbeat within the timeout")
		case <-m.replaced:
			s.opts.Logger.Info("node re-registered; old stream closed", "node", node.ID, "remote", remote)
			return status.Error(codes.Aborted, "replaced by a newer registration of the same node")
		case <-s.quit:
			leave("register shutting down")
			return status.Error(codes.Unavailable, "register shutting down")
		}
	}
}

var registerHeartbeat = &registerpb.RegisterMessage{
	Kind: &registerpb.RegisterMessage_Heartbeat{Heartbeat: &registerpb.Heartbeat{}},
}

func peerListMessage(list []Peer) *registerpb.RegisterMessage {
	peers := make([]*registerpb.Peer, len(list))
	for i, p := range list {
		peers[i] = peerToProto(p)
	}
	return &registerpb.RegisterMessage{
		Kind: &registerpb.RegisterMessage_Peers{Peers: &registerpb.PeerList{Peers: peers}},
	}
}
