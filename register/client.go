package register

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/wsgate/wsgate/register/registerpb"
)

// ClientOptions configures a node's register Client.
type ClientOptions struct {
	// Addrs are the registers to join, host:port each. The node joins all
	// of them and merges their lists, so any one may be down. Required.
	Addrs []string
	// Secret is the cluster secret. Required.
	Secret string
	// Self is this node. ID and Addr (the advertised rpc address) are
	// required; a zero Incarnation is replaced by the time NewClient runs,
	// in nanoseconds, so a restarted node outranks its old registration.
	Self Peer
	// HeartbeatInterval is how often the node sends each register a
	// heartbeat. Default DefaultHeartbeatInterval.
	HeartbeatInterval time.Duration
	// HeartbeatTimeout is how long a register may stay silent before the
	// node counts its stream as down and reconnects. Default
	// DefaultHeartbeatTimeout.
	HeartbeatTimeout time.Duration
	// MinBackoff and MaxBackoff bound the wait between attempts to reach a
	// register: it starts at MinBackoff, doubles per failure up to
	// MaxBackoff, and is jittered to between half and all of that.
	// Defaults 100ms and 5s.
	MinBackoff, MaxBackoff time.Duration
	// RejoinGrace is how long, after a time with every register down, the
	// last known list stays merged into the fresh ones while the other
	// nodes re-register. Without it, a register coming back would first
	// report only the nodes that reconnected first. Default MaxBackoff +
	// HeartbeatTimeout.
	RejoinGrace time.Duration
	// TLS, when set, dials the registers with TLS (add Certificates for
	// mTLS). Default: plaintext.
	TLS *tls.Config
	// Logger receives connection changes. Default: discard.
	Logger *slog.Logger
}

func (o *ClientOptions) setDefaults() error {
	switch {
	case len(o.Addrs) == 0:
		return errors.New("register: ClientOptions.Addrs is empty")
	case o.Secret == "":
		return errors.New("register: ClientOptions.Secret is required")
	case o.Self.ID == "" || o.Self.Addr == "":
		return errors.New("register: ClientOptions.Self needs an ID and an Addr")
	}
	if o.Self.Incarnation == 0 {
		o.Self.Incarnation = uint64(time.Now().UnixNano())
	}
	if o.HeartbeatInterval <= 0 {
		o.HeartbeatInterval = DefaultHeartbeatInterval
	}
	if o.HeartbeatTimeout <= 0 {
		o.HeartbeatTimeout = DefaultHeartbeatTimeout
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = 100 * time.Millisecond
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = max(5*time.Second, o.MinBackoff)
	}
	if o.RejoinGrace <= 0 {
		o.RejoinGrace = o.MaxBackoff + o.HeartbeatTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// Client keeps a node registered with every register and keeps the merged
// peer list.
//
// The merged list is the union, by node ID, of the lists of the registers
// whose stream is up (connected and has sent its list); where they
// disagree about a node, the larger incarnation wins. A node is a peer as
// long as any live register lists it, so one register going down changes
// nothing, and a node that dies is dropped as soon as every live register
// dropped it. While no register is up the last merged list is kept as it
// is; when one comes back, that kept list stays merged in for RejoinGrace
// so nodes still re-registering do not blink out.
type Client struct {
	opts ClientOptions

	mu         sync.Mutex
	lists      map[string][]Peer // by register address, only while up
	merged     []Peer            // last merged list, self included
	allDown    bool              // every register went down after one was up
	kept       []Peer            // the list kept from all-down, merged in during a grace
	graceUntil time.Time         // end of the rejoin grace; zero when none
	graceTimer *time.Timer
	peers      []Peer // merged without self, as Peers returns it
	listed     bool   // a register's list has been merged once
	version    uint64 // bumped on every change of peers, and on the first list
	callbacks  []func([]Peer)
	started    bool
	cancel     context.CancelFunc
	changed    chan struct{} // capacity 1: wakes the callback goroutine
	joined     *outcome
	wg         sync.WaitGroup
}

// NewClient checks opts and returns a Client; Start makes it join.
func NewClient(opts ClientOptions) (*Client, error) {
	opts.Addrs = slices.Clone(opts.Addrs)
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	return &Client{
		opts:    opts,
		lists:   make(map[string][]Peer),
		changed: make(chan struct{}, 1),
		joined:  newOutcome(),
	}, nil
}

// Up reports whether a register holds this client now.
func (c *Client) Up() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.lists) > 0
}

