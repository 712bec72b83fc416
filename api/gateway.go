package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wsgate/wsgate/internal/cluster"
	"github.com/wsgate/wsgate/internal/safecall"
	"github.com/wsgate/wsgate/poller"
	"github.com/wsgate/wsgate/router"
	"github.com/wsgate/wsgate/rpc"
	"github.com/wsgate/wsgate/wsproto"
)

// NodeID identifies a node in its cluster; it is the first part of every
// clientID the node issues.
type NodeID = router.NodeID

// Options configure a Gateway. Zero values mean the documented defaults.
type Options struct {
	// NodeID is this node's id, unique in its cluster; it starts every
	// clientID the node issues and names the node in the register and to
	// its peers. Default: a random non-zero id picked at NewGateway, so
	// that nodes started without one do not collide (a collision is
	// unlikely: two in a cluster of 1000 nodes with odds of about 1 in
	// 10000). Set it when the ids must be stable or known.
	NodeID NodeID
	// Server configures the connection engine: listen address, WebSocket
	// path, plain-HTTP fallback, limits and timeouts (see poller.Options
	// for each default). Server.Handler must be nil: the Gateway is the
	// handler.
	Server poller.Options
	// Router configures the client tables.
	Router router.Options
	// Logger receives errors the Application cannot see, such as a panic
	// in a callback. Default slog.Default().
	Logger *slog.Logger
	// Cluster, when set, makes the node a member of a cluster: its Api
	// reaches the clients of every node. Nil: a single node on its own.
	Cluster *ClusterOptions
}

// Gateway is one node: it accepts WebSocket clients, runs the Application's
// callbacks for them, and answers the Api for them.
type Gateway struct {
	app    Application
	log    *slog.Logger
	ids    *router.IDGenerator
	router *router.Router
	api    Api
	// dispatch is the Api's dispatcher, for what is not an Api call (the
	// operator's cluster view).
	dispatch *cluster.Dispatcher
	srv      *poller.Server
	member   *cluster.Member // nil for a single node, which its methods take
	leave    sync.Once

	joinTimeout time.Duration // ClusterOptions.JoinTimeout, defaults applied

	started atomic.Bool

	open     atomic.Int64 // clients between OnConnect and the end of OnClose
	draining atomic.Bool  // Shutdown is past waiting: the last OnClose runs OnStop
	stopped  sync.Once
}

// NewGateway prepares a node for app; Start listens.
func NewGateway(o Options, app Application) (*Gateway, error) {
	if app == nil {
		return nil, errors.New("api: NewGateway needs an Application")
	}
	if o.Server.Handler != nil {
		return nil, errors.New("api: Options.Server.Handler must be nil; the Gateway handles connections")
	}
	if o.NodeID == 0 {
		o.NodeID = randomNodeID()
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	var clusterOpts ClusterOptions
	if o.Cluster != nil {
		clusterOpts = *o.Cluster
		if err := clusterOpts.setDefaults(true, o.Logger); err != nil {
			return nil, err
		}
	}
	if o.Server.Logger == nil {
		o.Server.Logger = o.Logger
	}
	g := &Gateway{
		app:    app,
		log:    o.Logger,
		ids:    router.NewIDGenerator(o.NodeID),
		router: router.New(o.Router),
	}
	o.Server.Handler = (*handler)(g)
	srv, err := poller.NewServer(o.Server)
	if err != nil {
		return nil, fmt.Errorf("api: %w", err)
	}
	g.srv = srv
	var peers *rpc.Node // none for a single node
	if o.Cluster != nil {
		// Bind now, so a taken address fails here rather than at Start.
		m, err := cluster.NewMember(clusterOpts.member(o.NodeID.String(), cluster.NewHandler(g.router, o.Logger, g.nodeViewProto)))
		if err != nil {
			return nil, fmt.Errorf("api: %w", err)
		}
		g.member = m
		g.joinTimeout = clusterOpts.JoinTimeout
		peers = m.Node()
	}
	g.dispatch = cluster.NewDispatcher(g.router, o.NodeID, peers)
	g.api = nodeAPI{d: g.dispatch}
	return g, nil
}

// Start runs the Application's OnStart, if it has one, joins the cluster
// if there is one and waits for the first peer list (up to
// ClusterOptions.JoinTimeout), then listens. It returns once the listener
// is up. It fails if a register refuses the cluster secret (or, with a
// ClusterOptions.Source, the source refuses the node for good: etcd and a
// taken node id or wrong credentials). A Gateway starts once.
func (g *Gateway) Start() error {
	if !g.started.CompareAndSwap(false, true) {
		return errors.New("api: gateway already started")
	}
	if s, ok := g.app.(Starter); ok {
		if err := s.OnStart(g.api); err != nil {
			g.leaveCluster(nil)
			return fmt.Errorf("api: application start: %w", err)
		}
	}
	if g.member != nil {
		if err := g.member.Join(); err != nil {
			g.leaveCluster(nil)
			return fmt.Errorf("api: %w", err)
		}
		if err := g.awaitPeers(); err != nil {
			g.leaveCluster(nil)
			return err
		}
	}
	if err := g.srv.Start(); err != nil {
		g.leaveCluster(nil)
		return fmt.Errorf("api: %w", err)
	}
	return nil
}

// awaitPeers waits up to the join timeout for the first peer list, so that
// the first clients' calls for clients of other nodes find those nodes.
//
// When no register answers in time, the node listens anyway, with a
// warning, and Ready stays an error until the list comes. Failing instead
// would turn a register that is down or restarting into every node
// crash-looping: the supervisors' backoff (systemd's RestartSec,
// Kubernetes' CrashLoopBackOff, up to minutes) would keep the cluster down
// well after the register is back. A listening node behind a readiness
// check gets no clients from the balancer meanwhile, and is ready the
// moment the list arrives. A refused secret is different: waiting never
// fixes it, so Start fails.
func (g *Gateway) awaitPeers() error {
	if g.joinTimeout < 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), g.joinTimeout)
	defer cancel()
	err := g.member.WaitPeers(ctx)
	switch {
	case err != nil && !errors.Is(err, context.DeadlineExceeded):
		// Refused for good (see register.Source.Joined): a register
		// refused the secret, or etcd the node's id or credentials.
		return fmt.Errorf("api: %w", err)
	case err != nil:
		g.log.Warn("gateway: no peer list from a register yet; serving, but not ready until one comes",
			"waited", g.joinTimeout.String(), "err", err)
	}
	return nil
}

