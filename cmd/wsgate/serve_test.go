package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wsgate/wsgate/api"
	"github.com/wsgate/wsgate/internal/testutil"
	"github.com/wsgate/wsgate/internal/testutil/gatewaytest"
)

// A node whose secret the register refuses fails at start, saying so,
// instead of serving alone and retrying forever.
func TestServeFailsOnRefusedSecret(t *testing.T) {
	reg := gatewaytest.StartRegister(t, "the-register-secret")

	// The node's output writes to them from other goroutines.
	var stdout, stderr testutil.LogBuffer
	began := time.Now()
	code := serve([]string{"--listen", "127.0.0.1:0", "--rpc", "127.0.0.1:0", "--register", reg,
		"--register-listen=", "--secret", "another-secret", "--log-level", "error"}, &stdout, &stderr)
	if code != 1 {
		t.Fatalf("exit code %d, want 1; stderr: %s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "secret was refused") {
		t.Errorf("stderr %q does not say the secret was refused", stderr.String())
	}
	if took := time.Since(began); took > api.DefaultJoinTimeout {
		t.Errorf("refused after %v, want within the %v join timeout", took, api.DefaultJoinTimeout)
	}
}

// The secret comes from -secret-file, -secret or WSGATE_SECRET, and -h
// never shows it.
func TestSecretSources(t *testing.T) {
	t.Setenv("WSGATE_SECRET", "from-env")
	file := t.TempDir() + "/secret"
	if err := os.WriteFile(file, []byte("  from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
		err  bool
	}{
		{nil, "from-env", false},
		{[]string{"-secret-file", file}, "from-file", false},
		{[]string{"-secret", "from-flag"}, "from-flag", false},
		{[]string{"-secret", "x", "-secret-file", file}, "", true},
		{[]string{"-secret-file", file + ".missing"}, "", true},
	} {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		f := addSecretFlags(fs)
		if err := fs.Parse(tc.args); err != nil {
			t.Fatal(err)
		}
		got, err := f.resolve(commandLine(fs))
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("%q: got %q, %v; want %q (error %v)", tc.args, got, err, tc.want, tc.err)
		}
	}
	var help bytes.Buffer
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(&help)
	addSecretFlags(fs)
	fs.PrintDefaults()
	if strings.Contains(help.String(), "from-env") {
		t.Fatalf("help shows the secret:\n%s", help.String())
	}
}

// A taken address gets a hint; the embedded register's names the way to
// join the node already running.
func TestAddrInUseHint(t *testing.T) {
	reg := &net.OpError{Op: "listen", Err: os.NewSyscallError("bind", syscall.EADDRINUSE)}
	cluster := &api.ClusterOptions{EmbeddedRegister: "127.0.0.1:1238"}
	if h := addrInUseHint(fmt.Errorf("api: embedded register: %w", reg), cluster); !strings.Contains(h, "--register 127.0.0.1:1238") {
		t.Errorf("register hint %q", h)
	}
	if h := addrInUseHint(fmt.Errorf("api: poller: %w", reg), cluster); !strings.Contains(h, "--listen") {
		t.Errorf("listen hint %q", h)
	}
	if h := addrInUseHint(errors.New("other"), cluster); h != "" {
		t.Errorf("hint %q for another error", h)
	}
}
