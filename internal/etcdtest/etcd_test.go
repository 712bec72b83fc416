package etcdtest

import (
	"fmt"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	"go.etcd.io/etcd/server/v3/embed"
)

// etcdReadyWithin bounds an etcd member's start: an election included,
// on a loaded machine.
const etcdReadyWithin = 20 * time.Second

// etcdMember is one embedded etcd server, stoppable and restartable on the
// same ports and data.
type etcdMember struct {
	t            testing.TB
	name, dir    string
	client, peer string // host:port each
	initial      string // the initial cluster
	srv          *embed.Etcd
	tls          *transport.TLSInfo // nil: plaintext
}

// etcdCluster is n embedded etcd members on loopback.
type etcdCluster struct {
	members []*etcdMember
}

// freeAddr finds a free loopback port. The listener is closed at once, so
// another process could take it meanwhile; on loopback in a test that is
// rare enough.
func freeAddr(t testing.TB) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer lis.Close()
	return lis.Addr().String()
}

// startEtcd runs an etcd cluster of n members in this process; the test's
// cleanup stops it.
func startEtcd(t testing.TB, n int) *etcdCluster {
	t.Helper()
	return startEtcdWith(t, n, nil)
}

// startEtcdWith is startEtcd with the client port on TLS as tlsInfo says
// (nil: plaintext).
func startEtcdWith(t testing.TB, n int, tlsInfo *transport.TLSInfo) *etcdCluster {
	t.Helper()
	c := &etcdCluster{}
	var initial []string
	for i := range n {
		m := &etcdMember{t: t, name: fmt.Sprint("m", i), dir: t.TempDir(), client: freeAddr(t), peer: freeAddr(t), tls: tlsInfo}
		initial = append(initial, m.name+"=http://"+m.peer)
		c.members = append(c.members, m)
	}
	for _, m := range c.members {
		m.initial = strings.Join(initial, ",")
		m.launch()
	}
	for _, m := range c.members {
		m.waitReady()
	}
	t.Cleanup(func() {
		for _, m := range c.members {
			m.stop()
		}
	})
	return c
}

// endpoints is the members' client addresses, comma-separated.
func (c *etcdCluster) endpoints() string {
	var eps []string
	for _, m := range c.members {
		eps = append(eps, m.client)
	}
	return strings.Join(eps, ",")
}

// launch starts the member without waiting for it to be ready (members of
// a new cluster wait for each other).
func (m *etcdMember) launch() {
	m.t.Helper()
	cfg := embed.NewConfig()
	cfg.Name, cfg.Dir = m.name, m.dir
	client, peer := url.URL{Scheme: "http", Host: m.client}, url.URL{Scheme: "http", Host: m.peer}
	if m.tls != nil {
		client.Scheme = "https"
		cfg.ClientTLSInfo = *m.tls
	}
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{client}, []url.URL{client}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{peer}, []url.URL{peer}
	cfg.InitialCluster = m.initial
	cfg.ClusterState = embed.ClusterStateFlagNew // ignored on a restart, which reads its data
	cfg.LogLevel = "panic"                       // a member closed by a test logs its listeners' end as errors
	srv, err := embed.StartEtcd(cfg)
	if err != nil {
		m.t.Fatalf("etcd %s: %v", m.name, err)
	}
	m.srv = srv
}

func (m *etcdMember) waitReady() {
	m.t.Helper()
	select {
	case <-m.srv.Server.ReadyNotify():
	case err := <-m.srv.Err():
		m.t.Fatalf("etcd %s: %v", m.name, err)
	case <-time.After(etcdReadyWithin):
		m.t.Fatalf("etcd %s not ready within %v", m.name, etcdReadyWithin)
	}
}

// start restarts a stopped member on its ports and data and waits until
// it serves.
func (m *etcdMember) start() {
	m.t.Helper()
	m.launch()
	m.waitReady()
}

// stop closes the member (its clients see their connections end).
func (m *etcdMember) stop() {
	if m.srv != nil {
		m.srv.Close()
		m.srv = nil
	}
}

// isLeader reports whether the member leads its cluster now.
func (m *etcdMember) isLeader() bool {
	return m.srv != nil && m.srv.Server.Leader() == m.srv.Server.MemberID()
}