// Self returns this node as announced, with its incarnation.
func (c *Client) Self() Peer { return c.opts.Self }

// Peers returns the current merged list, sorted by ID, without this node.
func (c *Client) Peers() []Peer {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.peers)
}

// OnChange adds fn to the functions called with the new Peers list after
// each change, and with the first list a register sends, even an empty
// one. Calls come from one goroutine, in order; a slow fn delays
// the next call, which then carries the newest list (changes in between
// may be skipped, never the last one).
func (c *Client) OnChange(fn func([]Peer)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.callbacks = append(c.callbacks, fn)
}

// Start joins every register in the background and keeps at it until ctx
// ends or Close is called. It returns at once.
func (c *Client) Start(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.started {
		return errors.New("register: client already started")
	}
	c.started = true
	ctx, c.cancel = context.WithCancel(ctx)
	for _, addr := range c.opts.Addrs {
		c.wg.Go(func() { c.keepJoined(ctx, addr) })
	}
	c.wg.Go(func() { c.runCallbacks(ctx) })
	return nil
}

// Close says goodbye to every register, so peers drop this node at once,
// and waits for the background work to end.
func (c *Client) Close() error {
	c.mu.Lock()
	cancel := c.cancel
	if c.graceTimer != nil {
		c.graceTimer.Stop()
	}
	c.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	c.wg.Wait()
	return nil
}

// keepJoined holds a registration with the register at addr, reconnecting
// with backoff, until ctx ends.
func (c *Client) keepJoined(ctx context.Context, addr string) {
	backoff := c.opts.MinBackoff
	for {
		gotList, err := c.session(ctx, addr)
		c.setDown(addr)
		if ctx.Err() != nil {
			return
		}
		c.joined.note(addr, err)
		if gotList {
			backoff = c.opts.MinBackoff // it worked for a while: retry soon
		}
		if secretRefused(err) {
			// Retrying will not help until someone fixes the secret.
			c.opts.Logger.Error("register refused this node's secret", "register", addr)
		} else {
			c.opts.Logger.Warn("register stream down", "register", addr, "err", err)
		}
		wait := backoff/2 + rand.N(backoff/2+1)
		backoff = min(2*backoff, c.opts.MaxBackoff)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return
		}
	}
}

// session is one stream to the register at addr. It ends when the stream
// fails, the register stays silent for HeartbeatTimeout, or ctx ends; in
// the last case it says goodbye first. gotList reports whether the
// register accepted the node and sent its list.
func (c *Client) session(ctx context.Context, addr string) (gotList bool, err error) {
	creds := insecure.NewCredentials()
	if c.opts.TLS != nil {
		creds = credentials.NewTLS(c.opts.TLS)
	}
	// A fresh connection per attempt, closed with the session: our backoff,
	// not the channel's own reconnect policy, paces the retries.
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(creds))
	if err != nil {
		return false, fmt.Errorf("register: dial %s: %w", addr, err)
	}
	defer conn.Close()

	// The stream lives on its own context, not ctx, so the goodbye can
	// still be sent after ctx ends. A silent register cancels it.
	streamCtx, cancel := context.WithCancel(context.Background())
	defer cancel()
	silence := time.AfterFunc(c.opts.HeartbeatTimeout, cancel)
	defer silence.Stop()

	stream, err := registerpb.NewRegisterClient(conn).Join(streamCtx)
	if err != nil {
		return false, fmt.Errorf("register: join %s: %w", addr, err)
	}
	hello := &registerpb.NodeMessage{Kind: &registerpb.NodeMessage_Hello{Hello: &registerpb.Hello{
		Secret: c.opts.Secret,
		Node:   peerToProto(c.opts.Self),
	}}}
	if err := stream.Send(hello); err != nil {
		return false, fmt.Errorf("register: hello to %s: %w", addr, err)
	}

	incoming, recvErr := receive(streamCtx, stream.Recv)

	heartbeat := time.NewTicker(c.opts.HeartbeatInterval)
	defer heartbeat.Stop()
	for {
		select {
		case msg := <-incoming:
			silence.Reset(c.opts.HeartbeatTimeout)
			if list := msg.GetPeers(); list != nil {
				peers := make([]Peer, len(list.GetPeers()))
				for i, p := range list.GetPeers() {
					peers[i] = peerFromProto(p)
				}
				if !gotList {
					c.opts.Logger.Info("registered", "register", addr, "peers", len(peers))
					c.joined.accept()
				}
				gotList = true
				c.setList(addr, peers)
			}
		case <-heartbeat.C:
			if err := stream.Send(nodeHeartbeat); err != nil {
				return gotList, fmt.Errorf("register: heartbeat to %s: %w", addr, err)
			}
		case err := <-recvErr:
			if streamCtx.Err() != nil {
				return gotList, fmt.Errorf("register: %s silent for %v", addr, c.opts.HeartbeatTimeout)
			}
			return gotList, fmt.Errorf("register: stream from %s: %w", addr, err)
		case <-ctx.Done():
			c.sayGoodbye(stream, incoming, recvErr)
			return gotList, ctx.Err()
		}
	}
}

