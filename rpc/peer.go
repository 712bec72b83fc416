package rpc

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/wsgate/wsgate/rpc/rpcpb"
)

// peer is one other node as seen from here: a client connection, the
// queue of commands waiting for its stream, and the sender goroutine that
// keeps the stream up and ships the queue in batches.
type peer struct {
	n    *Node
	id   string
	addr string

	conn atomic.Pointer[grpc.ClientConn] // replaced when the peer goes silent
	// down is set when the peer stopped answering (no heartbeat, or the
	// stream did not open in time) and cleared when a stream opens; calls
	// fail fast meanwhile.
	down atomic.Bool

	ctx    context.Context // ends when the peer leaves the set
	cancel context.CancelFunc
	done   chan struct{} // closed when the sender has returned

	wake chan struct{} // capacity 1: the queue got something

	// sessionID numbers this peer's batches: the receiver keeps what it
	// applied per (this node, session), so a new peer (after a restart or
	// a re-add) starts from seq 1 without being taken for a duplicate.
	sessionID uint64

	mu           sync.Mutex
	closed       bool
	queue        []queued
	queued       int           // bytes in queue
	unacked      []sentBatch   // sent, not yet acknowledged, by ascending seq
	unackedBytes int           // bytes in unacked
	lastSeq      uint64        // seq of the newest batch
	receiver     uint64        // the receiver's incarnation, from its last greeting
	drained      chan struct{} // closed when queue and unacked are both empty
}

// sentBatch is a batch kept until the receiver acknowledges it, to be
// resent on a new stream if the old one broke first.
type sentBatch struct {
	batch *rpcpb.Batch
	bytes int // commands' encoded size, counted against QueueMaxBytes
	wire  int // size on the wire, for Stats
}

// queued is one command waiting to be sent, with its encoded size.
type queued struct {
	cmd  *rpcpb.Command
	size int
}

// wireSize is what a command of size bytes adds to a Batch: its field tag,
// length prefix and bytes.
func wireSize(size int) int { return 1 + protowire.SizeVarint(uint64(size)) + size }

func newPeer(n *Node, p Peer) (*peer, error) {
	conn, err := n.dial(p.Addr)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	pr := &peer{
		n: n, id: p.ID, addr: p.Addr,
		ctx: ctx, cancel: cancel,
		done: make(chan struct{}),
		wake: make(chan struct{}, 1),
		// Not secret, only distinct: the receiver compares it with the
		// sessions it saw before.
		sessionID: rand.Uint64() | 1,
	}
	pr.conn.Store(conn)
	go pr.run()
	return pr, nil
}

// secretCreds attaches the cluster secret and this node's ID to every
// stream and call.
type secretCreds struct{ md map[string]string }

func (c secretCreds) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return c.md, nil
}

// RequireTransportSecurity is false: plaintext is allowed on a trusted
// network; use TLS otherwise.
func (secretCreds) RequireTransportSecurity() bool { return false }

// connectAttempt is how long one attempt to connect to a peer may take
// (gRPC's own default).
const connectAttempt = 20 * time.Second

// dial makes a lazy client connection: nothing happens until the first
// stream or call. Calls made while the peer is unreachable fail at once
// (no wait-for-ready). A connect attempt is given connectAttempt: a peer
// slow to finish the TCP and HTTP/2 handshakes because it is busy must not
// have them abandoned and started again, which only adds to its load.
func (n *Node) dial(addr string) (*grpc.ClientConn, error) {
	creds := insecure.NewCredentials()
	if n.opts.ClientTLS != nil {
		creds = credentials.NewTLS(n.opts.ClientTLS)
	}
	conn, err := grpc.NewClient("passthrough:///"+addr,
		grpc.WithTransportCredentials(creds),
		grpc.WithPerRPCCredentials(secretCreds{md: map[string]string{
			mdSecret: n.opts.Secret,
			mdNode:   n.opts.ID,
		}}),
		grpc.WithKeepaliveParams(clientKeepalive),
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff: backoff.Config{
				BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2,
				MaxDelay: 2 * time.Second,
			},
			MinConnectTimeout: connectAttempt,
		}),
		grpc.WithDefaultCallOptions(
			grpc.WaitForReady(false),
			grpc.MaxCallRecvMsgSize(n.opts.MaxMessageBytes),
			grpc.MaxCallSendMsgSize(n.opts.MaxMessageBytes+n.opts.BatchMaxBytes),
		),
	)
	if err != nil {
		return nil, fmt.Errorf("rpc: dial %s: %w", addr, err)
	}
	return conn, nil
}

