package bench

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
)

func bcastResult() *Result {
	r := newResult()
	r.Opened, r.FirstDial, r.LastOpen = 11, 1e9, 2e9
	r.Published, r.Subscribers, r.Unique, r.Duplicates, r.OutOfOrder = 100, 10, 995, 1, 2
	r.Sent, r.Received = 100, 1096
	r.CPU = 498 * time.Millisecond
	for i := range 1000 {
		r.Latency.Record(time.Duration(i+1) * time.Microsecond)
		r.Handshake.Record(time.Millisecond)
	}
	return r
}

func TestMergeAddsWorkers(t *testing.T) {
	a, b := bcastResult(), bcastResult()
	b.FirstDial, b.LastOpen = 5e8, 3e9
	b.ErrorSamples = []string{"x", "y", "z", "u", "v", "w"}
	a.Merge(b)
	if a.Opened != 22 || a.Unique != 1990 || a.Latency.Count() != 2000 {
		t.Fatalf("merged %+v", a)
	}
	if a.FirstDial != 5e8 || a.LastOpen != 3e9 {
		t.Fatalf("span %d..%d", a.FirstDial, a.LastOpen)
	}
	if a.CPU != 996*time.Millisecond {
		t.Fatalf("client cpu %v, want the sum of both workers'", a.CPU)
	}
	if len(a.ErrorSamples) != maxErrorSamples {
		t.Fatalf("%d error samples", len(a.ErrorSamples))
	}
}

func TestReportBroadcastFigures(t *testing.T) {
	o := Options{Workload: "bcast", URLs: []string{"ws://127.0.0.1:1/ws"}, Conns: 10, Procs: 1, Loops: 2, Size: 16, Rate: 100}
	res := bcastResult()
	res.CPU = 996 * time.Millisecond // a merge of two processes', as above
	rep := newReport(o, res, 2*time.Second, false)
	rep.judge()
	b := rep.Broadcast
	if b.Expected != 1000 || b.Missing != 5 || rep.OK {
		t.Fatalf("broadcast %+v ok %v", b, rep.OK)
	}
	if b.DeliveriesPerS != 498 || rep.ConnectRate != 11 {
		t.Fatalf("deliveries/s %v connect/s %v", b.DeliveriesPerS, rep.ConnectRate)
	}
	// 0.996s over a 2s window and 995+1 deliveries.
	if c := rep.Client; c == nil || c.CPUSeconds != 0.996 || c.CPUUtilization != 0.498 || c.CPUPerMessage != 1000 {
		t.Fatalf("client %+v", rep.Client)
	}
	if rep.Latency.P50 < 495 || rep.Latency.P50 > 505 || rep.Latency.Max < 999 {
		t.Fatalf("latency %+v", rep.Latency)
	}

	var text bytes.Buffer
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"5 missing", "1 duplicates", "2 out of order", "1000 expected", "FAILED", "p99", "client cpu", "0.50 cores of", "1000.00 µs/msg"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, text.String())
		}
	}

	var js bytes.Buffer
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	bc := back["broadcast"].(map[string]any)
	if bc["missing"].(float64) != 5 || back["ok"].(bool) {
		t.Fatalf("json %s", js.String())
	}
	cl, ok := back["client"].(map[string]any)
	if !ok || cl["cpu_seconds"].(float64) != 0.996 || cl["cpu_cores"].(float64) != 0.498 || cl["cpu_us_per_msg"].(float64) != 1000 {
		t.Fatalf("json client %v", back["client"])
	}
}

// TestClientSaturation checks the note that the client, not the server,
// may have set the throughput: it is judged against the client's cores.
func TestClientSaturation(t *testing.T) {
	busy := clientFigures(1900*time.Millisecond, 2*time.Second, 1000, 1)
	if !busy.NearSaturation || busy.CPUUtilization != 0.95 {
		t.Fatalf("0.95 of 1 core: %+v", busy)
	}
	if c := clientFigures(1900*time.Millisecond, 2*time.Second, 1000, 2); c.NearSaturation {
		t.Fatalf("0.95 of 2 cores: %+v", c)
	}
	if c := clientFigures(1700*time.Millisecond, 2*time.Second, 1000, 1); c.NearSaturation {
		t.Fatalf("0.85 of 1 core: %+v", c)
	}
	rep := &Report{Workload: "echo", Window: 2, Client: busy}
	var text bytes.Buffer
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text.String(), "near saturation") {
		t.Fatalf("no saturation note:\n%s", text.String())
	}
}

func TestServerFigures(t *testing.T) {
	idle := procSample{RSS: 10 << 20}
	start := procSample{RSS: 20 << 20, CPU: time.Second}
	end := procSample{RSS: 21 << 20, CPU: 3 * time.Second, Threads: 4}
	f := serverFigures(Options{ServerPID: 1}, idle, start, end, 4*time.Second, 1024, 1_000_000)
	if f.RSSPerConn != 10240 || f.CPUPerMessage != 2 || f.CPUUtilization != 0.5 || f.Threads != 4 {
		t.Fatalf("%+v", f)
	}
}

func TestSampleProcReadsSelf(t *testing.T) {
	s, err := sampleProc(pidSelf())
	if err != nil {
		t.Fatal(err)
	}
	if s.RSS <= 0 || s.Threads <= 0 {
		t.Fatalf("%+v", s)
	}
}

func TestCountSame(t *testing.T) {
	got := countSame([]string{"closed by server", "timeout", "closed by server", "closed by server"})
	want := []string{"closed by server (×3)", "timeout"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}
