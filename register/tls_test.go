package register

import (
	"context"
	"crypto/tls"
	"net"
	"testing"
	"time"

	"github.com/wsgate/wsgate/internal/testutil"
)

func TestMutualTLS(t *testing.T) {
	cert, pool := testutil.SelfSigned(t, "127.0.0.1")
	srv, err := NewServer(ServerOptions{
		Secret: testSecret,
		TLS: &tls.Config{
			Certificates: []tls.Certificate{cert},
			ClientCAs:    pool,
			ClientAuth:   tls.RequireAndVerifyClientCert,
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)

	join := func(id string, clientTLS *tls.Config) *Client {
		c, err := NewClient(ClientOptions{
			Addrs: []string{lis.Addr().String()}, Secret: testSecret,
			Self: Peer{ID: id, Addr: id + ".rpc:7000"}, TLS: clientTLS,
		})
		if err != nil {
			t.Fatal(err)
		}
		c.Start(context.Background())
		t.Cleanup(func() { c.Close() })
		return c
	}
	a := join("a", &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}})
	b := join("b", &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}})
	noCert := join("no-cert", &tls.Config{RootCAs: pool})
	plain := join("plain", nil)
	waitFor(t, "the nodes with certificates to see each other", func() bool { return sees(a, "b") && sees(b, "a") })
	// Poll a while longer: the nodes without a certificate must never get in.
	for end := time.Now().Add(time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if upRegisters(noCert) != 0 || upRegisters(plain) != 0 || len(srv.Peers()) != 2 {
			t.Fatalf("a node without a client certificate registered: %v", ids(srv.Peers()))
		}
	}
}
