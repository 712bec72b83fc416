// Package rpc is the transport between wsgate nodes: one long-lived,
// batched gRPC stream per peer for one-way commands (sends, closes), and
// unary calls for everything that answers.
//
// Delivery of commands: per (sending node, receiving peer) pair, commands
// are applied in the order Send accepted them, each exactly once while both
// nodes live, across stream breaks (silent peer, connection reset). Send
// never blocks: it queues, and a per-peer sender ships everything queued as
// one numbered Batch. The receiver acknowledges the batches it applied (in
// the Heartbeats it sends back, within about 10ms) and remembers the last
// one per sender session; the sender keeps each batch until acknowledged,
// and on a new stream resends from the receiver's last applied batch, whose
// duplicates the receiver drops. While the stream is down, commands wait
// (queued and unacknowledged together bounded by QueueMaxBytes) and go out
// once it is back.
//
// The limits: commands for a peer that leaves the peer set (the register
// saw it die) are dropped, queued or unacknowledged; so are the
// unacknowledged ones when the peer process restarts (a new incarnation:
// what the old one applied is unknown), and everything when this node
// closes without Flush. A receiver forgets a sender session after an hour
// without a stream; batches resent after that may be applied twice.
// Callers that need to know use Call.
//
// How the api uses it: a command or request naming one client goes to
// that client's owner node only (Send, Call); a fan-out send (to all, to
// groups, to uids) goes to every peer once (Broadcast), and each node fans
// out to its own clients; a question about the whole cluster goes to every
// peer (CallAll), and the caller merges the answers with its own and
// reports the peers that did not answer. The Node never calls itself.
//
// Liveness: the server drops a silent client connection after about 15s
// (gRPC keepalive); the sender side notices a silent server after three
// missed stream heartbeats (3s by default, longer past 8 peers: see
// streamHeartbeat), after which calls fail fast
// until the stream opens again. Peers that leave the set (the register's
// job) fail at once.
package rpc

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/keepalive"

	"github.com/wsgate/wsgate/internal/connlimit"
	"github.com/wsgate/wsgate/internal/secret"
	"github.com/wsgate/wsgate/rpc/rpcpb"
)

// Handler applies what peers send; internal/cluster implements it.
type Handler interface {
	// HandleCommand applies one command from peer from. Commands of one
	// peer arrive one at a time, in the order that peer sent them; it
	// must not block for long, as it holds up that peer's stream. cmd
	// (payload included) is the handler's to keep.
	HandleCommand(from string, cmd *rpcpb.Command)
	// HandleRequest answers one request from peer from. Requests run
	// concurrently. Failures of the request itself (client offline) go in
	// Response.Error; a returned error reaches the caller as a gRPC status.
	HandleRequest(ctx context.Context, from string, req *rpcpb.Request) (*rpcpb.Response, error)
}

// Peer is one other node of the cluster.
type Peer struct {
	ID   string
	Addr string // host:port of its rpc server
}

