package register

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// keepRegistered holds the node's key on a live lease until ctx ends:
// it registers, follows the lease's renewals, and registers again on a
// new lease whenever the old one is lost (etcd down longer than the TTL,
// a frozen process, a partition).
func (e *Etcd) keepRegistered(ctx context.Context) {
	retry := e.newBackoff()
	for ctx.Err() == nil {
		lease, renewals, err := e.register(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if e.refusedForGood(err) {
				e.opts.Logger.Error("etcd refuses this node", "key", e.key, "err", err)
				return
			}
			e.setUnregistered(err)
			e.opts.Logger.Warn("etcd registration failed", "key", e.key, "err", err)
			if !retry.wait(ctx) {
				return
			}
			continue
		}
		retry.reset()
		e.setRegistered(lease)
		e.opts.Logger.Info("registered in etcd", "key", e.key, "lease", fmt.Sprintf("%x", int64(lease)))
		// Read the list afresh: after an outage etcd may have come back
		// with other history (restored, or without its data), which a
		// watch resumed at the old revision would not see.
		signal(e.reload)
		err = e.hold(ctx, lease, renewals)
		if ctx.Err() != nil {
			return
		}
		e.setUnregistered(err)
		e.opts.Logger.Warn("etcd registration lost; registering again", "key", e.key, "err", err)
	}
}

