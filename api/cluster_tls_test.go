package api

import (
	"crypto/tls"
	"testing"
	"time"

	"github.com/wsgate/wsgate/internal/testutil"
)

// TestClusterOverMutualTLS runs the embedded register and node rpc over
// mutual TLS: nodes with the certificate form a cluster, one without a
// client certificate never gets in.
func TestClusterOverMutualTLS(t *testing.T) {
	cert, pool := testutil.SelfSigned(t, nodeIPs...)
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
	if got := c.Read(); got != "over TLS" {
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
