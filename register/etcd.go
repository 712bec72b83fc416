package register

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
)

// DefaultEtcdPrefix is where nodes register in etcd unless told otherwise.
const DefaultEtcdPrefix = "/wsgate/"

// EtcdOptions configures an Etcd source.
type EtcdOptions struct {
	// Endpoints are the etcd members, host:port each (or with an http://
	// or https:// scheme). Required.
	Endpoints []string
	// Prefix is the key prefix of the cluster's nodes: each node is the
	// key Prefix+ID. Several clusters can share an etcd under different
	// prefixes. A missing trailing "/" is added. Default DefaultEtcdPrefix.
	Prefix string
	// Self is this node. ID and Addr are required; a zero Incarnation is
	// replaced by the time NewEtcd runs, in nanoseconds.
	Self Peer
	// TTL is the lease's time to live: a node that stops renewing it
	// (crash, freeze, partition) leaves every peer list within it. etcd
	// counts it in whole seconds, so it is rounded up. Default 3s.
	TTL time.Duration
	// DialTimeout bounds each request to etcd. Default 2s.
	DialTimeout time.Duration
	// MinBackoff and MaxBackoff bound the wait between attempts while etcd
	// is unreachable. The maximum is small so that a node rejoins soon after
	// etcd returns. Defaults 100ms and 1s.
	MinBackoff, MaxBackoff time.Duration
	// TLS, when set, dials etcd with TLS (add Certificates for client
	// certificate auth). Default: plaintext.
	TLS *tls.Config
	// Username and Password authenticate with etcd when auth is enabled
	// there. Default: none.
	Username, Password string
	// Logger receives registration changes. Default: discard.
	Logger *slog.Logger
}

