package etcdtest

import (
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"go.etcd.io/etcd/client/pkg/v3/transport"

	"github.com/wsgate/wsgate/internal/testutil"
)

// TestEtcdTLS: nodes reach an etcd that requires TLS and client
// certificates with -etcd-ca, -etcd-cert and -etcd-key.
func TestEtcdTLS(t *testing.T) {
	cert, _ := testutil.SelfSigned(t, "127.0.0.1")
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	key, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	for file, block := range map[string]*pem.Block{
		certFile: {Type: "CERTIFICATE", Bytes: cert.Certificate[0]},
		keyFile:  {Type: "PRIVATE KEY", Bytes: key},
	} {
		if err := os.WriteFile(file, pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	e := startEtcdWith(t, 1, &transport.TLSInfo{
		CertFile: certFile, KeyFile: keyFile, TrustedCAFile: certFile, ClientCertAuth: true,
	})

	tlsFlags := []string{"-etcd-ca", certFile, "-etcd-cert", certFile, "-etcd-key", keyFile}
	a := startNode(t, nodeIPs[0], e.endpoints(), tlsFlags...)
	b := startNode(t, nodeIPs[1], e.endpoints(), tlsFlags...)
	alice, bob := login(t, a.url(), "alice"), login(t, b.url(), "bob")
	alice.WaitStats(2, 2)
	alice.Whisper(bob, "over TLS")

	// Without the flags a node does not get in: it serves alone, unready.
	plain := startNode(t, nodeIPs[2], e.endpoints())
	if code := plain.readyz(); code != http.StatusServiceUnavailable {
		t.Fatalf("a node without TLS to an etcd on TLS: /readyz %d, want 503", code)
	}
}
