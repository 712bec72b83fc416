package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// writeFile writes text to a file in a test's temporary folder.
func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// layerServe parses args into serve's flags, then layers environ and the
// file -config names, as serve does.
func layerServe(t *testing.T, args, environ []string) (*flag.FlagSet, sources, error) {
	t.Helper()
	fs, _ := newServeFlags()
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	from, err := layer(fs, environ)
	return fs, from, err
}

// Flags win over WSGATE_* variables, which win over the file, which wins
// over the defaults: each flag says where its value came from.
func TestConfigPrecedence(t *testing.T) {
	file := writeFile(t, "wsgate.yaml", `# a node
listen: 127.0.0.1:9001
app: echo
metrics-listen: 127.0.0.1:9100
log-level: warn
register:
  - 10.0.0.1:1238
  - 10.0.0.2:1238
ping-interval: 10s
`)
	fs, from, err := layerServe(t,
		[]string{"--config", file, "--metrics-listen", "127.0.0.1:9300"},
		[]string{"PATH=/bin", "WSGATE_APP=broadcast", "WSGATE_METRICS_LISTEN=127.0.0.1:9200", "WSGATE_MAX_CONNS=5000"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []struct {
		name, value string
		from        source
	}{
		{"metrics-listen", "127.0.0.1:9300", fromFlag}, // flag over env over file
		{"app", "broadcast", fromEnv},                  // env over file
		{"max-conns", "5000", fromEnv},
		{"listen", "127.0.0.1:9001", fromFile},
		{"log-level", "warn", fromFile},
		{"register", "10.0.0.1:1238,10.0.0.2:1238", fromFile}, // a YAML list, comma-joined
		{"ping-interval", "10s", fromFile},
		{"path", "/ws", fromDefault},
		{"config", file, fromFlag},
	} {
		f := fs.Lookup(want.name)
		if got := f.Value.String(); got != want.value || from.of(want.name) != want.from {
			t.Errorf("%s = %q from %v, want %q from %v", want.name, got, from.of(want.name), want.value, want.from)
		}
	}

	// WSGATE_CONFIG names the file when -config does not.
	fs, from, err = layerServe(t, nil, []string{"WSGATE_CONFIG=" + file})
	if err != nil || fs.Lookup("listen").Value.String() != "127.0.0.1:9001" || from.of("config") != fromEnv {
		t.Fatalf("WSGATE_CONFIG: listen %q, %v", fs.Lookup("listen").Value.String(), err)
	}
}

// A key or a variable that names no flag is an error naming it (and the
// line, for a key), never ignored: a misspelling would otherwise leave a
// default in place unnoticed. So is a value its flag refuses.
func TestConfigMistakes(t *testing.T) {
	for _, tc := range []struct {
		file    string
		environ []string
		want    string
	}{
		{"listen: 127.0.0.1:9001\n\nmetrics-listn: 127.0.0.1:9100\n", nil, `wsgate.yaml:3: unknown key "metrics-listn"`},
		{"", []string{"WSGATE_METRICS_LISTN=x"}, "environment variable WSGATE_METRICS_LISTN: wsgate serve has no flag of that name"},
		{"max-conns: many\n", nil, `wsgate.yaml:1: key "max-conns": parse error`},
		{"", []string{"WSGATE_PING_INTERVAL=soon"}, "environment variable WSGATE_PING_INTERVAL: parse error"},
		{"app: echo\napp: chat\n", nil, `wsgate.yaml:2: key "app" given twice`},
		{"listen: [a, b]\n", nil, `wsgate.yaml:1: key "listen": a list is for comma-separated flags`},
		{"limits:\n  max-conns: 5\n", nil, `wsgate.yaml:1: unknown key "limits"`},
		{"config: other.yaml\n", nil, `wsgate.yaml:1: key "config": a config file cannot name another`},
		{"- listen\n", nil, "want a mapping of flag names to values"},
		{"listen: [\n", nil, "wsgate.yaml: yaml:"},
		{"inline-handlers: maybe\n", nil, `key "inline-handlers": want true, false or auto`},
	} {
		file := writeFile(t, "wsgate.yaml", tc.file)
		_, _, err := layerServe(t, []string{"-config", file}, tc.environ)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("file %q, env %q: error %v, want one containing %q", tc.file, tc.environ, err, tc.want)
		}
	}
	// Other variables are none of ours.
	if _, _, err := layerServe(t, nil, []string{"HOME=/root", "WSGATEWAY=1", "GO_WSGATE_X=1"}); err != nil {
		t.Fatalf("variables without the WSGATE_ prefix: %v", err)
	}
}

// A secret from the stronger source wins over a secret file from a weaker
// one; two from the same source are a mistake.
func TestConfigSecretPrecedence(t *testing.T) {
	secretFile := writeFile(t, "secret", "from-file\n")
	for _, tc := range []struct {
		args, environ []string
		want          string
	}{
		{[]string{"-secret-file", secretFile}, []string{"WSGATE_SECRET=from-env"}, "from-file"},
		{[]string{"-secret", "from-flag"}, []string{"WSGATE_SECRET_FILE=" + secretFile}, "from-flag"},
		{nil, []string{"WSGATE_SECRET=from-env", "WSGATE_SECRET_FILE=" + secretFile}, "error"},
	} {
		fs, f := newServeFlags()
		if err := fs.Parse(tc.args); err != nil {
			t.Fatal(err)
		}
		from, err := layer(fs, tc.environ)
		if err != nil {
			t.Fatal(err)
		}
		got, err := f.cluster.secret.resolve(from)
		if err != nil {
			got = "error"
		}
		if got != tc.want {
			t.Errorf("%q %q: secret %q (%v), want %q", tc.args, tc.environ, got, err, tc.want)
		}
	}
}

// wsgate config default prints every flag but -config, each with its help;
// wsgate config check reads it back as ok, and it sets every flag to its
// default.
func TestConfigDefaultChecks(t *testing.T) {
	code, text, stderr := runArgs("config", "default")
	if code != 0 || stderr != "" {
		t.Fatalf("config default: exit %d, stderr %q", code, stderr)
	}
	file := writeFile(t, "default.yaml", text)
	if code, stdout, stderr := runArgs("config", "check", file); code != 0 || stdout != "ok\n" || stderr != "" {
		t.Fatalf("config check of the default: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	fs, _ := newServeFlags()
	from := sources{}
	if err := layerFile(fs, file, []byte(text), from); err != nil {
		t.Fatal(err)
	}
	fs.VisitAll(func(f *flag.Flag) {
		if f.Name == configFlag {
			if strings.Contains(text, "\nconfig:") {
				t.Errorf("the default file names -config")
			}
			return
		}
		if from.of(f.Name) != fromFile {
			t.Errorf("%s: not in the default file", f.Name)
		}
		if got := f.Value.String(); got != f.DefValue {
			t.Errorf("%s: the default file sets %q, the flag's default is %q", f.Name, got, f.DefValue)
		}
		if !strings.Contains(text, "# "+strings.ReplaceAll(f.Usage, "`", "")+"\n"+f.Name+": ") {
			t.Errorf("%s: no help comment above it", f.Name)
		}
	})
}

// wsgate config check runs serve's own checks: a value every flag parses
// may still be refused, and it says which, with exit 2.
func TestConfigCheckRefuses(t *testing.T) {
	for text, want := range map[string]string{
		"app: nope\n":              `unknown app "nope"`,
		"poller: kqueue\n":         "want epoll or netpoll",
		"log-format: xml\n":        `-log-format "xml": want text or json`,
		"node-id: 0\n":             "-node-id",
		"tls-cert: /nonexistent\n": "-tls-cert and -tls-key go together",
		"bogus: 1\n":               `:1: unknown key "bogus"`,
	} {
		file := writeFile(t, "bad.yaml", text)
		code, stdout, stderr := runArgs("config", "check", file)
		if code != 2 || stdout != "" || !strings.HasPrefix(stderr, "wsgate config check: ") || !strings.Contains(stderr, want) {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want 2 and an error containing %q", text, code, stdout, stderr, want)
		}
	}
	for _, args := range [][]string{{"config"}, {"config", "check"}, {"config", "frob"}, {"config", "default", "x"}} {
		if code, _, stderr := runArgs(args...); code != 2 || !strings.Contains(stderr, "run 'wsgate config -h'") {
			t.Errorf("%q: exit %d, stderr %q; want a usage error", args, code, stderr)
		}
	}
}

// TestHelperProcess is not a test: run as a child by startServe, it is
// wsgate with the arguments after "--".
func TestHelperProcess(t *testing.T) {
	if os.Getenv("GO_WANT_HELPER_PROCESS") != "1" {
		return
	}
	args := os.Args
	for len(args) > 0 && args[0] != "--" {
		args = args[1:]
	}
	os.Exit(run(args[1:], os.Stdout, os.Stderr))
}

// A node started with a config file, an environment variable and a flag
// logs in JSON, every line of it: the effective config with each value's
// source and the secret redacted, and the listening line.
func TestServeJSONLogsEffectiveConfig(t *testing.T) {
	file := writeFile(t, "wsgate.yaml", "listen: 127.0.0.1:0\nsecret: the-cluster-secret\nrpc: 127.0.0.1:0\nregister-listen: 127.0.0.1:0\nlog-level: warn\n")
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "--", "serve", "--config", file, "--app", "echo")
	cmd.Env = append(os.Environ(), "GO_WANT_HELPER_PROCESS=1", "WSGATE_LOG_FORMAT=json", "WSGATE_LOG_LEVEL=info")
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

	var lines []string
	listening := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			lines = append(lines, sc.Text())
			if strings.Contains(sc.Text(), `"msg":"listening on `) {
				close(listening)
			}
		}
	}()
	select {
	case <-listening:
	case <-done:
		t.Fatalf("serve exited before listening; stdout:\n%s\nstderr: %s", strings.Join(lines, "\n"), stderr.String())
	case <-time.After(10 * time.Second):
		t.Fatal("no listening line within 10 s")
	}
	cmd.Process.Signal(syscall.SIGTERM)
	<-done
	if err := cmd.Wait(); err != nil {
		t.Fatalf("serve: %v; stderr: %s", err, stderr.String())
	}

	var effective map[string]struct{ Value, From string }
	for _, line := range lines {
		var rec struct {
			Level, Msg string
			Config     map[string]struct{ Value, From string }
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Errorf("not a JSON line: %q: %v", line, err)
			continue
		}
		if rec.Msg == "effective config" {
			effective = rec.Config
		}
		if strings.Contains(line, "the-cluster-secret") {
			t.Errorf("the secret shows in the output: %s", line)
		}
	}
	if stderr.Len() != 0 {
		t.Errorf("stderr %q; want every line on stdout", stderr.String())
	}
	for name, want := range map[string]string{
		"listen":     "127.0.0.1:0 file",
		"log-format": "json env",
		"app":        "echo flag",
		"secret":     redacted + " file",
		"path":       "/ws default",
	} {
		if got := fmt.Sprintf("%s %s", effective[name].Value, effective[name].From); got != want {
			t.Errorf("effective config %s: %q, want %q", name, got, want)
		}
	}
}

// Announcements pass whatever -log-level says: in the text format as plain
// lines beginning with what they announce, in JSON as records like the
// rest, every line an object.
func TestOutputAnnounces(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		var b strings.Builder
		level := "error"
		o, err := logFlags{level: &level, format: &format}.newOutput(&b)
		if err != nil {
			t.Fatal(err)
		}
		o.log.Info("hidden below the level")
		o.log.Error("shown", "k", "v")
		o.announce("listening on 127.0.0.1:1", "addr", "127.0.0.1:1")
		lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
		if len(lines) != 2 || strings.Contains(b.String(), "hidden") {
			t.Fatalf("%s: %q, want the error and the announcement", format, b.String())
		}
		if format == "text" && lines[1] != "listening on 127.0.0.1:1" {
			t.Errorf("text announcement %q", lines[1])
		}
		if format == "json" {
			for _, l := range lines {
				var rec map[string]any
				if err := json.Unmarshal([]byte(l), &rec); err != nil {
					t.Errorf("not JSON: %q", l)
				}
			}
			if !strings.Contains(lines[1], `"msg":"listening on 127.0.0.1:1","addr":"127.0.0.1:1"`) {
				t.Errorf("json announcement %q", lines[1])
			}
		}
	}
}
