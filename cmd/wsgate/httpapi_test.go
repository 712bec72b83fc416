package main

import (
	"bufio"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// serve refuses -api-listen without a key, before it binds anything.
func TestServeAPINeedsAKey(t *testing.T) {
	t.Setenv("WSGATE_API_KEY", "")
	code, _, stderr := runArgs("serve", "--listen", "127.0.0.1:0", "--register-listen=", "--api-listen", "127.0.0.1:0")
	if code != 2 || !strings.Contains(stderr, "-api-listen needs an API key") {
		t.Fatalf("exit %d, stderr %q; want 2 and the key asked for", code, stderr)
	}
	empty := writeFile(t, "keys", "# no key yet\n\n")
	code, _, stderr = runArgs("serve", "--listen", "127.0.0.1:0", "--register-listen=", "--api-listen", "127.0.0.1:0", "--api-key-file", empty)
	if code != 2 || !strings.Contains(stderr, "holds no key") {
		t.Fatalf("empty key file: exit %d, stderr %q", code, stderr)
	}
}

// The keys come from WSGATE_API_KEY and -api-key-file together.
func TestAPIKeySources(t *testing.T) {
	file := writeFile(t, "keys", "# backends\nkey-one\n\n  key-two  \n")
	fs, f := newServeFlags()
	if err := fs.Parse([]string{"--api-listen", "127.0.0.1:0", "--api-key-file", file}); err != nil {
		t.Fatal(err)
	}
	if _, err := layer(fs, []string{"WSGATE_API_KEY=from-env"}); err != nil {
		t.Fatal(err)
	}
	o, err := f.api.options()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(o.Keys, ","); got != "from-env,key-one,key-two" {
		t.Fatalf("keys %q", got)
	}
}

// A node started with -api-listen and WSGATE_API_KEY answers the HTTP
// Api with the key and refuses it without; the key never shows in the
// output.
func TestServeAPI(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "--", "serve", "--listen", "127.0.0.1:0",
		"--register-listen=", "--app", "echo", "--api-listen", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "GO_WANT_HELPER_PROCESS=1", "WSGATE_API_KEY=the-api-key", "WSGATE_LOG_LEVEL=info")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	urls := make(chan string, 1)
	done := make(chan struct{})
	var out strings.Builder
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			out.WriteString(sc.Text() + "\n")
			if m := regexp.MustCompile(`HTTP Api on (http://\S+)`).FindStringSubmatch(sc.Text()); m != nil {
				urls <- m[1]
			}
		}
	}()
	var base string
	select {
	case base = <-urls:
	case <-done:
		t.Fatalf("serve exited; stderr: %s", stderr.String())
	case <-time.After(10 * time.Second):
		t.Fatal("no HTTP Api line within 10 s")
	}
	for key, want := range map[string]int{"the-api-key": 200, "": 401, "wrong": 401} {
		req, _ := http.NewRequest(http.MethodPost, base+"GetAllClientCount", strings.NewReader("{}"))
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("key %q: %d, want %d", key, resp.StatusCode, want)
		}
	}
	cmd.Process.Signal(syscall.SIGTERM)
	<-done
	if err := cmd.Wait(); err != nil {
		t.Fatalf("serve: %v; stderr: %s", err, stderr.String())
	}
	if strings.Contains(out.String(), "the-api-key") {
		t.Errorf("the key shows in the output:\n%s", out.String())
	}
}
