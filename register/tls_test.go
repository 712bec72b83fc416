package register

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"testing"
	"time"
)

// selfSigned makes a certificate for 127.0.0.1 and a pool that trusts it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "register test"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

func TestMutualTLS(t *testing.T) {
	cert, pool := selfSigned(t)
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
