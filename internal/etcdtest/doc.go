// Package etcdtest runs wsgate's membership on a real etcd: an embedded
// etcd server (go.etcd.io/etcd/server/v3/embed) on loopback ports, in the
// test process, with wsgate nodes as separate processes.
//
// It is a module of its own so that the etcd server, a heavy dependency,
// stays out of the main module's go.mod; the main module needs only
// etcd's client. `go test ./...` at the repository root skips it; run it
// from this folder (.ci/run does).
package etcdtest
