package main

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wsgate/wsgate/bench"
)

func TestMedian(t *testing.T) {
	cases := []struct {
		in   []float64
		want float64
	}{
		{nil, 0},
		{[]float64{7}, 7},
		{[]float64{9, 1, 5}, 5},
		{[]float64{4, 1, 3, 2}, 2.5},
	}
	for _, c := range cases {
		if got := median(c.in); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}

func TestQuickFlagsKeepExplicitValues(t *testing.T) {
	cfg, err := parseFlags([]string{"-quick", "-runs", "2", "-servers", "wsgate,nbio"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.runs != 2 || cfg.idleConns != 500 || cfg.echoConns != 500 || len(cfg.bcastRates) != 1 || len(cfg.servers) != 2 {
		t.Fatalf("config %+v", cfg)
	}
	for _, bad := range [][]string{{"-servers", "nginx"}, {"-bcast-rates", "50,20"}, {"-runs", "0"}, {"-echo-rate", "0"}, {"extra"}} {
		if _, err := parseFlags(bad); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
}

func TestDefaultServersIncludeReferences(t *testing.T) {
	cfg, err := parseFlags(nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"wsgate", "wsgate-netpoll", "nbio", "gws", "gorilla", "netpoll", "gnet"}
	if !slices.Equal(cfg.servers, want) {
		t.Fatalf("servers %q, want %q", cfg.servers, want)
	}
}

// TestReferenceRows checks that netpoll and gnet rows are labelled as
// reference points, with the note under the tables, and that a table
// without them has neither.
func TestReferenceRows(t *testing.T) {
	report := &bench.Report{OK: true, Server: &bench.ServerFigures{}, Broadcast: &bench.Broadcast{}}
	render := func(servers string) string {
		cfg, err := parseFlags([]string{"-quick", "-servers", servers})
		if err != nil {
			t.Fatal(err)
		}
		results := map[string]map[string]*outcome{}
		for _, s := range cfg.servers {
			results[s] = map[string]*outcome{}
			for _, key := range workloadKeys {
				results[s][key] = &outcome{reports: []*bench.Report{report}, rate: 100}
			}
		}
		return renderTable(cfg, machine{desc: "test machine", load: "0 0 0"}, "go run ./bench/compare", time.Now(), results)
	}

	out := render("wsgate,nbio,netpoll,gnet")
	for _, want := range []string{"| wsgate |", "| nbio |", "| netpoll (reference) |", "| gnet (reference) |", "netpoll and gnet are reference points, not targets"} {
		// Six tables: idle, storm, echo 64 B, echo 1 KiB, echo at equal load, broadcast.
		n := strings.Count(out, want)
		if strings.HasPrefix(want, "|") && n != 6 || !strings.HasPrefix(want, "|") && n != 1 {
			t.Errorf("%q appears %d times in:\n%s", want, n, out)
		}
	}
	if out := render("wsgate,nbio"); strings.Contains(out, "reference") {
		t.Errorf("a table without netpoll and gnet mentions them:\n%s", out)
	}
}

// TestWorkloadsFlag: -workloads runs and renders only the workloads named.
func TestWorkloadsFlag(t *testing.T) {
	cfg, err := parseFlags([]string{"-workloads", "storm,echo64"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cfg.workloads, []string{"storm", "echo64"}) {
		t.Fatalf("workloads %q", cfg.workloads)
	}
	report := &bench.Report{OK: true, Server: &bench.ServerFigures{}}
	results := map[string]map[string]*outcome{}
	for _, s := range cfg.servers {
		results[s] = map[string]*outcome{"storm": {reports: []*bench.Report{report}}, "echo64": {reports: []*bench.Report{report}}}
	}
	out := renderTable(cfg, machine{desc: "test machine", load: "0 0 0"}, "go run ./bench/compare", time.Now(), results)
	for _, want := range []string{"Connect storm", "Echo 64 B"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
	for _, absent := range []string{"Idle:", "Echo 1 KiB", "equal load", "Broadcast:"} {
		if strings.Contains(out, absent) {
			t.Errorf("%q rendered though not run:\n%s", absent, out)
		}
	}
	if _, err := parseFlags([]string{"-workloads", "idle,soak"}); err == nil {
		t.Error("-workloads soak: no error")
	}
}
