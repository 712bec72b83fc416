package bench

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"
)

func testOptions(workload, url string) Options {
	o := Options{
		Workload: workload, URLs: []string{url}, Conns: 40, ConnectRate: 0,
		Duration: 500 * time.Millisecond, Size: 32, Rate: -1, Loops: 2,
		HandshakeTimeout: 20 * time.Second, Drain: 20 * time.Second,
	}
	return o
}

func run(t *testing.T, o Options) *Report {
	t.Helper()
	if err := o.complete(); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	rep, err := Run(o, &stderr)
	if err != nil {
		t.Fatalf("run: %v; stderr: %s", err, stderr.String())
	}
	if stderr.Len() > 0 {
		t.Logf("stderr: %s", stderr.String())
	}
	return rep
}

func TestEchoClosedLoopInProcess(t *testing.T) {
	s := startTestServer(t, false, 0)
	rep := run(t, testOptions("echo", s.URL()))
	if !rep.OK {
		t.Fatalf("report not ok: %+v", rep)
	}
	if rep.Opened != 40 || rep.Received == 0 || rep.Received != rep.Sent {
		t.Fatalf("opened %d sent %d received %d", rep.Opened, rep.Sent, rep.Received)
	}
	if rep.Latency.Count != rep.Received || rep.Handshake.Count != 40 {
		t.Fatalf("latency samples %d handshakes %d", rep.Latency.Count, rep.Handshake.Count)
	}
}

// A server that answers but does not echo fails the run: its replies are
// not counted as round trips.
func TestEchoRefusesRepliesThatAreNotEchoes(t *testing.T) {
	s := startAnsweringServer(t, `{"error":"unknown command, try /help"}`)
	o := testOptions("echo", s.URL())
	o.Drain = 500 * time.Millisecond
	rep := run(t, o)
	if rep.OK || rep.Invalid != rep.Received || rep.Latency.Count != 0 {
		t.Fatalf("ok %v, %d not echoes of %d received, %d latencies: want a failed run with no round trip",
			rep.OK, rep.Invalid, rep.Received, rep.Latency.Count)
	}
	var out bytes.Buffer
	if err := rep.WriteText(&out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "the server does not echo") {
		t.Fatalf("the report does not say why:\n%s", out.String())
	}
}

func TestEchoOpenLoopMessageLimit(t *testing.T) {
	s := startTestServer(t, false, 0)
	o := testOptions("echo", s.URL())
	o.Rate, o.Messages, o.Duration = 2000, 300, time.Second
	rep := run(t, o)
	if !rep.OK || rep.Sent != 300 || rep.Received != 300 {
		t.Fatalf("ok %v sent %d received %d", rep.OK, rep.Sent, rep.Received)
	}
}

// TestFanOutTwoProcesses spreads the connections over two worker processes
// and two source addresses and checks the parent adds up both.
func TestFanOutTwoProcesses(t *testing.T) {
	s := startTestServer(t, false, 0)
	o := testOptions("echo", s.URL())
	o.Procs, o.Sources, o.Conns = 2, 2, 60
	rep := run(t, o)
	if !rep.OK || rep.Procs != 2 || rep.Opened != 60 {
		t.Fatalf("ok %v procs %d opened %d: %v %v", rep.OK, rep.Procs, rep.Opened, rep.ErrorSamples, rep.WorkerErrors)
	}
	if rep.Handshake.Count != 60 || rep.Received != rep.Sent || rep.Sent == 0 {
		t.Fatalf("handshakes %d sent %d received %d", rep.Handshake.Count, rep.Sent, rep.Received)
	}
	// Both processes ran a closed echo loop through the window: their CPU
	// time reaches the report.
	if c := rep.Client; c == nil || c.CPUSeconds <= 0 || c.CPUPerMessage <= 0 {
		t.Fatalf("client %+v", rep.Client)
	}
}

func TestConnsHoldsConnections(t *testing.T) {
	s := startTestServer(t, false, 0)
	o := testOptions("conns", s.URL())
	o.Conns, o.ConnectRate = 200, 2000
	rep := run(t, o)
	if !rep.OK || rep.Opened != 200 || rep.ConnectRate <= 0 {
		t.Fatalf("ok %v opened %d rate %.0f", rep.OK, rep.Opened, rep.ConnectRate)
	}
	// Every connection was closed cleanly at the end.
	deadline := time.Now().Add(10 * time.Second)
	for s.openConns() > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := s.openConns(); n != 0 {
		t.Fatalf("server still holds %d connections", n)
	}
}