// Send queues cmd for peer peerID and returns at once; the peer applies it
// after everything this node sent it before. cmd must not be changed
// afterwards. It fails with ErrPeerUnavailable if the peer is not in the
// set, ErrQueueFull if its queue is full, ErrTooLarge if cmd exceeds
// MaxMessageBytes.
func (n *Node) Send(peerID string, cmd *rpcpb.Command) error {
	p, err := n.peer(peerID)
	if err != nil {
		return err
	}
	return p.send(cmd, proto.Size(cmd))
}

// Broadcast queues cmd once for every peer. Peers that could not take it
// are listed in the returned *PartialError.
func (n *Node) Broadcast(cmd *rpcpb.Command) error {
	size := proto.Size(cmd)
	var missing PartialError
	for _, p := range n.snapshot() {
		if err := p.send(cmd, size); err != nil {
			missing.add(p.id, err)
		}
	}
	return missing.orNil()
}

func (p *peer) send(cmd *rpcpb.Command, size int) error {
	if size > p.n.opts.MaxMessageBytes {
		return fmt.Errorf("rpc: send to %s: %d bytes: %w", p.id, size, ErrTooLarge)
	}
	p.mu.Lock()
	switch {
	case p.closed:
		p.mu.Unlock()
		return peerUnavailable(p.id, "removed from the peer set")
	case p.queued+p.unackedBytes+size > p.n.opts.QueueMaxBytes:
		p.mu.Unlock()
		return fmt.Errorf("rpc: send to %s: %w", p.id, ErrQueueFull)
	}
	p.queue = append(p.queue, queued{cmd: cmd, size: size})
	p.queued += size
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
	return nil
}

// next returns the batch to send after seq sent on this stream: the
// oldest unacknowledged one after it (a resend), else a new batch made of
// the head of the queue, up to BatchMaxBytes (at least one command). It
// reports false if there is nothing to send.
func (p *peer) next(sent uint64) (sb sentBatch, resend, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := len(p.unacked); n > 0 {
		first := p.unacked[0].batch.Seq // seqs in unacked are consecutive
		if sent < first {
			return p.unacked[0], true, true
		}
		if i := sent - first + 1; i < uint64(n) {
			return p.unacked[i], true, true
		}
	}
	if len(p.queue) == 0 {
		return sentBatch{}, false, false
	}
	total, i := 0, 0
	for ; i < len(p.queue); i++ {
		s := wireSize(p.queue[i].size)
		if i > 0 && total+s > p.n.opts.BatchMaxBytes {
			break
		}
		total += s
	}
	p.lastSeq++
	sb = sentBatch{batch: &rpcpb.Batch{Seq: p.lastSeq, Commands: make([]*rpcpb.Command, i)}}
	for j, q := range p.queue[:i] {
		sb.batch.Commands[j] = q.cmd
		sb.bytes += q.size
	}
	sb.wire = total + 1 + protowire.SizeVarint(p.lastSeq) + 5
	p.queued -= sb.bytes
	p.unackedBytes += sb.bytes
	p.unacked = append(p.unacked, sb)
	clear(p.queue[:i]) // the batch holds the commands now
	if i == len(p.queue) {
		p.queue = p.queue[:0]
	} else {
		p.queue = p.queue[i:]
	}
	return sb, false, true
}

