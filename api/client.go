package api

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/wsgate/wsgate/internal/cluster"
	"github.com/wsgate/wsgate/router"
)

// Client is a connection-less cluster member: a process that holds no
// WebSockets but calls the same Api as a gateway node, for instance a web
// backend that pushes to users (GatewayWorker's GatewayClient). It joins
// the registers to learn the gateway nodes and reaches them over rpc; it
// serves nothing, and the gateways never send it anything.
//
// Its Api sees no clients of its own: every call goes to the gateways.
// Until the first peer list has arrived (see Client.Peers) it sees no
// gateway either.
type Client struct {
	member *cluster.Member
	api    Api
	closed sync.Once
}

// NewClient joins the cluster described by o (Registers and Secret are
// required; EmbeddedRegister and RPCListen do not apply) and returns at
// once; the peer list arrives in the background.
func NewClient(o ClusterOptions) (*Client, error) {
	if err := o.setDefaults(false, slog.Default()); err != nil {
		return nil, err
	}
	m, err := cluster.NewMember(o.member(cluster.CallerID(randomNodeID()), nil))
	if err != nil {
		return nil, fmt.Errorf("api: %w", err)
	}
	if err := m.Join(); err != nil {
		m.Abort()
		return nil, fmt.Errorf("api: %w", err)
	}
	// No clients of its own: an empty router answers for its share.
	empty := router.New(router.Options{Shards: 1})
	return &Client{member: m, api: nodeAPI{d: cluster.NewDispatcher(empty, 0, m.Node())}}, nil
}

// Api is the cluster's Api.
func (c *Client) Api() Api { return c.api }

// ID is the member's id in the register: "client-" and 8 hex digits.
func (c *Client) ID() string { return c.member.ID() }

// Peers lists the ids of the gateway nodes the Client currently reaches.
func (c *Client) Peers() []string { return c.member.Peers() }

// Close sends what is still queued for the gateways (until ctx ends),
// leaves the registers and closes the connections.
func (c *Client) Close(ctx context.Context) error {
	var err error
	c.closed.Do(func() { err = c.member.Leave(ctx) })
	return err
}
