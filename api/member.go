package api

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"

	"github.com/wsgate/wsgate/register"
	"github.com/wsgate/wsgate/router"
	"github.com/wsgate/wsgate/rpc"
)

// Member ids in the register: a Gateway registers as its NodeID in 8 hex
// digits, the same digits that start its clientIDs, so the owner of a
// clientID is found in the peer list without a lookup. A connection-less
// Client registers as "client-" and a random NodeID: gateways leave it out
// of their rpc peers, so it is sent nothing and asked nothing.
const clientMemberPrefix = "client-"

// clientMemberAddr is what a Client announces as its rpc address; nobody
// dials it.
const clientMemberAddr = "none"

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

// member is one process's place in the cluster: its rpc node, its register
// client and, for a gateway that runs one, the embedded register.
type member struct {
	id       string
	opts     ClusterOptions
	node     *rpc.Node
	lis      net.Listener     // the rpc listener; nil for a Client
	reg      *register.Client // nil until joined
	embedded *register.Server
	regAddr  net.Addr   // the embedded register's bound address
	served   chan error // Serve's result; nil for a Client
	regDone  chan error // the embedded register's Serve result
	closed   sync.Once
}

// newMember binds the rpc listener (if handler is set) and the embedded
// register, and prepares the rpc node; join makes it take part.
func newMember(id string, o ClusterOptions, handler rpc.Handler) (m *member, err error) {
	m = &member{id: id, opts: o}
	defer func() {
		if err != nil {
			m.abort()
		}
	}()
	m.node, err = rpc.New(rpc.Options{
		ID:                id,
		Secret:            o.Secret,
		Handler:           handler,
		ServerTLS:         o.ServerTLS,
		ClientTLS:         o.ClientTLS,
		CallTimeout:       o.CallTimeout,
		HeartbeatInterval: o.HeartbeatInterval,
		MaxConns:          o.MaxConns,
		Logger:            o.Logger,
	})
	if err != nil {
		return m, fmt.Errorf("api: rpc: %w", err)
	}
	if o.EmbeddedRegister != "" {
		m.embedded, err = register.NewServer(register.ServerOptions{
			Secret:            o.Secret,
			HeartbeatInterval: o.HeartbeatInterval,
			HeartbeatTimeout:  o.HeartbeatTimeout,
			TLS:               o.ServerTLS,
			MaxConns:          o.MaxConns,
			Logger:            o.Logger,
		})
		if err != nil {
			return m, fmt.Errorf("api: embedded register: %w", err)
		}
		lis, err := net.Listen("tcp", o.EmbeddedRegister)
		if err != nil {
			return m, fmt.Errorf("api: embedded register: %w", err)
		}
		m.regAddr = lis.Addr()
		m.regDone = make(chan error, 1)
		go func() { m.regDone <- m.embedded.Serve(lis) }()
		m.opts.Registers = append([]string{lis.Addr().String()}, o.Registers...)
	}
	if handler != nil {
		m.lis, err = net.Listen("tcp", o.RPCListen)
		if err != nil {
			return m, fmt.Errorf("api: rpc listen: %w", err)
		}
		m.served = make(chan error, 1)
		go func() { m.served <- m.node.Serve(m.lis) }()
	}
	return m, nil
}

// advertised is the rpc address the member announces.
func (m *member) advertised() string {
	switch {
	case m.opts.Advertise != "":
		return m.opts.Advertise
	case m.lis != nil:
		return m.lis.Addr().String()
	}
	return clientMemberAddr
}

// join registers the member and keeps its rpc peers in step with the
// register's list.
func (m *member) join() error {
	reg, err := register.NewClient(register.ClientOptions{
		Addrs:             m.opts.Registers,
		Secret:            m.opts.Secret,
		Self:              register.Peer{ID: m.id, Addr: m.advertised()},
		HeartbeatInterval: m.opts.HeartbeatInterval,
		HeartbeatTimeout:  m.opts.HeartbeatTimeout,
		MaxBackoff:        m.opts.RegisterMaxBackoff,
		TLS:               m.opts.ClientTLS,
		Logger:            m.opts.Logger,
	})
	if err != nil {
		return fmt.Errorf("api: register client: %w", err)
	}
	reg.OnChange(m.setPeers)
	if err := reg.Start(context.Background()); err != nil {
		return fmt.Errorf("api: join: %w", err)
	}
	m.reg = reg
	return nil
}

// setPeers hands the gateways of a register list to the rpc node.
func (m *member) setPeers(list []register.Peer) {
	peers := make([]rpc.Peer, 0, len(list))
	for _, p := range list {
		if isGatewayID(p.ID) {
			peers = append(peers, rpc.Peer{ID: p.ID, Addr: p.Addr})
		}
	}
	m.node.SetPeers(peers)
}

// peers lists the gateway nodes this member currently reaches, by id.
func (m *member) peers() []string {
	return m.node.Peers()
}

// leave sends what is queued for peers (until ctx ends), says goodbye to
// the registers, so that peers stop sending here, and then closes the rpc
// node and the embedded register.
func (m *member) leave(ctx context.Context) error {
	flushErr := m.node.Flush(ctx)
	m.abort()
	if flushErr != nil {
		return fmt.Errorf("api: leave: %w", flushErr)
	}
	return nil
}

// abort leaves the registers and closes everything, without waiting for
// queued commands.
func (m *member) abort() {
	m.closed.Do(m.closeAll)
}

func (m *member) closeAll() {
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

// randomNodeID picks a non-zero node id, so that nodes started without one
// do not all claim the same.
func randomNodeID() router.NodeID {
	for {
		if id := router.NodeID(rand.Uint32()); id != 0 {
			return id
		}
	}
}
