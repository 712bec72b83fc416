package main

import (
	"flag"
	"strings"
	"testing"

	"github.com/wsgate/wsgate/api"
	"github.com/wsgate/wsgate/internal/testutil"
	"github.com/wsgate/wsgate/internal/testutil/gatewaytest"
	"github.com/wsgate/wsgate/poller"
)

// TestBroadcastAppGroups: a client that connected with ?group=G publishes
// to G only; one without a group publishes to everyone.
func TestBroadcastAppGroups(t *testing.T) {
	bcast, err := lookupApp("broadcast")
	if err != nil {
		t.Fatal(err)
	}
	app, _ := bcast.new("/ws")
	g := gatewaytest.Start(t, api.Options{Server: poller.Options{InlineHandlers: bcast.inline}}, app)
	dial := func(query string) *testutil.WSClient {
		return testutil.MustDialWS(t, "ws://"+g.Addr().String()+"/ws"+query)
	}
	send := func(c *testutil.WSClient, s string) { c.Send(s) }
	expect := func(c *testutil.WSClient, want string) {
		t.Helper()
		if got := c.Read(); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
	// Each group client is connected (and in its group) once its own
	// message comes back.
	a := dial("?group=g")
	send(a, "a here")
	expect(a, "a here")
	b := dial("?group=g")
	send(b, "b here")
	expect(a, "b here")
	expect(b, "b here")
	other := dial("?group=h")
	send(other, "other here")
	expect(other, "other here")
	all := dial("")

	send(a, "to g")
	expect(a, "to g")
	expect(b, "to g")
	send(all, "to all")
	for _, c := range []*testutil.WSClient{a, b, other, all} {
		expect(c, "to all") // other and all did not get "to g" before it
	}
}

// TestInlineHandlersFlag: echo and broadcast run inline and chat does not,
// unless --inline-handlers says otherwise.
func TestInlineHandlersFlag(t *testing.T) {
	cases := []struct {
		app  string
		args []string
		want bool
	}{
		{"echo", nil, true},
		{"broadcast", nil, true},
		{"chat", nil, false},
		{"echo", []string{"--inline-handlers=false"}, false},
		{"chat", []string{"--inline-handlers"}, true},
		{"echo", []string{"--inline-handlers=auto"}, true},
		{"chat", []string{"--inline-handlers=true", "--inline-handlers=auto"}, false},
	}
	for _, c := range cases {
		b, err := lookupApp(c.app)
		if err != nil {
			t.Fatal(err)
		}
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		inline := new(autoBool)
		fs.Var(inline, "inline-handlers", "")
		if err := fs.Parse(c.args); err != nil {
			t.Fatal(err)
		}
		if got := inline.or(b.inline); got != c.want {
			t.Errorf("%s %v: inline %v, want %v", c.app, c.args, got, c.want)
		}
	}
}

// TestPollerFlag: --poller takes the backends poller knows and refuses
// anything else before starting.
func TestPollerFlag(t *testing.T) {
	var stdout, stderr strings.Builder
	if code := serve([]string{"--poller", "kqueue", "--register-listen="}, &stdout, &stderr); code != 2 {
		t.Fatalf("exit %d, want 2; stderr %q", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "want epoll or netpoll") {
		t.Fatalf("stderr %q does not name the backends", stderr.String())
	}
}

// TestMessageRatePolicyFlag: --message-rate-policy takes drop and close
// and refuses anything else before starting.
func TestMessageRatePolicyFlag(t *testing.T) {
	for in, want := range map[string]poller.MessageRatePolicy{"drop": poller.MessageRateDrop, "close": poller.MessageRateClose} {
		if got, err := parseMessageRatePolicy(in); got != want || err != nil {
			t.Errorf("parseMessageRatePolicy(%q) = %v, %v", in, got, err)
		}
	}
	var stdout, stderr strings.Builder
	if code := serve([]string{"--message-rate-policy", "kick", "--register-listen="}, &stdout, &stderr); code != 2 {
		t.Fatalf("exit %d, want 2; stderr %q", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "want drop or close") {
		t.Fatalf("stderr %q does not name the policies", stderr.String())
	}
}