// sayGoodbye sends Leave and waits, at most one heartbeat interval, for
// the register to end the stream, so the node is gone from its list when
// Close returns.
func (c *Client) sayGoodbye(stream registerpb.Register_JoinClient,
	incoming <-chan *registerpb.RegisterMessage, recvErr <-chan error) {
	leave := &registerpb.NodeMessage{Kind: &registerpb.NodeMessage_Leave{Leave: &registerpb.Leave{}}}
	if stream.Send(leave) != nil {
		return
	}
	_ = stream.CloseSend()
	deadline := time.After(c.opts.HeartbeatInterval)
	for {
		select {
		case <-incoming: // late news; the receiver must not block on it
		case <-recvErr:
			return
		case <-deadline:
			return
		}
	}
}

var nodeHeartbeat = &registerpb.NodeMessage{
	Kind: &registerpb.NodeMessage_Heartbeat{Heartbeat: &registerpb.Heartbeat{}},
}

// setList records the list the register at addr sent.
func (c *Client) setList(addr string, peers []Peer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.allDown {
		// The first register back after all were down: keep the old list
		// merged in while the other nodes re-register.
		c.allDown = false
		c.kept = c.merged
		c.graceUntil = time.Now().Add(c.opts.RejoinGrace)
		c.graceTimer = time.AfterFunc(c.opts.RejoinGrace, c.endGrace)
	}
	c.lists[addr] = peers
	c.remergeLocked()
}

// setDown forgets the list of the register at addr, whose stream ended.
func (c *Client) setDown(addr string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.lists[addr]; !ok {
		return
	}
	delete(c.lists, addr)
	if len(c.lists) > 0 {
		c.remergeLocked()
		return
	}
	// Every register is down: keep the list as it is, for as long as it
	// takes one to come back.
	c.allDown = true
	c.kept, c.graceUntil = nil, time.Time{}
	if c.graceTimer != nil {
		c.graceTimer.Stop()
	}
}

// endGrace drops the kept list once the rejoin grace is over.
func (c *Client) endGrace() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.graceUntil.IsZero() || time.Now().Before(c.graceUntil) {
		return // a newer grace is running; its own timer ends it
	}
	c.kept, c.graceUntil = nil, time.Time{}
	c.remergeLocked()
}

// remergeLocked rebuilds the merged list from the live registers' lists
// and, during a rejoin grace, the kept one.
func (c *Client) remergeLocked() {
	lists := make([][]Peer, 0, len(c.lists)+1)
	for _, list := range c.lists {
		lists = append(lists, list)
	}
	lists = append(lists, c.kept) // nil outside a grace
	c.merged = mergePeers(lists...)
	peers := slices.DeleteFunc(slices.Clone(c.merged), func(p Peer) bool { return p.ID == c.opts.Self.ID })
	// The first list is news even when it holds no one but this node:
	// OnChange functions learn that the node knows its peers.
	if c.listed && slices.Equal(peers, c.peers) {
		return
	}
	c.listed = true
	c.peers = peers
	c.version++
	select {
	case c.changed <- struct{}{}:
	default:
	}
}

// runCallbacks calls the OnChange functions with each new list.
func (c *Client) runCallbacks(ctx context.Context) {
	var delivered uint64
	for {
		select {
		case <-c.changed:
		case <-ctx.Done():
			return
		}
		c.mu.Lock()
		version, peers, callbacks := c.version, slices.Clone(c.peers), slices.Clone(c.callbacks)
		c.mu.Unlock()
		if version == delivered {
			continue
		}
		delivered = version
		for _, fn := range callbacks {
			fn(peers)
		}
	}
}
