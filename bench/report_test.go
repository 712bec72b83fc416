package bench

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func bcastResult() *Result {
	r := newResult()
	r.Opened, r.FirstDial, r.LastOpen = 11, 1e9, 2e9
	r.Published, r.Subscribers, r.Unique, r.Duplicates, r.OutOfOrder = 100, 10, 995, 1, 2
	r.Sent, r.Received = 100, 1096
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
	if len(a.ErrorSamples) != maxErrorSamples {
		t.Fatalf("%d error samples", len(a.ErrorSamples))
	}
}

func TestReportBroadcastFigures(t *testing.T) {
	o := Options{Workload: "bcast", URLs: []string{"ws://127.0.0.1:1/ws"}, Conns: 10, Procs: 1, Loops: 2, Size: 16, Rate: 100}
	rep := newReport(o, bcastResult(), 2*time.Second, false)
	rep.judge()
	b := rep.Broadcast
	if b.Expected != 1000 || b.Missing != 5 || rep.OK {
		t.Fatalf("broadcast %+v ok %v", b, rep.OK)
	}
	if b.DeliveriesPerS != 498 || rep.ConnectRate != 11 {
		t.Fatalf("deliveries/s %v connect/s %v", b.DeliveriesPerS, rep.ConnectRate)
	}
	if rep.Latency.P50 < 495 || rep.Latency.P50 > 505 || rep.Latency.Max < 999 {
		t.Fatalf("latency %+v", rep.Latency)
	}

	var text bytes.Buffer
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"5 missing", "1 duplicates", "2 out of order", "1000 expected", "FAILED", "p99"} {
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