func TestBroadcastTwoProcesses(t *testing.T) {
	s := startTestServer(t, true, 0)
	o := testOptions("bcast", s.URL())
	o.Procs, o.Conns, o.Rate = 2, 30, 200
	rep := run(t, o)
	b := rep.Broadcast
	if !rep.OK || b == nil || b.Published == 0 || b.Subscribers != 30 || b.Missing != 0 || b.Delivered != b.Expected {
		t.Fatalf("ok %v broadcast %+v errors %v", rep.OK, b, rep.ErrorSamples)
	}
	// The publisher is not one of the 30 asked for.
	if rep.Opened != 30 || rep.Handshake.Count != 30 {
		t.Fatalf("%d open, %d handshakes timed, want 30 (the subscribers)", rep.Opened, rep.Handshake.Count)
	}
}

// TestBroadcastFindsMissing runs against a server that drops deliveries:
// the report must count them and fail.
func TestBroadcastFindsMissing(t *testing.T) {
	s := startTestServer(t, true, 5)
	o := testOptions("bcast", s.URL())
	o.Conns, o.Rate, o.Drain = 10, 200, 300*time.Millisecond
	rep := run(t, o)
	b := rep.Broadcast
	if rep.OK || b.Missing <= 0 || b.Delivered+b.Missing != b.Expected {
		t.Fatalf("ok %v broadcast %+v", rep.OK, b)
	}
}

func TestMainJSONAndExitCodes(t *testing.T) {
	s := startTestServer(t, false, 0)
	var out, errb bytes.Buffer
	code := Main([]string{"-url", s.URL(), "-conns", "5", "-duration", "300ms", "-json", "echo"}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var rep Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("json: %v\n%s", err, out.String())
	}
	if !rep.OK || rep.Opened != 5 || rep.Latency.Count == 0 {
		t.Fatalf("report %+v", rep)
	}
	if code := Main([]string{"nope"}, &out, &errb); code != 2 {
		t.Fatalf("unknown workload: exit %d", code)
	}
	// Nothing listens here: every connection fails, the exit code says so.
	ln := s.URL()
	s.ln.Close()
	out.Reset()
	code = Main([]string{"-url", ln, "-conns", "3", "-duration", "100ms", "conns"}, &out, &errb)
	if code != 1 || !strings.Contains(out.String(), "FAILED") {
		t.Fatalf("refused connections: exit %d\n%s", code, out.String())
	}
}

// TestConnsSettleDelaysWindow checks that -settle holds the window, and the
// server sample that opens it, back until the wait after the last
// connection is over.
func TestConnsSettleDelaysWindow(t *testing.T) {
	s := startTestServer(t, false, 0)
	o := testOptions("conns", s.URL())
	o.Settle, o.Duration, o.ServerPID = 1500*time.Millisecond, 100*time.Millisecond, os.Getpid()
	began := time.Now()
	rep := run(t, o)
	if took := time.Since(began); took < o.Settle+o.Duration {
		t.Fatalf("run took %v, less than settle %v + window %v", took, o.Settle, o.Duration)
	}
	if !rep.OK || rep.Settle != 1.5 || rep.Server == nil || rep.Server.RSSLoaded == 0 {
		t.Fatalf("ok %v settle %v server %+v", rep.OK, rep.Settle, rep.Server)
	}
	if rep.Window < 0.1 || rep.Window > 1.4 {
		t.Fatalf("window %.2fs should not include the settle wait", rep.Window)
	}
}

// TestServerMetricsInReport runs against a server sampled through its
// metrics page and checks the goroutines reach the summary.
func TestServerMetricsInReport(t *testing.T) {
	s := startTestServer(t, false, 0)
	o := testOptions("conns", s.URL())
	o.Duration, o.ServerMetrics = 100*time.Millisecond, selfMetrics(t)
	rep := run(t, o)
	if !rep.OK || rep.Server == nil || rep.Server.RSSLoaded == 0 || rep.Server.GoroutinesLoaded == 0 || rep.Server.MetricsURL != o.ServerMetrics {
		t.Fatalf("ok %v server %+v", rep.OK, rep.Server)
	}
	var out bytes.Buffer
	if err := rep.WriteText(&out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "server goroutines") {
		t.Fatalf("summary without goroutines:\n%s", out.String())
	}

	o.ServerPID = os.Getpid()
	if err := o.complete(); err == nil {
		t.Fatal("-server-pid with -server-metrics accepted")
	}
	o.ServerPID, o.ServerMetrics = 0, "127.0.0.1:9100/metrics"
	if err := o.complete(); err == nil {
		t.Fatal("a metrics URL without a scheme accepted")
	}
}

