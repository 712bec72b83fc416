package register

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// keepWatching keeps the peer list in step with the prefix until ctx
// ends: it reads the prefix, then watches it from just after that read,
// so every change is applied once and in etcd's order. While etcd is
// unreachable the list stays as it was; the client's watch resumes from
// the last revision it saw when etcd returns. A watch that ends (history
// compacted, the member lost its leader) is started afresh from a read.
func (e *Etcd) keepWatching(ctx context.Context) {
	retry := e.newBackoff()
	for ctx.Err() == nil {
		nodes, rev, err := e.load(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			e.opts.Logger.Warn("etcd: read the peer list", "prefix", e.opts.Prefix, "err", err)
			if !retry.wait(ctx) {
				return
			}
			continue
		}
		retry.reset()
		e.publish(nodes)
		err = e.watch(ctx, nodes, rev)
		switch {
		case ctx.Err() != nil:
			return
		case errors.Is(err, errReload):
			e.opts.Logger.Debug("etcd: reading the peer list again after registering", "prefix", e.opts.Prefix)
		default:
			e.opts.Logger.Warn("etcd: watch ended; reading the peer list again", "prefix", e.opts.Prefix, "err", err)
		}
	}
}

// load reads every node under the prefix, by key, and the revision read.
func (e *Etcd) load(ctx context.Context) (map[string]Peer, int64, error) {
	opCtx, cancel := context.WithTimeout(ctx, e.opts.DialTimeout)
	defer cancel()
	resp, err := e.cli.Get(opCtx, e.opts.Prefix, clientv3.WithPrefix())
	if err != nil {
		return nil, 0, err
	}
	nodes := make(map[string]Peer, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		if p, ok := e.decode(kv); ok {
			nodes[string(kv.Key)] = p
		}
	}
	return nodes, resp.Header.Revision, nil
}

// watch applies the changes after rev to nodes, publishing the list after
// each batch, until the watch ends.
func (e *Etcd) watch(ctx context.Context, nodes map[string]Peer, rev int64) error {
	// The watch is canceled when its etcd member has no leader, so a node
	// on the wrong side of a partition reads again (from a member that
	// has one) instead of waiting on a stale member.
	ctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	changes := e.cli.Watch(ctx, e.opts.Prefix, clientv3.WithPrefix(), clientv3.WithRev(rev+1))
	for {
		var resp clientv3.WatchResponse
		select {
		case r, ok := <-changes:
			if !ok {
				return fmt.Errorf("watch of %s closed", e.opts.Prefix)
			}
			resp = r
		case <-e.reload:
			return errReload
		}
		if err := resp.Err(); err != nil {
			return err
		}
		for _, ev := range resp.Events {
			key := string(ev.Kv.Key)
			switch ev.Type {
			case mvccpb.PUT:
				if p, ok := e.decode(ev.Kv); ok {
					nodes[key] = p
				} else {
					delete(nodes, key)
				}
			case mvccpb.DELETE:
				delete(nodes, key)
				if key == e.key {
					signal(e.lost)
				}
			}
		}
		e.publish(nodes)
	}
}

// errReload ends a watch so that the list is read afresh.
var errReload = errors.New("reload asked")

// decode reads a node's record; a key or value that is no node record
// (written by something else under the prefix) is skipped and logged.
func (e *Etcd) decode(kv *mvccpb.KeyValue) (Peer, bool) {
	id := strings.TrimPrefix(string(kv.Key), e.opts.Prefix)
	var r etcdRecord
	err := json.Unmarshal(kv.Value, &r)
	switch {
	case err != nil:
	case r.ID != id:
		err = fmt.Errorf("record of node %q under the key of %q", r.ID, id)
	case r.Addr == "" || len(r.ID) > maxIDLen || len(r.Addr) > maxAddrLen:
		err = fmt.Errorf("record of node %q has no address or over-long fields", r.ID)
	}
	if err != nil {
		e.opts.Logger.Warn("etcd: skipping a key that is no node record", "key", string(kv.Key), "err", err)
		return Peer{}, false
	}
	return Peer{ID: r.ID, Addr: r.Addr, Incarnation: r.Incarnation}, true
}

// publish hands the list, without this node, to the feed.
func (e *Etcd) publish(nodes map[string]Peer) {
	peers := make([]Peer, 0, len(nodes))
	for _, p := range nodes {
		if p.ID != e.opts.Self.ID {
			peers = append(peers, p)
		}
	}
	sortPeers(peers)
	e.feed.set(peers)
}
