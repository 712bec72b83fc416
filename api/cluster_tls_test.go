package api

import (
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

// testCert makes a self-signed certificate valid for the test nodes'
// loopback addresses, good for serving and for client auth, and a pool
// that trusts it.
func testCert(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "wsgate cluster test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	for _, ip := range nodeIPs {
		tmpl.IPAddresses = append(tmpl.IPAddresses, net.ParseIP(ip))
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

// TestClusterOverMutualTLS runs the embedded register and node rpc over
// mutual TLS: nodes with the certificate form a cluster, one without a
// client certificate never gets in.
func TestClusterOverMutualTLS(t *testing.T) {
	cert, pool := testCert(t)
	serverTLS := &tls.Config{Certificates: []tls.Certificate{cert}, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert}
	clientTLS := &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool}
	withTLS := func(o *ClusterOptions, client *tls.Config) *ClusterOptions {
		o.ServerTLS, o.ClientTLS = serverTLS, client
		return o
	}

	first := clusterOptions(nodeIPs[0])
	first.EmbeddedRegister = nodeIPs[0] + ":0"
	n1 := startNode(t, nodeIPs[0], Options{Cluster: withTLS(first, clientTLS)}, newRecorder())
	reg := n1.RegisterAddr().String()
	n2 := startNode(t, nodeIPs[1], Options{Cluster: withTLS(clusterOptions(nodeIPs[1], reg), clientTLS)}, newRecorder())
	waitConnected(t, n1, n2)
	c := dial(t, n2)
	must(t, n1.Api().SendToClient(bg, c.id, []byte("over TLS")))
	if got := c.read(); got != "over TLS" {
		t.Fatalf("got %q", got)
	}
	n, err := n1.Api().GetAllClientCount(bg)
	if n != 1 || err != nil {
		t.Fatalf("GetAllClientCount: %d %v", n, err)
	}

	noCert := &tls.Config{RootCAs: pool}
	outsider := startNode(t, nodeIPs[2], Options{Cluster: withTLS(clusterOptions(nodeIPs[2], reg), noCert)}, newRecorder())
	// Poll a while: the node without a client certificate must never be
	// listed, nor list anyone.
	for end := time.Now().Add(time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if hasPeer(n1, outsider) || hasPeer(n2, outsider) || len(outsider.Peers()) != 0 {
			t.Fatalf("a node without a client certificate joined: n1 %v, n2 %v, it %v", n1.Peers(), n2.Peers(), outsider.Peers())
		}
	}
}