// Options configures a Node.
type Options struct {
	// ID is this node's ID, sent to peers with every stream and call.
	// Required.
	ID string
	// Secret is the cluster secret. Every stream and call carries it; the
	// server refuses a wrong or missing one with codes.Unauthenticated.
	// Required.
	Secret string
	// Handler applies commands and answers requests from peers. Required
	// to Serve; a node that only calls (a connection-less member) may
	// leave it nil.
	Handler Handler
	// ServerTLS, when set, makes Serve speak TLS (set ClientAuth and
	// ClientCAs for mTLS). Default: plaintext.
	ServerTLS *tls.Config
	// ClientTLS, when set, dials peers with TLS (add Certificates for
	// mTLS). Default: plaintext.
	ClientTLS *tls.Config
	// BatchMaxBytes caps one Batch message; a single larger command still
	// goes, alone. Default 1 MiB.
	BatchMaxBytes int
	// QueueMaxBytes caps the commands held for one peer, queued or sent
	// and not yet acknowledged; over it Send fails with ErrQueueFull.
	// Default 64 MiB.
	QueueMaxBytes int
	// MaxMessageBytes caps one command, request or response, on both
	// sides. Default 16 MiB.
	MaxMessageBytes int
	// CallTimeout bounds a Call or CallAll whose context has no deadline.
	// Default DefaultCallTimeout.
	CallTimeout time.Duration
	// ConnectTimeout is how long a peer may take to open its stream before
	// it counts as down: calls to it fail fast from then on. The opening
	// itself goes on, on the same connection, for up to three stream
	// heartbeats. Default 1s.
	ConnectTimeout time.Duration
	// HeartbeatInterval is how often a peer's server says it is alive on
	// the stream; after three missed, the peer counts as down (calls fail
	// fast) and its connection is redialed. Default 1s; at least 50ms.
	HeartbeatInterval time.Duration
	// MaxConns caps the connections the server holds open at once, from
	// peers or not: one over it is closed as soon as it is accepted, and
	// counted in Stats.ConnsRefused. Each peer holds one connection (a
	// restarting peer briefly two), so the bound is a few times the
	// largest expected cluster; it keeps strangers from drawing on the
	// file limit the WebSocket clients share. While strangers fill it, new
	// peers are refused too; peers already connected are not. Default
	// DefaultMaxConns.
	//
	// What a connection may hold besides is bounded too, before it has
	// shown the secret: the TLS and HTTP/2 setup must end within 5s, a
	// stream's headers within 16 KiB, and a connection with no stream open
	// (every peer always has one) is closed after a minute; streams and
	// calls without the secret are refused before any message is read.
	// With the secret, a connection carries at most
	// maxStreamsPerConn streams and calls at once (more wait), and
	// messages of at most MaxMessageBytes plus BatchMaxBytes.
	MaxConns int
	// Logger receives refusals and stream breaks. Default: discard.
	Logger *slog.Logger
}

// DefaultMaxConns is Options.MaxConns unless set: room for a cluster of
// some hundreds of nodes.
const DefaultMaxConns = 1024

// DefaultCallTimeout is Options.CallTimeout unless set, and the Api's
// (api.ClusterOptions) as well: long enough for a busy peer, short enough
// that a caller whose peer died learns it before its own client gives up.
const DefaultCallTimeout = 2 * time.Second