func (o *EtcdOptions) setDefaults() error {
	switch {
	case len(o.Endpoints) == 0:
		return errors.New("register: EtcdOptions.Endpoints is empty")
	case o.Self.ID == "" || o.Self.Addr == "":
		return errors.New("register: EtcdOptions.Self needs an ID and an Addr")
	case len(o.Self.ID) > maxIDLen || len(o.Self.Addr) > maxAddrLen:
		return errors.New("register: EtcdOptions.Self has an over-long ID or Addr")
	case strings.Contains(o.Self.ID, "/"):
		return fmt.Errorf("register: node id %q has a slash, which etcd keys cannot tell apart", o.Self.ID)
	}
	if o.Prefix == "" {
		o.Prefix = DefaultEtcdPrefix
	}
	if !strings.HasSuffix(o.Prefix, "/") {
		o.Prefix += "/"
	}
	if o.Self.Incarnation == 0 {
		o.Self.Incarnation = uint64(time.Now().UnixNano())
	}
	if o.TTL <= 0 {
		o.TTL = 3 * time.Second
	}
	o.TTL = (o.TTL + time.Second - 1).Truncate(time.Second)
	if o.DialTimeout <= 0 {
		o.DialTimeout = 2 * time.Second
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = 100 * time.Millisecond
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = max(time.Second, o.MinBackoff)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// ErrNodeIDTaken is what Joined returns when another live node holds this
// node's ID in etcd (a different incarnation under the key).
var ErrNodeIDTaken = errors.New("register: the node id is taken by another live node")

// ErrCredentialsRefused is what Joined returns when etcd refuses the
// user or password, or the user may not write under the prefix.
var ErrCredentialsRefused = errors.New("register: etcd refused the credentials")

// Etcd keeps a node registered in etcd and keeps the peer list from it.
//
// The node's key, Prefix+ID, holds its address and incarnation and lives on
// a lease that the node keeps alive: a node that stops renewing it leaves
// the key space within the TTL, and every node watching the prefix drops
// it. The key is created only if absent, so a second live node with the
// same ID is refused. While etcd is unreachable the node keeps its last
// list and is not ready; when etcd returns it registers again on a new
// lease. Close revokes the lease, so peers drop the node at once.
type Etcd struct {
	opts EtcdOptions
	cfg  clientv3.Config
	cli  *clientv3.Client // set by run before the loops start; nil until etcd was reached
	feed *feed
	key  string
	val  string // this node's record, as stored

	mu        sync.Mutex
	lease     clientv3.LeaseID // the live lease; 0 while unregistered
	renewed   time.Time        // the lease's last renewal
	why       error            // why the node is not registered, if known
	joinedErr error
	joined    chan struct{} // closed once registered, or refused for good
	reload    chan struct{} // capacity 1: the watch reads the list afresh
	lost      chan struct{} // capacity 1: the watch saw the node's key deleted
	started   bool
	cancel    context.CancelFunc
	wg        sync.WaitGroup
}

// etcdRecord is a node's value under its key.
type etcdRecord struct {
	ID          string `json:"id"`
	Addr        string `json:"addr"`
	Incarnation uint64 `json:"incarnation"`
}

// NewEtcd checks opts; Start makes the node join. It does not reach etcd.
func NewEtcd(opts EtcdOptions) (*Etcd, error) {
	opts.Endpoints = slices.Clone(opts.Endpoints)
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	val, err := json.Marshal(etcdRecord{ID: opts.Self.ID, Addr: opts.Self.Addr, Incarnation: opts.Self.Incarnation})
	if err != nil {
		return nil, fmt.Errorf("register: etcd record: %w", err)
	}
	cfg := clientv3.Config{
		Endpoints:   opts.Endpoints,
		DialTimeout: opts.DialTimeout,
		// Find a dead connection (a partition, not only a closed socket)
		// within about a TTL.
		DialKeepAliveTime:    opts.TTL,
		DialKeepAliveTimeout: opts.TTL,
		TLS:                  opts.TLS,
		Username:             opts.Username,
		Password:             opts.Password,
		Logger:               zap.NewNop(),
		// gRPC's own reconnect backoff grows to two minutes; ours is
		// capped so that a node is back soon after etcd is.
		DialOptions: []grpc.DialOption{grpc.WithConnectParams(grpc.ConnectParams{
			Backoff: backoff.Config{
				BaseDelay:  opts.MinBackoff,
				Multiplier: 1.6,
				Jitter:     0.2,
				MaxDelay:   opts.MaxBackoff,
			},
			MinConnectTimeout: opts.DialTimeout,
		})},
	}
	return &Etcd{
		opts:   opts,
		cfg:    cfg,
		feed:   newFeed(),
		key:    opts.Prefix + opts.Self.ID,
		val:    string(val),
		joined: make(chan struct{}),
		reload: make(chan struct{}, 1),
		lost:   make(chan struct{}, 1),
	}, nil
}

// Self returns this node as registered, with its incarnation.
func (e *Etcd) Self() Peer { return e.opts.Self }

// Key is this node's key in etcd.
func (e *Etcd) Key() string { return e.key }

// Peers returns the current list, sorted by ID, without this node.
func (e *Etcd) Peers() []Peer { return e.feed.current() }

// OnChange adds fn to the functions called with each new list; see Source.
func (e *Etcd) OnChange(fn func([]Peer)) { e.feed.onChange(fn) }

// Start registers and watches in the background until ctx ends or Close
// is called. It returns at once.
func (e *Etcd) Start(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.started {
		return errors.New("register: etcd source already started")
	}
	e.started = true
	ctx, e.cancel = context.WithCancel(ctx)
	e.wg.Go(func() { e.run(ctx) })
	e.wg.Go(func() { e.feed.run(ctx) })
	return nil
}

// Joined waits until the node is first registered (nil), or etcd refused it
// for good (its ID is taken, wrapping ErrNodeIDTaken, or the credentials are
// refused, wrapping ErrCredentialsRefused), or ctx ends.
func (e *Etcd) Joined(ctx context.Context) error {
	select {
	case <-e.joined:
	case <-ctx.Done():
		return ctx.Err()
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.joinedErr
}

// Ready is nil while the node's lease is renewed; otherwise it says why
// not. Renewals come every third of the TTL, so one missed is tolerated.
func (e *Etcd) Ready() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case e.lease == 0 && e.why != nil:
		return fmt.Errorf("not registered in etcd: %w", e.why)
	case e.lease == 0:
		return errors.New("not registered in etcd yet")
	case time.Since(e.renewed) > 2*e.opts.TTL/3:
		return fmt.Errorf("etcd lease not renewed for %v", time.Since(e.renewed).Round(time.Millisecond))
	}
	return nil
}

// Close stops the background work, then revokes the lease so that peers
// drop this node at once, and closes the etcd client.
func (e *Etcd) Close() error {
	e.mu.Lock()
	cancel := e.cancel
	e.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	e.wg.Wait()
	e.mu.Lock()
	lease := e.lease
	e.lease = 0
	e.mu.Unlock()
	if e.cli == nil {
		return nil // etcd never reached: nothing to revoke or close
	}
	var err error
	if lease != 0 {
		ctx, cancel := context.WithTimeout(context.Background(), e.opts.DialTimeout)
		_, err = e.cli.Revoke(ctx, lease)
		cancel()
		if err != nil {
			err = fmt.Errorf("register: revoke etcd lease: %w", err)
		}
	}
	return errors.Join(err, e.cli.Close())
}
