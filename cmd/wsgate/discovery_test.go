package main

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wsgate/wsgate/register"
)

// parseLayered parses args over the variables of environ, as serve does.
func parseLayered(t *testing.T, environ []string, args ...string) (*clusterFlags, sources) {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	addConfigFlag(fs)
	f := addClusterFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	from, err := layer(fs, environ)
	if err != nil {
		t.Fatal(err)
	}
	return f, from
}

func TestDiscoveryFlags(t *testing.T) {
	t.Setenv("WSGATE_SECRET", "")

	// etcd: no register, the given secret, a source.
	id, o, generated, err := parseCluster(t, "-discovery", "etcd://10.0.0.1:2379,10.0.0.2:2379/prod", "-secret", "s").options(nil)
	if err != nil || id != 0 || generated || o.Source == nil || o.EmbeddedRegister != "" || len(o.Registers) != 0 || o.Secret != "s" {
		t.Fatalf("etcd: id %v, %+v, generated %v, %v", id, o, generated, err)
	}
	src, err := o.Source(register.Peer{ID: "0000beef", Addr: "10.0.0.3:7000"})
	if err != nil {
		t.Fatal(err)
	}
	if e := src.(*register.Etcd); e.Key() != "/prod/0000beef" {
		t.Fatalf("key %q, want /prod/0000beef", e.Key())
	}
	src.Close()

	// static: the node's own id must be in the list.
	_, o, _, err = parseCluster(t, "-discovery", "static://1@127.0.0.1:7001,0x2@127.0.0.2:7001", "-node-id", "2", "-secret", "s").options(nil)
	if err != nil {
		t.Fatal(err)
	}
	src, err = o.Source(register.Peer{ID: "00000002", Addr: "127.0.0.2:7001"})
	if err != nil {
		t.Fatal(err)
	}
	if peers := src.(*register.Static).Peers(); len(peers) != 1 || peers[0].ID != "00000001" || peers[0].Addr != "127.0.0.1:7001" {
		t.Fatalf("static peers %v", peers)
	}

	dir := t.TempDir()
	pwFile := filepath.Join(dir, "pw")
	os.WriteFile(pwFile, []byte("pw\n"), 0o600)
	if _, _, _, err := parseCluster(t, "-discovery", "etcd://e:2379/p", "-secret", "s", "-etcd-username", "u", "-etcd-password-file", pwFile).options(nil); err != nil {
		t.Fatalf("password from a file: %v", err)
	}

	// Each mistake is reported with the flag's name.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-discovery", "etcd://e:2379/p"}, "-discovery: a cluster secret"},
		{[]string{"-discovery", "etcd://e:2379/p", "-register", "r:1", "-secret", "s"}, "-discovery and -register"},
		{[]string{"-discovery", "zk://e:2181", "-secret", "s"}, "-discovery \"zk://e:2181\""},
		{[]string{"-discovery", "etcd:///p", "-secret", "s"}, "-discovery etcd:///p: no etcd endpoint"},
		{[]string{"-discovery", "etcd://e/p", "-secret", "s"}, "endpoint \"e\""},
		{[]string{"-discovery", "etcd://e:2379", "-secret", "s", "-etcd-username", "u"}, "-etcd-username u: give its password"},
		{[]string{"-discovery", "etcd://e:2379", "-secret", "s", "-etcd-cert", "c"}, "-etcd-cert and -etcd-key"},
		{[]string{"-discovery", "etcd://e:2379", "-secret", "s", "-etcd-ca", filepath.Join(dir, "none")}, "-etcd-ca"},
		{[]string{"-discovery", "etcd://e:2379", "-secret", "s", "-etcd-ttl", "500ms"}, "-etcd-ttl"},
		{[]string{"-discovery", "static://1@h:1", "-secret", "s"}, "-node-id"},
		{[]string{"-discovery", "static://1@h:1", "-secret", "s", "-node-id", "2"}, "-node-id 2 is not in the list"},
		{[]string{"-discovery", "static://1@h:1,1@h:2", "-secret", "s", "-node-id", "1"}, "listed twice"},
		{[]string{"-discovery", "static://x@h:1", "-secret", "s", "-node-id", "1"}, "want id@host:port"},
	} {
		_, _, _, err := parseCluster(t, tc.args...).options(nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error with %q", strings.Join(tc.args, " "), err, tc.want)
		}
	}

	// The password from the environment, never the command line.
	f, from := parseLayered(t, []string{"WSGATE_ETCD_PASSWORD=pw"}, "-discovery", "etcd://e:2379", "-secret", "s", "-etcd-username", "u")
	if _, _, _, err := f.options(from); err != nil {
		t.Fatalf("password from WSGATE_ETCD_PASSWORD: %v", err)
	}
	f, from = parseLayered(t, nil, "-discovery", "etcd://e:2379", "-secret", "s", "-etcd-username", "u", "-etcd-password", "pw")
	if _, _, _, err := f.options(from); err == nil || !strings.Contains(err.Error(), "-etcd-password on the command line") {
		t.Fatalf("password on the command line: %v, want refused", err)
	}
}