// ack forgets the batches the receiver has applied, up to seq.
func (p *peer) ack(seq uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	i := 0
	for ; i < len(p.unacked) && p.unacked[i].batch.Seq <= seq; i++ {
		p.unackedBytes -= p.unacked[i].bytes
	}
	if i == 0 {
		return
	}
	clear(p.unacked[:i])
	p.unacked = p.unacked[i:]
	if len(p.unacked) == 0 {
		p.unacked = p.unacked[:0:0] // let the backing array go
		p.checkDrainedLocked()
	}
}

// greeted takes in the receiver's greeting on a new stream: what it
// applied, and which process it is. Batches sent to an earlier process
// that it did not acknowledge are dropped: that process is gone, and what
// it applied is unknown.
func (p *peer) greeted(hb *rpcpb.Heartbeat) {
	p.ack(hb.GetAcked())
	p.mu.Lock()
	defer p.mu.Unlock()
	inc := hb.GetIncarnation()
	if p.receiver != 0 && inc != p.receiver && len(p.unacked) > 0 {
		p.n.opts.Logger.Warn("rpc: peer restarted; commands it did not acknowledge are dropped",
			"peer", p.id, "batches", len(p.unacked))
		p.unacked, p.unackedBytes = nil, 0
		p.checkDrainedLocked()
	}
	p.receiver = inc
}

func (p *peer) checkDrainedLocked() {
	if len(p.queue) == 0 && len(p.unacked) == 0 && p.drained != nil {
		close(p.drained)
		p.drained = nil
	}
}

// flush waits until the queue is empty and the peer has acknowledged
// every batch.
func (p *peer) flush(ctx context.Context) error {
	p.mu.Lock()
	if p.closed || (len(p.queue) == 0 && len(p.unacked) == 0) {
		p.mu.Unlock()
		return nil
	}
	if p.drained == nil {
		p.drained = make(chan struct{})
	}
	ch := p.drained
	p.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// run keeps a stream to the peer open, redialing with backoff, until the
// peer leaves the set.
func (p *peer) run() {
	defer close(p.done)
	delay := 50 * time.Millisecond
	for {
		opened, err := p.session()
		if p.ctx.Err() != nil {
			return
		}
		if opened {
			delay = 50 * time.Millisecond
		}
		p.n.opts.Logger.Warn("rpc: stream to peer broke", "peer", p.id, "addr", p.addr, "err", err)
		wait := delay/2 + rand.N(delay) // jitter spreads redials of many nodes
		delay = min(2*delay, 2*time.Second)
		select {
		case <-time.After(wait):
		case <-p.ctx.Done():
			return
		}
	}
}

// session opens one stream, waits for the peer's first heartbeat, then
// sends batches until the stream breaks. opened reports whether the peer
// had accepted the stream.
func (p *peer) session() (opened bool, err error) {
	ctx, cancel := context.WithCancel(p.ctx)
	defer cancel()
	hb := p.n.streamHeartbeat()
	ctx = metadata.AppendToOutgoingContext(ctx,
		mdHeartbeat, strconv.FormatInt(hb.Milliseconds(), 10),
		mdSession, strconv.FormatUint(p.sessionID, 10))

	// A peer that has not greeted within ConnectTimeout counts as down:
	// calls to it fail fast. The opening goes on, on the same connection,
	// for as long as an open stream may stay silent (three heartbeats): a
	// peer too busy to answer at once is still there, and abandoning the
	// attempt to redial would add a TCP and an HTTP/2 handshake to its load
	// each time. (Redialing every ConnectTimeout kept a saturated 52-node
	// mesh saturated: a thousand new connections a second between nodes
	// that could not answer any of them in time.)
	var silent atomic.Bool
	answered := false // guarded by p.mu, against the slow-open timer
	slow := time.AfterFunc(p.n.opts.ConnectTimeout, func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		if !answered {
			p.setDownLocked("stream did not open within ConnectTimeout")
		}
	})
	openWait := max(3*hb, p.n.opts.ConnectTimeout)
	giveUp := time.AfterFunc(openWait, func() { silent.Store(true); cancel() })
	stream, err := rpcpb.NewNodeClient(p.conn.Load()).Commands(ctx)
	var greeting *rpcpb.Heartbeat
	if err == nil {
		greeting, err = stream.Recv()
	}
	slow.Stop()
	giveUp.Stop()
	if silent.Load() {
		p.markDown("stream did not open within " + openWait.String())
		return false, fmt.Errorf("open stream: no answer within %v", openWait)
	}
	if err != nil {
		return false, fmt.Errorf("open stream: %w", err)
	}
	p.mu.Lock()
	answered = true
	p.down.Store(false)
	p.mu.Unlock()
	p.greeted(greeting)

	// The reader watches the heartbeats, which carry the acknowledgements:
	// three missed and the peer is down, which ends this session.
	readErr := make(chan error, 1)
	go func() {
		dead := time.AfterFunc(3*hb, func() { silent.Store(true); cancel() })
		defer dead.Stop()
		for {
			beat, err := stream.Recv()
			if err != nil {
				cancel()
				readErr <- err
				return
			}
			dead.Reset(3 * hb)
			p.ack(beat.GetAcked())
		}
	}()
	p.pump(ctx, stream) // returns once the stream broke (the reader cancels ctx)
	cancel()
	err = <-readErr // the stream's own error says more than a failed Send
	switch {
	case silent.Load():
		p.markDown("no heartbeat for " + (3 * hb).String())
		return true, fmt.Errorf("peer silent for %v", 3*hb)
	case p.ctx.Err() != nil:
		return true, p.ctx.Err()
	}
	return true, fmt.Errorf("stream ended: %w", err)
}

