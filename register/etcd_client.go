package register

import (
	"context"
	"fmt"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// run makes the etcd client, then keeps the node registered and the list
// watched until ctx ends. The client is made here, in the background,
// because with a user and password it authenticates at once: a node must
// be able to start while etcd is down and join when it returns.
func (e *Etcd) run(ctx context.Context) {
	cli := e.connect(ctx)
	if cli == nil {
		return
	}
	e.cli = cli // before the loops start, and read by Close after they end
	e.wg.Go(func() { e.keepRegistered(ctx) })
	e.wg.Go(func() { e.keepWatching(ctx) })
}

// connect makes the etcd client, retrying with backoff while etcd cannot
// be reached; nil when ctx ends or etcd refuses the credentials (which
// Joined then returns).
func (e *Etcd) connect(ctx context.Context) *clientv3.Client {
	retry := e.newBackoff()
	for {
		// Not on ctx: Close revokes the lease with the client after ctx
		// ended.
		cli, err := clientv3.New(e.cfg)
		if err == nil {
			return cli
		}
		err = fmt.Errorf("connect to %s: %w", strings.Join(e.opts.Endpoints, ","), err)
		if ctx.Err() != nil {
			return nil
		}
		if e.refusedForGood(err) {
			e.opts.Logger.Error("etcd refuses this node", "key", e.key, "err", err)
			return nil
		}
		e.setUnregistered(err)
		e.opts.Logger.Warn("etcd unreachable", "endpoints", strings.Join(e.opts.Endpoints, ","), "err", err)
		if !retry.wait(ctx) {
			return nil
		}
	}
}
