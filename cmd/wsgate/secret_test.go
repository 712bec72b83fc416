package main

import (
	"bytes"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/wsgate/wsgate/register"
)

// A node whose secret the register refuses fails at start, saying so,
// instead of serving alone and retrying forever.
func TestServeFailsOnRefusedSecret(t *testing.T) {
	reg, err := register.NewServer(register.ServerOptions{Secret: "the-register-secret"})
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go reg.Serve(lis)
	defer reg.Stop()

	var stdout, stderr bytes.Buffer
	began := time.Now()
	code := serve([]string{"--listen", "127.0.0.1:0", "--rpc", "127.0.0.1:0", "--register", lis.Addr().String(),
		"--register-listen=", "--secret", "another-secret", "--log-level", "error"}, &stdout, &stderr)
	if code != 1 {
		t.Fatalf("exit code %d, want 1; stderr: %s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "secret was refused") {
		t.Errorf("stderr %q does not say the secret was refused", stderr.String())
	}
	if took := time.Since(began); took > joinWait {
		t.Errorf("refused after %v, want within the %v join wait", took, joinWait)
	}
}
