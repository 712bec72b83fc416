package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wsgate/wsgate/internal/testutil"
)

func parseCluster(t *testing.T, args ...string) *clusterFlags {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	f := addClusterFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestClusterFlags(t *testing.T) {
	t.Setenv("WSGATE_SECRET", "")

	// The default: an embedded register on the default address and a
	// generated secret.
	id, o, generated, err := parseCluster(t).options(nil)
	if err != nil || o == nil || id != 0 || !generated || len(o.Secret) != 32 ||
		o.EmbeddedRegister != DefaultRegisterAddr || len(o.Registers) != 0 {
		t.Fatalf("defaults: id %v, %+v, generated %v, %v", id, o, generated, err)
	}
	// No cluster at all.
	if _, o, _, err := parseCluster(t, "-register-listen=").options(nil); o != nil || err != nil {
		t.Fatalf("-register-listen=: %+v %v, want no cluster", o, err)
	}
	// Joining needs a secret; with one, the registers are split and no
	// register is embedded.
	if _, _, _, err := parseCluster(t, "-register", "127.0.0.1:1238").options(nil); err == nil || !strings.Contains(err.Error(), "secret") {
		t.Fatalf("join without a secret: %v", err)
	}
	id, o, generated, err = parseCluster(t, "-register", "10.0.0.1:1238, 10.0.0.2:1238", "-secret", "s",
		"-node-id", "0xbeef", "-rpc", "0.0.0.0:7001", "-advertise", "10.0.0.3:7001").options(nil)
	if err != nil || id != 0xbeef || generated || o.Secret != "s" || o.EmbeddedRegister != "" ||
		strings.Join(o.Registers, " ") != "10.0.0.1:1238 10.0.0.2:1238" || o.RPCListen != "0.0.0.0:7001" || o.Advertise != "10.0.0.3:7001" {
		t.Fatalf("join: id %v, %+v, generated %v, %v", id, o, generated, err)
	}
	t.Setenv("WSGATE_SECRET", "from-env")
	if _, o, _, err := parseCluster(t, "-register", "10.0.0.1:1238").options(nil); err != nil || o.Secret != "from-env" {
		t.Fatalf("secret from the environment: %+v %v", o, err)
	}
	for _, bad := range []string{"0", "-1", "4294967296", "node"} {
		if _, _, _, err := parseCluster(t, "-node-id", bad).options(nil); err == nil {
			t.Errorf("-node-id %s accepted", bad)
		}
	}
}

func TestTLSFlags(t *testing.T) {
	t.Setenv("WSGATE_SECRET", "s")
	dir := t.TempDir()
	cert, key := writeCert(t, dir)

	_, o, _, err := parseCluster(t, "-tls-cert", cert, "-tls-key", key).options(nil)
	if err != nil || o.ServerTLS == nil || o.ClientTLS == nil || o.ServerTLS.ClientAuth != tls.NoClientCert || o.ClientTLS.RootCAs != nil {
		t.Fatalf("TLS without a CA: %+v %v", o, err)
	}
	_, o, _, err = parseCluster(t, "-tls-cert", cert, "-tls-key", key, "-tls-ca", cert).options(nil)
	if err != nil || o.ServerTLS.ClientAuth != tls.RequireAndVerifyClientCert || o.ServerTLS.ClientCAs == nil ||
		o.ClientTLS.RootCAs == nil || len(o.ClientTLS.Certificates) != 1 {
		t.Fatalf("mutual TLS: %+v %v", o, err)
	}
	for name, args := range map[string][]string{
		"cert without key": {"-tls-cert", cert},
		"CA without cert":  {"-tls-ca", cert},
		"missing file":     {"-tls-cert", filepath.Join(dir, "nope"), "-tls-key", key},
		"CA not PEM":       {"-tls-cert", cert, "-tls-key", key, "-tls-ca", filepath.Join(dir, "junk")},
	} {
		os.WriteFile(filepath.Join(dir, "junk"), []byte("junk"), 0o600)
		if _, _, _, err := parseCluster(t, args...).options(nil); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// writeCert writes a self-signed certificate and its key as PEM files.
func writeCert(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	cert, _ := testutil.SelfSigned(t, "127.0.0.1")
	keyDER, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}), 0o600))
	must(os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600))
	return certFile, keyFile
}