// hold follows the lease's renewals until it is lost: the client closes
// the channel once the lease could not be renewed within its TTL or etcd
// says it is gone, and the watch reports the node's key deleted (by
// hand, or with an expired lease).
func (e *Etcd) hold(ctx context.Context, lease clientv3.LeaseID, renewals <-chan *clientv3.LeaseKeepAliveResponse) error {
	for {
		select {
		case _, ok := <-renewals:
			if !ok {
				return errors.New("lease not renewed within its TTL")
			}
			e.noteRenewal(lease)
		case <-e.lost:
			// The deletion seen may be older than this lease: check.
			if e.stillHeld(ctx, lease) {
				continue
			}
			e.revoke(lease)
			return fmt.Errorf("key %s no longer on this node's lease", e.key)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// stillHeld reports whether the node's key is on lease; when etcd does
// not answer it says yes, and the renewals tell.
func (e *Etcd) stillHeld(ctx context.Context, lease clientv3.LeaseID) bool {
	opCtx, cancel := context.WithTimeout(ctx, e.opts.DialTimeout)
	defer cancel()
	resp, err := e.cli.Get(opCtx, e.key)
	if err != nil {
		return true
	}
	return len(resp.Kvs) == 1 && clientv3.LeaseID(resp.Kvs[0].Lease) == lease
}

// signal wakes the reader of a channel of capacity 1 without waiting.
func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// register grants a lease, puts the node's key on it, and starts renewing
// it.
func (e *Etcd) register(ctx context.Context) (clientv3.LeaseID, <-chan *clientv3.LeaseKeepAliveResponse, error) {
	if !e.hasJoined() {
		if err := e.waitForPredecessor(ctx); err != nil {
			return 0, nil, err
		}
	}
	opCtx, cancel := context.WithTimeout(ctx, e.opts.DialTimeout)
	grant, err := e.cli.Grant(opCtx, int64(e.opts.TTL/time.Second))
	cancel()
	if err != nil {
		return 0, nil, fmt.Errorf("grant a lease: %w", err)
	}
	if err := e.claim(ctx, grant.ID); err != nil {
		e.revoke(grant.ID)
		return 0, nil, err
	}
	renewals, err := e.cli.KeepAlive(ctx, grant.ID)
	if err != nil {
		e.revoke(grant.ID)
		return 0, nil, fmt.Errorf("keep the lease alive: %w", err)
	}
	return grant.ID, renewals, nil
}

// waitForPredecessor waits, for a TTL and a second at most, while the
// node's key is held by another incarnation: it may be this node's own
// crashed predecessor, whose lease has yet to expire. A node restarted at
// once after a crash then starts, where a second live node with the same
// ID is still refused. It returns nil when the key is free (or the
// node's own), the claim then deciding.
func (e *Etcd) waitForPredecessor(ctx context.Context) error {
	deadline := time.Now().Add(e.opts.TTL + time.Second)
	for {
		opCtx, cancel := context.WithTimeout(ctx, e.opts.DialTimeout)
		resp, err := e.cli.Get(opCtx, e.key)
		cancel()
		if err != nil {
			return fmt.Errorf("read %s: %w", e.key, err)
		}
		if len(resp.Kvs) == 0 || time.Now().After(deadline) {
			return nil
		}
		var held etcdRecord
		if json.Unmarshal(resp.Kvs[0].Value, &held) == nil && held.Incarnation == e.opts.Self.Incarnation {
			return nil
		}
		select {
		case <-time.After(e.opts.TTL / 10):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// claim puts the node's key on lease if the key is absent, or if it holds
// this very incarnation (a registration from a lease since lost). A key of
// another incarnation is another live node with this ID: ErrNodeIDTaken.
func (e *Etcd) claim(ctx context.Context, lease clientv3.LeaseID) error {
	opCtx, cancel := context.WithTimeout(ctx, e.opts.DialTimeout)
	defer cancel()
	put := clientv3.OpPut(e.key, e.val, clientv3.WithLease(lease))
	resp, err := e.cli.Txn(opCtx).
		If(clientv3.Compare(clientv3.CreateRevision(e.key), "=", 0)).
		Then(put).
		Else(clientv3.OpGet(e.key)).
		Commit()
	if err != nil {
		return fmt.Errorf("create %s: %w", e.key, err)
	}
	if resp.Succeeded {
		return nil
	}
	kvs := resp.Responses[0].GetResponseRange().GetKvs()
	if len(kvs) == 0 {
		return fmt.Errorf("create %s: it went away meanwhile", e.key)
	}
	var held etcdRecord
	if err := json.Unmarshal(kvs[0].Value, &held); err != nil || held.Incarnation != e.opts.Self.Incarnation {
		return fmt.Errorf("%w: %s holds %q", ErrNodeIDTaken, e.key, kvs[0].Value)
	}
	// Our own earlier record: move it to the new lease, unless it changed
	// since we read it.
	resp, err = e.cli.Txn(opCtx).
		If(clientv3.Compare(clientv3.ModRevision(e.key), "=", kvs[0].ModRevision)).
		Then(put).
		Commit()
	if err != nil {
		return fmt.Errorf("renew %s: %w", e.key, err)
	}
	if !resp.Succeeded {
		return fmt.Errorf("renew %s: it changed meanwhile", e.key)
	}
	return nil
}

// revoke gives a lease back, best effort: one left behind expires anyway.
func (e *Etcd) revoke(lease clientv3.LeaseID) {
	ctx, cancel := context.WithTimeout(context.Background(), e.opts.DialTimeout)
	defer cancel()
	e.cli.Revoke(ctx, lease)
}

// refusedForGood reports, before the node first joined, an answer that
// retrying will not change: the ID is taken or the credentials are wrong.
// Joined returns it. After a join the node keeps trying instead.
func (e *Etcd) refusedForGood(err error) bool {
	if e.hasJoined() || !errors.Is(err, ErrNodeIDTaken) && !credentialsRefused(err) {
		return false
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.why, e.joinedErr = err, fmt.Errorf("register: etcd: %w", err)
	if !errors.Is(err, ErrNodeIDTaken) {
		e.joinedErr = fmt.Errorf("%w: %w", ErrCredentialsRefused, err)
	}
	close(e.joined)
	return true
}

// credentialsRefused reports whether etcd refused the user or password,
// or the user may not do what the node needs.
func credentialsRefused(err error) bool {
	for ; err != nil; err = errors.Unwrap(err) {
		if rpcErr := rpctypes.Error(err); errors.Is(rpcErr, rpctypes.ErrAuthFailed) || errors.Is(rpcErr, rpctypes.ErrPermissionDenied) {
			return true
		}
	}
	return false
}

func (e *Etcd) hasJoined() bool {
	select {
	case <-e.joined:
		return true
	default:
		return false
	}
}

func (e *Etcd) setRegistered(lease clientv3.LeaseID) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.lease, e.renewed, e.why = lease, time.Now(), nil
	select {
	case <-e.joined:
	default:
		close(e.joined)
	}
}

func (e *Etcd) noteRenewal(lease clientv3.LeaseID) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.lease == lease {
		e.renewed = time.Now()
	}
}

func (e *Etcd) setUnregistered(why error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.lease, e.why = 0, why
}