// Shutdown drains the node. It stops accepting; in a cluster it says
// goodbye to the registers first, so that the other nodes stop routing
// here (their calls for this node's clients answer ErrClientOffline from
// then on), while its own rpc node stays up for what it still sends. Then
// it closes every client with 1001 after flushing its queue, spread over
// Server.DrainWindow so that they do not all reconnect elsewhere at once,
// and waits until each OnClose has returned; then it sends what is queued
// for peers and closes its rpc server (and embedded register); last, it
// runs the Application's OnStop. When ctx ends first, the remaining
// connections are dropped and ctx's error is returned; if a callback is
// still running then, OnStop runs when the last OnClose returns.
func (g *Gateway) Shutdown(ctx context.Context) error {
	g.srv.StopAccepting()
	g.member.LeaveRegisters()
	err := g.srv.Shutdown(ctx)
	// The engine counts a connection gone before its OnClose has run;
	// wait for the callbacks too, so OnStop comes after all of them.
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for g.open.Load() > 0 && err == nil {
		select {
		case <-ctx.Done():
			err = ctx.Err()
		case <-tick.C:
		}
	}
	if leaveErr := g.leaveCluster(ctx); err == nil {
		err = leaveErr
	}
	// Whichever comes last, this or the end of the last OnClose, runs
	// OnStop: it must not overtake an OnClose held up by a callback that
	// outlasted ctx.
	g.draining.Store(true)
	if g.open.Load() == 0 {
		g.stop()
	}
	return err
}

// stop runs the Application's OnStop once.
func (g *Gateway) stop() {
	g.stopped.Do(func() {
		if s, ok := g.app.(Stopper); ok {
			s.OnStop()
		}
	})
}

// leaveCluster leaves the cluster once: gracefully while ctx lasts, or at
// once with a nil ctx.
func (g *Gateway) leaveCluster(ctx context.Context) (err error) {
	if g.member == nil {
		return nil
	}
	g.leave.Do(func() {
		if ctx == nil {
			g.member.Abort()
			return
		}
		err = g.member.Leave(ctx)
	})
	return err
}

// Peers lists the ids of the other gateway nodes this node currently
// reaches (nil for a single node), as learnt from the registers (or the
// ClusterOptions.Source).
func (g *Gateway) Peers() []string { return g.member.Peers() }

// Ready says whether the node should be sent new clients: nil while it
// serves and, in a cluster, once it has its first peer list (before, its
// peers do not know it and it does not know them) unless its source now
// says otherwise: a register refuses its secret, or its etcd lease is not
// being renewed (its peers drop it). Losing the registers later does not
// make it unready: it keeps delivering with its last peer list.
func (g *Gateway) Ready() error {
	if !g.Serving() {
		return errors.New("draining or not started")
	}
	return g.member.Ready()
}

// Joined waits until a register has accepted this node (nil), or one has
// refused its secret before any accepted it (an error wrapping
// register.ErrSecretRefused), or ctx ends (its error; the node keeps
// trying). With a Source, until it has accepted the node or refused it
// for good (for etcd: register.ErrNodeIDTaken, refused credentials). A
// single node has nothing to join: nil.
func (g *Gateway) Joined(ctx context.Context) error { return g.member.Joined(ctx) }

// RPCAddr is the address the node's rpc server is bound to, nil for a
// single node.
func (g *Gateway) RPCAddr() net.Addr { return g.member.RPCAddr() }