// bcast against a server that does not broadcast fails and says so.
func TestBroadcastSaysWhenServerDoesNotBroadcast(t *testing.T) {
	s := startTestServer(t, false, 0) // echoes: subscribers get nothing
	o := testOptions("bcast", s.URL())
	o.Rate, o.Drain = 20, 300*time.Millisecond
	rep := run(t, o)
	if rep.OK || rep.Broadcast == nil || rep.Broadcast.Delivered != 0 {
		t.Fatalf("ok %v, broadcast %+v: want a failed run with nothing delivered", rep.OK, rep.Broadcast)
	}
	var out bytes.Buffer
	if err := rep.WriteText(&out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "the server does not broadcast") {
		t.Fatalf("the report does not say why:\n%s", out.String())
	}
}

// TestBroadcastChurn closes and re-dials connections during the window:
// every one closed opens again, and what the churned connections were
// excused from is not missing.
func TestBroadcastChurn(t *testing.T) {
	s := startTestServer(t, true, 0)
	o := testOptions("bcast", s.URL())
	o.Conns, o.Rate, o.Duration = 40, 200, 2*time.Second
	o.Churn, o.ChurnGrace = 20, 500*time.Millisecond // 8 a second in all
	rep := run(t, o)
	b, c := rep.Broadcast, rep.Churn
	if c == nil || c.Closed < 8 || c.Reconnects != c.Closed || c.ReconnectErrors != 0 || c.Handshake.Count != c.Reconnects {
		t.Fatalf("churn %+v errors %v", c, rep.ErrorSamples)
	}
	if !rep.OK || b.Missing != 0 || b.Duplicates != 0 || c.Excused <= 0 || b.Expected != b.Published*b.Subscribers-c.Excused {
		t.Fatalf("ok %v broadcast %+v churn %+v errors %v", rep.OK, b, c, rep.ErrorSamples)
	}
	// The re-dials are not among the connections asked for.
	if rep.Opened != 40 || rep.Handshake.Count != 40 {
		t.Fatalf("%d open, %d handshakes timed, want 40", rep.Opened, rep.Handshake.Count)
	}
	var out bytes.Buffer
	if err := rep.WriteText(&out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"reconnected", "excused by churn", "reconnect "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, out.String())
		}
	}
}

// With churn, deliveries the server drops are still found.
func TestBroadcastChurnFindsMissing(t *testing.T) {
	s := startTestServer(t, true, 5)
	o := testOptions("bcast", s.URL())
	o.Conns, o.Rate, o.Duration, o.Drain = 20, 200, time.Second, 500*time.Millisecond
	o.Churn, o.ChurnGrace = 20, 100*time.Millisecond
	rep := run(t, o)
	if b := rep.Broadcast; rep.OK || b.Missing <= 0 || b.Delivered+b.Missing != b.Expected {
		t.Fatalf("ok %v broadcast %+v churn %+v", rep.OK, b, rep.Churn)
	}
}

func TestChurnOptions(t *testing.T) {
	for _, tc := range []struct {
		o    Options
		fail bool
	}{
		{Options{Workload: "bcast", Conns: 1, Duration: time.Second, Rate: -1, Churn: 1}, false},
		{Options{Workload: "echo", Conns: 1, Duration: time.Second, Rate: -1, Churn: 1}, true},
		{Options{Workload: "bcast", Conns: 1, Duration: time.Second, Rate: -1, Churn: 101}, true},
		{Options{Workload: "bcast", Conns: 1, Duration: time.Hour, Rate: 1000, Churn: 1}, true},
		{Options{Workload: "bcast", Conns: 1, Duration: time.Hour, Rate: 1000, Messages: 1000, Churn: 1}, false},
	} {
		err := tc.o.complete()
		if (err != nil) != tc.fail {
			t.Errorf("%+v: error %v, want failure %v", tc.o, err, tc.fail)
		}
	}
}
