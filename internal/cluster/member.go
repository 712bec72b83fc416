package cluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"

	"github.com/wsgate/wsgate/register"
	"github.com/wsgate/wsgate/router"
	"github.com/wsgate/wsgate/rpc"
)

// Member ids in the register: a gateway registers as its NodeID in 8 hex
// digits, the same digits that start its clientIDs, so the owner of a
// clientID is found in the peer list without a lookup. A member without
// clients registers as "client-" and a random NodeID: gateways leave it
// out of their rpc peers, so it is sent nothing and asked nothing.
const callerPrefix = "client-"

// CallerID is the register id of a member without clients.
func CallerID(n router.NodeID) string { return callerPrefix + n.String() }

// callerAddr is what a member without clients announces as its rpc
// address; nobody dials it.
const callerAddr = "none"

// isGatewayID reports whether a register id names a gateway node.
func isGatewayID(id string) bool {
	if len(id) != 8 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// MemberOptions are the parts of a member, configured.
type MemberOptions struct {
	// RPC configures the rpc node; its Handler is nil for a member that
	// serves nothing.
	RPC rpc.Options
	// RPCListen is where the rpc server binds, if RPC.Handler is set.
	RPCListen string
	// Advertise is the rpc address peers dial; default the bound one.
	Advertise string
	// Register configures the register client; Self is filled in, and the
	// embedded register goes first in Addrs. Unused with a Source.
	Register register.ClientOptions
	// Source, if set, makes the member's source of peers, given the member
	// as it announces itself, instead of a register client.
	Source func(self register.Peer) (register.Source, error)
	// Embedded, if set, runs a register in this process on EmbeddedListen.
	Embedded       *register.ServerOptions
	EmbeddedListen string
}

// Member is one process's place in the cluster: its rpc node, its register
// client and, for a gateway that runs one, the embedded register.
type Member struct {
	opts     MemberOptions
	node     *rpc.Node
	lis      net.Listener    // the rpc listener; nil for a member without clients
	reg      register.Source // nil until joined
	embedded *register.Server
	regAddr  net.Addr      // the embedded register's bound address
	served   chan error    // Serve's result; nil without a listener
	regDone  chan error    // the embedded register's Serve result
	listed   chan struct{} // closed once the first peer list reached the rpc node
	listOnce sync.Once
	closed   sync.Once
}

// NewMember binds the rpc listener (if o.RPC.Handler is set) and the
// embedded register, and prepares the rpc node; Join makes it take part.
func NewMember(o MemberOptions) (m *Member, err error) {
	m = &Member{opts: o, listed: make(chan struct{})}
	defer func() {
		if err != nil {
			m.Abort()
		}
	}()
	m.node, err = rpc.New(o.RPC)
	if err != nil {
		return m, fmt.Errorf("cluster: rpc: %w", err)
	}
	if o.Embedded != nil {
		m.embedded, err = register.NewServer(*o.Embedded)
		if err != nil {
			return m, fmt.Errorf("cluster: embedded register: %w", err)
		}
		lis, err := net.Listen("tcp", o.EmbeddedListen)
		if err != nil {
			return m, fmt.Errorf("cluster: embedded register: %w", err)
		}
		m.regAddr = lis.Addr()
		m.regDone = make(chan error, 1)
		go func() { m.regDone <- m.embedded.Serve(lis) }()
		m.opts.Register.Addrs = append([]string{lis.Addr().String()}, o.Register.Addrs...)
	}
	if o.RPC.Handler != nil {
		m.lis, err = net.Listen("tcp", o.RPCListen)
		if err != nil {
			return m, fmt.Errorf("cluster: rpc listen: %w", err)
		}
		m.served = make(chan error, 1)
		go func() { m.served <- m.node.Serve(m.lis) }()
	}
	return m, nil
}

// Node is the member's rpc node, for its Dispatcher.
func (m *Member) Node() *rpc.Node { return m.node }

// ID is the member's id in the register and between nodes.
func (m *Member) ID() string { return m.opts.RPC.ID }

// advertised is the rpc address the member announces.
func (m *Member) advertised() string {
	switch {
	case m.opts.Advertise != "":
		return m.opts.Advertise
	case m.lis != nil:
		return m.lis.Addr().String()
	}
	return callerAddr
}

// Join registers the member and keeps its rpc peers in step with the
// source's list.
func (m *Member) Join() error {
	reg, err := m.newSource(register.Peer{ID: m.ID(), Addr: m.advertised()})
	if err != nil {
		return err
	}
	reg.OnChange(m.setPeers)
	if err := reg.Start(context.Background()); err != nil {
		return fmt.Errorf("cluster: join: %w", err)
	}
	m.reg = reg
	return nil
}

// newSource makes the source of peers: the configured one, or a client of
// the registers.
func (m *Member) newSource(self register.Peer) (register.Source, error) {
	if m.opts.Source != nil {
		src, err := m.opts.Source(self)
		if err != nil {
			return nil, fmt.Errorf("cluster: source of peers: %w", err)
		}
		return src, nil
	}
	o := m.opts.Register
	o.Self = self
	reg, err := register.NewClient(o)
	if err != nil {
		return nil, fmt.Errorf("cluster: register client: %w", err)
	}
	return reg, nil
}

// setPeers hands the gateways of a register list to the rpc node.
func (m *Member) setPeers(list []register.Peer) {
	peers := make([]rpc.Peer, 0, len(list))
	for _, p := range list {
		if isGatewayID(p.ID) {
			peers = append(peers, rpc.Peer{ID: p.ID, Addr: p.Addr})
		}
	}
	m.node.SetPeers(peers)
	m.listOnce.Do(func() { close(m.listed) })
}

// The accessors below take a nil *Member for a node that is no member of
// a cluster: it has no peers, nothing to join and no cluster addresses.

// Peers lists the gateway nodes this member currently reaches, by id.
func (m *Member) Peers() []string {
	if m == nil {
		return nil
	}
	return m.node.Peers()
}

// Ready is nil once the member has its first peer list (or before Join),
// unless its source says otherwise now: the latest register answer
// refused its secret, or its etcd lease is not being renewed. Losing every
// register later does not make it unready: the member keeps delivering
// with its last list, as the cluster promises. Losing etcd does (the
// member still delivers): its lease lapses and its peers drop it.
func (m *Member) Ready() error {
	if m == nil || m.reg == nil {
		return nil
	}
	if err := m.reg.Ready(); err != nil {
		return err
	}
	select {
	case <-m.listed:
		return nil
	default:
		return errors.New("no peer list from a register yet")
	}
}

// WaitPeers waits until the first peer list has reached the rpc node
// (nil), a register has refused the secret before any accepted it (an
// error wrapping register.ErrSecretRefused), or ctx ends (its error). Nil
// before Join.
func (m *Member) WaitPeers(ctx context.Context) error {
	if m == nil || m.reg == nil {
		return nil
	}
	if err := m.reg.Joined(ctx); err != nil {
		return fmt.Errorf("cluster: first peer list: %w", err)
	}
	// Accepted: the list is on its way through the OnChange goroutine.
	select {
	case <-m.listed:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("cluster: first peer list: %w", ctx.Err())
	}
}

// LeaveRegisters says goodbye to the registers, so that peers stop routing
// to this member, while its rpc node keeps running: what it still sends
// (an OnClose telling others a client left) goes out. Its peer list stays
// as it was. Leave or Abort later closes the rest.
func (m *Member) LeaveRegisters() {
	if m == nil || m.reg == nil {
		return
	}
	m.reg.Close()
}

// Joined waits until a register has accepted the member, one has refused
// its secret, or ctx ends (see register.Client.Joined). Nil before Join.
func (m *Member) Joined(ctx context.Context) error {
	if m == nil || m.reg == nil {
		return nil
	}
	return m.reg.Joined(ctx)
}

// RPCAddr is the rpc server's bound address, nil if it serves nothing.
func (m *Member) RPCAddr() net.Addr {
	if m == nil || m.lis == nil {
		return nil
	}
	return m.lis.Addr()
}

// RegisterStats are the embedded register's counters; zero when the
// member runs none.
func (m *Member) RegisterStats() register.ServerStats {
	if m.embedded == nil {
		return register.ServerStats{}
	}
	return m.embedded.Stats()
}

// RegisterAddr is the embedded register's bound address, nil if it runs
// none.
func (m *Member) RegisterAddr() net.Addr {
	if m == nil {
		return nil
	}
	return m.regAddr
}

// Leave sends what is queued for peers (until ctx ends), says goodbye to
// the registers, so that peers stop sending here, and then closes the rpc
// node and the embedded register.
func (m *Member) Leave(ctx context.Context) error {
	flushErr := m.node.Flush(ctx)
	m.Abort()
	if flushErr != nil {
		return fmt.Errorf("cluster: leave: %w", flushErr)
	}
	return nil
}

// Abort leaves the registers and closes everything, without waiting for
// queued commands.
func (m *Member) Abort() {
	m.closed.Do(m.closeAll)
}

func (m *Member) closeAll() {
	if m.reg != nil {
		m.reg.Close()
	}
	if m.node != nil {
		m.node.Close()
	}
	if m.lis != nil && m.served != nil {
		<-m.served // Close stopped the server, which closed the listener
	} else if m.lis != nil {
		m.lis.Close()
	}
	if m.embedded != nil {
		m.embedded.Stop()
		if m.regDone != nil {
			<-m.regDone
		}
	}
}