func (o *Options) setDefaults() error {
	switch {
	case o.ID == "":
		return errors.New("rpc: Options.ID is required")
	case o.Secret == "":
		return errors.New("rpc: Options.Secret is required")
	}
	if o.BatchMaxBytes <= 0 {
		o.BatchMaxBytes = 1 << 20
	}
	if o.QueueMaxBytes <= 0 {
		o.QueueMaxBytes = 64 << 20
	}
	if o.MaxMessageBytes <= 0 {
		o.MaxMessageBytes = 16 << 20
	}
	if o.CallTimeout <= 0 {
		o.CallTimeout = DefaultCallTimeout
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = time.Second
	}
	if o.HeartbeatInterval <= 0 {
		// The membership's default (register.DefaultHeartbeatInterval);
		// a gateway passes its own ClusterOptions value.
		o.HeartbeatInterval = time.Second
	}
	// The server sends heartbeats no faster than this, so the sender must
	// not expect them faster either.
	o.HeartbeatInterval = max(o.HeartbeatInterval, minHeartbeat)
	if o.MaxConns <= 0 {
		o.MaxConns = DefaultMaxConns
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// serverHandshakeTimeout bounds a new connection's TLS and HTTP/2 setup: a
// TCP connection that sends nothing was held for gRPC's default of 120s,
// without limit, drawing on the same file limit as the WebSocket clients.
const serverHandshakeTimeout = 5 * time.Second

// maxHeaderBytes bounds the headers of one stream or call. Ours carry a
// few short values; gRPC's default of 16 MiB let a caller without the
// secret make the server buffer that much per stream before the tap saw
// it.
const maxHeaderBytes = 16 << 10

// maxStreamsPerConn bounds the streams and calls open at once on one
// connection (gRPC's default is unbounded); a peer's calls over it wait
// for one to end. A peer has one stream, plus its calls in flight.
const maxStreamsPerConn = 1024

// maxConnIdle: a connection with no stream open this long is closed. Every
// peer keeps its Commands stream open, so this only ends connections that
// never showed the secret (their streams are refused) and those of peers
// that are gone.
const maxConnIdle = time.Minute

// Keepalive reaps connections whose other end is gone; it does not detect
// failures, which is the stream heartbeats' job (a silent server) and the
// register's (a dead client). The server pings a client that has sent
// nothing for 5s and drops it after 10s more without an answer; it lets
// clients ping every 5s or less often. Clients ping every 10s (gRPC's
// floor for clients), so the server never answers too_many_pings, and
// allow the server as long. The answer waits are long on purpose: a
// process busy for a second or two (a load spike, a machine with more
// work than cores) must keep its connections, or each reconnect adds
// handshakes to the load that made it slow. (Pinging every second cost
// each connection of the mesh a ping and its answer a second.)
var (
	serverKeepalive = keepalive.ServerParameters{Time: 5 * time.Second, Timeout: 10 * time.Second, MaxConnectionIdle: maxConnIdle}
	serverPolicy    = keepalive.EnforcementPolicy{MinTime: 5 * time.Second, PermitWithoutStream: true}
	clientKeepalive = keepalive.ClientParameters{Time: 10 * time.Second, Timeout: 10 * time.Second, PermitWithoutStream: true}
)

// Node is this node's end of the cluster transport: the gRPC server peers
// call, and a client connection, stream and queue per peer.
type Node struct {
	opts   Options
	secret secret.Hash
	server *grpc.Server
	// incarnation tells this process from an earlier one with the same
	// ID: peers drop what they sent that one and it did not acknowledge.
	incarnation uint64

	mu        sync.RWMutex
	peers     map[string]*peer
	peerCount atomic.Int32 // len(peers), for streamHeartbeat
	closed    bool

	stats counters
	conns *connlimit.Limit // bounds the server's connections
}

// New returns a Node with no peers. Call Serve to accept peers and
// SetPeers to reach them.
func New(opts Options) (*Node, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	n := &Node{
		opts:        opts,
		secret:      secret.Of(opts.Secret),
		peers:       make(map[string]*peer),
		incarnation: rand.Uint64() | 1,
		conns:       connlimit.New(opts.MaxConns),
	}
	serverOpts := []grpc.ServerOption{
		grpc.MaxRecvMsgSize(opts.MaxMessageBytes + opts.BatchMaxBytes),
		grpc.MaxSendMsgSize(opts.MaxMessageBytes),
		grpc.KeepaliveParams(serverKeepalive),
		grpc.KeepaliveEnforcementPolicy(serverPolicy),
		grpc.InTapHandle(n.tap),
		grpc.ConnectionTimeout(serverHandshakeTimeout),
		grpc.MaxHeaderListSize(maxHeaderBytes),
		grpc.MaxConcurrentStreams(maxStreamsPerConn),
	}
	if opts.ServerTLS != nil {
		serverOpts = append(serverOpts, grpc.Creds(credentials.NewTLS(opts.ServerTLS)))
	}
	n.server = grpc.NewServer(serverOpts...)
	rpcpb.RegisterNodeServer(n.server, &service{n: n})
	return n, nil
}

// ID returns this node's ID.
func (n *Node) ID() string { return n.opts.ID }

// Serve accepts peers on lis until Close, at most Options.MaxConns at
// once. It returns nil after Close and the listener's error otherwise.
func (n *Node) Serve(lis net.Listener) error {
	if n.opts.Handler == nil {
		return errors.New("rpc: Serve needs Options.Handler")
	}
	if err := n.server.Serve(n.conns.Listener(lis, serverKeepalive.Timeout)); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
		return fmt.Errorf("rpc: serve: %w", err)
	}
	return nil
}

// SetPeers replaces the peer set. New peers are dialed lazily; peers gone
// from the set lose their queued and unacknowledged commands, and their pending calls fail
// with ErrPeerUnavailable. A peer whose address changed is redialed. This
// node's own ID is skipped.
func (n *Node) SetPeers(peers []Peer) {
	want := make(map[string]Peer, len(peers))
	for _, p := range peers {
		if p.ID != n.opts.ID {
			want[p.ID] = p
		}
	}
	var gone []*peer
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return
	}
	for id, p := range n.peers {
		if w, ok := want[id]; !ok || w.Addr != p.addr {
			gone = append(gone, p)
			delete(n.peers, id)
		}
	}
	for id, w := range want {
		if _, ok := n.peers[id]; ok {
			continue
		}
		p, err := newPeer(n, w)
		if err != nil {
			n.opts.Logger.Error("rpc: peer left out", "peer", id, "err", err)
			continue
		}
		n.peers[id] = p
	}
	n.peerCount.Store(int32(len(n.peers)))
	n.mu.Unlock()
	for _, p := range gone {
		p.close("removed from the peer set")
	}
}