// RegisterAddr is the address of the node's embedded register, nil if it
// runs none.
func (g *Gateway) RegisterAddr() net.Addr { return g.member.RegisterAddr() }

// Api is the node's Api, for code outside the callbacks (e.g. an HTTP
// handler pushing to clients).
func (g *Gateway) Api() Api { return g.api }

// Addr is the address the node listens on.
func (g *Gateway) Addr() net.Addr { return g.srv.Addr() }

// NodeID is the node's id.
func (g *Gateway) NodeID() NodeID { return g.ids.Node() }

// Serving reports whether the node accepts clients: true from Start until
// Shutdown begins.
func (g *Gateway) Serving() bool { return g.srv.Serving() }

// Stats are the connection engine's counters.
func (g *Gateway) Stats() poller.Stats { return g.srv.Stats() }

// Counts are the sizes of a node's own client tables.
type Counts struct {
	Clients int // clients, closing ones included
	UIDs    int // uids with a client on this node
	Groups  int // groups with a member on this node
	// MessagesOut counts the messages this node's clients took (queued or
	// written) since the node started; a fan-out to n clients counts n.
	MessagesOut uint64
}

// Counts returns this node's own counts, for metrics: unlike the Api's
// cluster-wide calls, they ask no other node, and cost one read lock per
// table shard whatever the number of clients.
func (g *Gateway) Counts() Counts {
	return Counts{Clients: g.router.ClientCount(), UIDs: g.router.CountUIDs(), Groups: g.router.CountGroups(), MessagesOut: g.router.MessagesOut()}
}

// handler is the Gateway seen by the connection engine.
type handler Gateway

// pending is a connection's state between handshake and open: its
// client's entry, not yet in the router, and what OnHandshake gave it.
type pending struct {
	cl   *router.Client
	uid  string
	info map[string]string
}

func (h *handler) OnHandshake(c *poller.Conn, r *wsproto.Request) error {
	p := &pending{cl: h.ids.NewClient(c)}
	if hs, ok := h.app.(Handshaker); ok {
		req := &Handshake{
			ClientID:    p.cl.ID(),
			Path:        r.Path,
			Query:       r.Query(),
			Header:      r.Header.Clone(), // r is reused once this returns
			RemoteAddr:  c.RemoteAddr(),
			Subprotocol: c.Subprotocol(),
		}
		if err := h.guard(p.cl.ID(), "OnHandshake", func() error { return hs.OnHandshake(req) }); err != nil {
			return err
		}
		p.uid, p.info = req.UID, req.Info
	}
	c.SetValue(p)
	return nil
}

func (h *handler) OnOpen(c *poller.Conn) {
	p, _ := c.Value().(*pending)
	if p == nil {
		c.Abort()
		return
	}
	cl := p.cl
	if err := h.router.AddClient(cl, p.uid, p.info); err != nil {
		h.log.Error("gateway: add client", "err", err)
		c.Abort()
		return
	}
	c.SetValue(cl)
	h.open.Add(1)
	h.guard(cl.ID(), "OnConnect", func() error { h.app.OnConnect(cl.ID()); return nil })
}

func (h *handler) OnMessage(c *poller.Conn, op wsproto.OpCode, payload []byte) {
	cl, _ := c.Value().(*router.Client)
	if cl == nil {
		return
	}
	msg := Message{Type: Text, Data: payload}
	if op == wsproto.OpBinary {
		msg.Type = Binary
	}
	h.guard(cl.ID(), "OnMessage", func() error { h.app.OnMessage(cl.ID(), msg); return nil })
}

func (h *handler) OnClose(c *poller.Conn, code wsproto.StatusCode, reason string) {
	cl, _ := c.Value().(*router.Client)
	if cl == nil {
		return
	}
	h.router.Closing(cl)
	h.guard(cl.ID(), "OnClose", func() error { h.app.OnClose(cl.ID()); return nil })
	h.router.Remove(cl)
	if h.open.Add(-1) == 0 && h.draining.Load() {
		(*Gateway)(h).stop()
	}
}

// guard runs an Application callback. A panic in it must not take the node
// down: it is logged and the client is closed with 1011. Recovering here,
// not only in poller, names the client in the log and lets OnClose's
// caller remove the client whatever the callback did.
func (h *handler) guard(id, name string, f func() error) (err error) {
	p := safecall.Run(func() { err = f() })
	if p == nil {
		return err
	}
	p.Log(h.log, name, "client", id)
	if cl, ok := h.router.Lookup(id); ok && name != "OnClose" {
		cl.Conn().Close(wsproto.CloseInternalError, "internal error")
	}
	return Refuse(500, "internal error")
}

// randomNodeID picks a non-zero node id, so that nodes started without one
// do not all claim the same.
func randomNodeID() router.NodeID {
	for {
		if id := router.NodeID(rand.Uint32()); id != 0 {
			return id
		}
	}
}
