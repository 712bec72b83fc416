package api

import (
	"crypto/tls"
	"errors"
	"log/slog"
	"time"

	"github.com/wsgate/wsgate/internal/cluster"
	"github.com/wsgate/wsgate/register"
	"github.com/wsgate/wsgate/rpc"
)

// DefaultRPCListen is where a cluster member's rpc server binds unless told
// otherwise: a free port on loopback.
const DefaultRPCListen = "127.0.0.1:0"

// DefaultJoinTimeout is how long Gateway.Start waits for the first peer
// list unless told otherwise: a register on the same network answers in
// milliseconds; a few seconds of silence mean it is down or unreachable.
const DefaultJoinTimeout = 5 * time.Second

// ClusterOptions make a Gateway (or a Client) a member of a cluster: it
// joins the registers, learns its peers from them, and reaches the peers'
// clients over rpc. Zero values mean the documented defaults.
type ClusterOptions struct {
	// Registers are the registers to join, host:port each; the member
	// joins every one and merges their peer lists, so any one may be
	// down. One of Registers, EmbeddedRegister and Source is required.
	Registers []string
	// Source, if set, is where the member learns its peers instead of the
	// registers: it is called once, at join, with the member as it
	// announces itself (its id and advertised rpc address), and returns
	// for instance register.NewEtcd or register.NewStatic. Registers and
	// EmbeddedRegister must then be empty, and HeartbeatTimeout does not
	// bound how long a dead node stays listed: the source does (an etcd
	// lease's TTL). Default: the registers.
	Source func(self register.Peer) (register.Source, error)
	// EmbeddedRegister, if set, runs a register inside this node on that
	// address (host:port) and joins it, besides Registers. It lives and
	// dies with the node; the other nodes keep their last peer list while
	// it is gone. Gateways only.
	EmbeddedRegister string
	// Secret is the cluster secret, required by the registers and by
	// every rpc stream and call. Required.
	Secret string
	// RPCListen is the address the node's rpc server binds. Default
	// DefaultRPCListen. Gateways only: a Client serves nothing.
	RPCListen string
	// MaxConns caps the connections the rpc server, and the embedded
	// register, each hold open at once; over it a new connection is closed
	// at once (see rpc.Options.MaxConns). Each other node holds one, so
	// make it a few times the largest expected cluster. Default
	// rpc.DefaultMaxConns. Gateways only.
	MaxConns int
	// Advertise is the rpc address peers dial, when it differs from the
	// bound one (NAT, a container, a bind to 0.0.0.0). Default: the bound
	// address.
	Advertise string
	// ServerTLS, when set, makes the rpc server and the embedded register
	// speak TLS (set ClientAuth and ClientCAs for mTLS). Default: plaintext.
	ServerTLS *tls.Config
	// ClientTLS, when set, dials registers and peers with TLS (add
	// Certificates for mTLS). Default: plaintext.
	ClientTLS *tls.Config
	// HeartbeatInterval is how often the member and its registers (the
	// embedded one included) tell each other they are alive. Default
	// register.DefaultHeartbeatInterval.
	HeartbeatInterval time.Duration
	// HeartbeatTimeout is how long a member may stay silent before the
	// registers drop it, and so how long a dead node can stay in the
	// other nodes' peer lists. Default register.DefaultHeartbeatTimeout.
	HeartbeatTimeout time.Duration
	// CallTimeout bounds a call that needs an answer from another node
	// when its context has no deadline. Default rpc.DefaultCallTimeout.
	CallTimeout time.Duration
	// JoinTimeout bounds how long Gateway.Start waits for the first peer
	// list from a register before it listens, so that a call for a client
	// of another node does not answer ErrClientOffline just because the
	// list has not arrived yet. When it passes, Start logs a warning and
	// listens anyway (see Gateway.Start for why); Ready stays an error
	// until the list comes. Negative: do not wait. Default
	// DefaultJoinTimeout.
	JoinTimeout time.Duration
	// RegisterMaxBackoff caps the wait between attempts to reach a
	// register that is down. Default 5s.
	RegisterMaxBackoff time.Duration
	// Logger receives membership and transport events. Default: the
	// Gateway's logger, or slog.Default() for a Client.
	Logger *slog.Logger
}

func (o *ClusterOptions) setDefaults(gateway bool, log *slog.Logger) error {
	switch {
	case o.Secret == "":
		return errors.New("api: ClusterOptions.Secret is required")
	case o.Source != nil && (len(o.Registers) > 0 || o.EmbeddedRegister != ""):
		return errors.New("api: ClusterOptions.Source replaces Registers and EmbeddedRegister: give one")
	case len(o.Registers) == 0 && o.EmbeddedRegister == "" && o.Source == nil:
		return errors.New("api: ClusterOptions needs Registers, an EmbeddedRegister or a Source")
	case !gateway && o.EmbeddedRegister != "":
		return errors.New("api: a Client cannot run an EmbeddedRegister")
	}
	if o.RPCListen == "" {
		o.RPCListen = DefaultRPCListen
	}
	if o.HeartbeatInterval <= 0 {
		o.HeartbeatInterval = register.DefaultHeartbeatInterval
	}
	if o.HeartbeatTimeout <= 0 {
		o.HeartbeatTimeout = register.DefaultHeartbeatTimeout
	}
	if o.CallTimeout <= 0 {
		o.CallTimeout = rpc.DefaultCallTimeout
	}
	if o.JoinTimeout == 0 {
		o.JoinTimeout = DefaultJoinTimeout
	}
	if o.Logger == nil {
		o.Logger = log
	}
	return nil
}

// member configures the parts of member id: a gateway's serves peers with
// handler, a Client's (handler nil) serves nothing.
func (o *ClusterOptions) member(id string, handler rpc.Handler) cluster.MemberOptions {
	m := cluster.MemberOptions{
		RPC: rpc.Options{
			ID:                id,
			Secret:            o.Secret,
			Handler:           handler,
			ServerTLS:         o.ServerTLS,
			ClientTLS:         o.ClientTLS,
			CallTimeout:       o.CallTimeout,
			HeartbeatInterval: o.HeartbeatInterval,
			MaxConns:          o.MaxConns,
			Logger:            o.Logger,
		},
		RPCListen: o.RPCListen,
		Advertise: o.Advertise,
		Source:    o.Source,
		Register: register.ClientOptions{
			Addrs:             o.Registers,
			Secret:            o.Secret,
			HeartbeatInterval: o.HeartbeatInterval,
			HeartbeatTimeout:  o.HeartbeatTimeout,
			MaxBackoff:        o.RegisterMaxBackoff,
			TLS:               o.ClientTLS,
			Logger:            o.Logger,
		},
	}
	if o.EmbeddedRegister != "" {
		m.EmbeddedListen = o.EmbeddedRegister
		m.Embedded = &register.ServerOptions{
			Secret:            o.Secret,
			HeartbeatInterval: o.HeartbeatInterval,
			HeartbeatTimeout:  o.HeartbeatTimeout,
			TLS:               o.ServerTLS,
			MaxConns:          o.MaxConns,
			Logger:            o.Logger,
		}
	}
	return m
}