// pump ships the queue as batches: it first resends what the peer has
// not acknowledged, then blocks for the next command and takes everything
// queued by then (up to BatchMaxBytes) as one message. It returns when ctx
// ends or a Send fails (the stream broke); unacknowledged batches stay
// for the next stream.
func (p *peer) pump(ctx context.Context, stream rpcpb.Node_CommandsClient) {
	var sent uint64 // seq of the last batch sent on this stream
	for {
		sb, resend, ok := p.next(sent)
		if !ok {
			select {
			case <-p.wake:
				continue
			case <-ctx.Done():
				return
			}
		}
		if err := stream.Send(sb.batch); err != nil {
			return
		}
		sent = sb.batch.Seq
		p.n.stats.batchesSent.Add(1)
		if resend {
			p.n.stats.batchesResent.Add(1)
		}
		p.n.stats.commandsSent.Add(uint64(len(sb.batch.Commands)))
		p.n.stats.bytesSent.Add(uint64(sb.wire))
	}
}

// setDownLocked makes calls to the peer fail fast until a stream opens
// again. p.mu is held.
func (p *peer) setDownLocked(reason string) {
	if !p.down.Swap(true) {
		p.n.opts.Logger.Warn("rpc: peer down", "peer", p.id, "addr", p.addr, "reason", reason)
	}
}

// markDown makes calls to the peer fail fast and replaces its connection:
// the old one may sit on a dead TCP connection that gRPC's own keepalive
// would only notice after 10s or more.
func (p *peer) markDown(reason string) {
	p.mu.Lock()
	p.setDownLocked(reason)
	p.mu.Unlock()
	conn, err := p.n.dial(p.addr)
	if err != nil {
		p.n.opts.Logger.Error("rpc: redial peer", "peer", p.id, "err", err)
		return
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		conn.Close()
		return
	}
	old := p.conn.Swap(conn)
	p.mu.Unlock()
	old.Close()
}

// close drops the peer: the sender stops, queued and unacknowledged
// commands are dropped, and pending calls fail (closing the connection
// cancels them).
func (p *peer) close(reason string) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	p.queue, p.queued = nil, 0
	p.unacked, p.unackedBytes = nil, 0
	if p.drained != nil {
		close(p.drained)
		p.drained = nil
	}
	conn := p.conn.Load()
	p.mu.Unlock()
	p.n.opts.Logger.Info("rpc: peer dropped", "peer", p.id, "reason", reason)
	p.cancel()
	conn.Close()
	<-p.done
}

func (p *peer) isClosed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}