// peersPerBeat is how many peers a node hears from each HeartbeatInterval
// at most: past it, the streams' heartbeat interval grows with the number
// of peers.
const peersPerBeat = 8

// streamHeartbeat is the heartbeat interval a new stream asks its peer for.
// Every node beats on the stream of every peer, so a mesh of n nodes
// carries n(n-1) heartbeats an interval: 2,652 a second at 52 nodes, which
// took a third of a core on 2 cores doing nothing. Holding each node to
// about peersPerBeat heartbeats per HeartbeatInterval keeps the mesh's
// idle cost linear in its size. Liveness does not suffer where it matters:
// a node that dies or freezes leaves every peer list within the register's
// timeout, and a reset connection breaks its streams at once; the stream
// heartbeats only catch a peer that the register sees but this node cannot
// reach, in 3 intervals.
func (n *Node) streamHeartbeat() time.Duration {
	steps := max(1, (int(n.peerCount.Load())+peersPerBeat-1)/peersPerBeat)
	return min(n.opts.HeartbeatInterval*time.Duration(steps), maxHeartbeat)
}

// Peers returns the IDs of the current peers.
func (n *Node) Peers() []string {
	n.mu.RLock()
	defer n.mu.RUnlock()
	ids := make([]string, 0, len(n.peers))
	for id := range n.peers {
		ids = append(ids, id)
	}
	return ids
}

func (n *Node) peer(id string) (*peer, error) {
	n.mu.RLock()
	p, ok := n.peers[id]
	closed := n.closed
	n.mu.RUnlock()
	switch {
	case closed:
		return nil, ErrClosed
	case !ok:
		return nil, peerUnavailable(id, "not in the peer set")
	}
	return p, nil
}

func (n *Node) snapshot() []*peer {
	n.mu.RLock()
	defer n.mu.RUnlock()
	ps := make([]*peer, 0, len(n.peers))
	for _, p := range n.peers {
		ps = append(ps, p)
	}
	return ps
}

// Close stops the server (ending peers' streams and calls into this node)
// and drops every peer, with what is still queued for it. Use Flush first
// to send what is queued.
func (n *Node) Close() error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	n.closed = true
	peers := n.peers
	n.peers = nil
	n.mu.Unlock()
	n.server.Stop()
	for _, p := range peers {
		p.close("node closed")
	}
	return nil
}

// Flush waits until every peer has applied (and acknowledged) everything
// sent to it, or ctx ends. Peers whose stream is down keep their commands;
// Flush then returns
// ctx's error.
func (n *Node) Flush(ctx context.Context) error {
	for _, p := range n.snapshot() {
		if err := p.flush(ctx); err != nil {
			return fmt.Errorf("rpc: flush %s: %w", p.id, err)
		}
	}
	return nil
}

// Stats counts what this node's streams carried.
type Stats struct {
	BatchesSent      uint64 // Batch messages sent to peers, resent ones included
	BatchesResent    uint64 // of those, sent again on a new stream (unacknowledged)
	CommandsSent     uint64 // commands in them
	BytesSent        uint64 // their protobuf size plus gRPC's 5-byte message header
	BatchesReceived  uint64 // applied
	BatchesDuplicate uint64 // received again after being applied, and dropped
	CommandsReceived uint64 // applied
	Refused          uint64 // streams and calls refused for a wrong secret, before any message was read
	Conns            int64  // connections the server holds open now
	ConnsRefused     uint64 // connections closed at accept, over Options.MaxConns
}

type counters struct {
	batchesSent, batchesResent, commandsSent, bytesSent atomic.Uint64
	batchesReceived, batchesDuplicate, commandsReceived atomic.Uint64
	refused                                             atomic.Uint64
}

// Stats returns the counters since New.
func (n *Node) Stats() Stats {
	return Stats{
		BatchesSent:      n.stats.batchesSent.Load(),
		BatchesResent:    n.stats.batchesResent.Load(),
		BatchesDuplicate: n.stats.batchesDuplicate.Load(),
		CommandsSent:     n.stats.commandsSent.Load(),
		BytesSent:        n.stats.bytesSent.Load(),
		BatchesReceived:  n.stats.batchesReceived.Load(),
		CommandsReceived: n.stats.commandsReceived.Load(),
		Refused:          n.stats.refused.Load(),
		Conns:            n.conns.Open(),
		ConnsRefused:     n.conns.Refused(),
	}
}
