package main

import (
	"strings"
	"testing"
	"time"

	"github.com/wsgate/wsgate/bench"
)

func TestParseFlags(t *testing.T) {
	cfg, err := parseFlags([]string{"-quick"})
	if err != nil || cfg.subscribers != 1500 || cfg.duration != 2*time.Second || len(cfg.rates) != 6 || len(cfg.modes) != 2 {
		t.Fatalf("quick: %+v %v", cfg, err)
	}
	cfg, err = parseFlags([]string{"-quick", "-subscribers", "30", "-rates", "1,2", "-modes", "group"})
	if err != nil || cfg.subscribers != 30 || len(cfg.rates) != 2 || cfg.modes[0] != "group" {
		t.Fatalf("quick with sizes: %+v %v", cfg, err)
	}
	for _, bad := range [][]string{{"-rates", "2,1"}, {"-rates", "x"}, {"-modes", "uid"}, {"-subscribers", "2"}, {"-runs", "0"}, {"extra"}} {
		if _, err := parseFlags(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// report makes a bcast report with the figures render reads.
func report(ok bool, deliveries float64, p99us int64) *bench.Report {
	return &bench.Report{OK: ok, Latency: bench.Latency{P50: p99us / 2, P99: p99us},
		Broadcast: &bench.Broadcast{DeliveriesPerS: deliveries}}
}

func TestRenderRatios(t *testing.T) {
	cfg := config{subscribers: 100, duration: time.Second, size: 64, runs: 1, modes: []string{"all", "group"},
		rates: []float64{10, 20, 40}, maxP99: 500 * time.Millisecond, outDir: "out"}
	res := results{}
	// all: single sustains 40/s, the cluster 20/s (40/s misses messages);
	// p99 compared at 20/s. group: 40/s has p99 over -max-p99 for both.
	res.add("all", "single", 10, report(true, 1000, 1000))
	res.add("all", "cluster", 10, report(true, 1000, 1500))
	res.add("all", "single", 20, report(true, 2000, 2000))
	res.add("all", "cluster", 20, report(true, 2000, 5000))
	res.add("all", "single", 40, report(true, 4000, 3000))
	res.add("all", "cluster", 40, report(false, 3000, 9000))
	res.add("group", "single", 10, report(true, 1000, 1000))
	res.add("group", "cluster", 10, report(true, 1000, 1000))
	res.add("group", "single", 20, report(true, 2000, 1000))
	res.add("group", "cluster", 20, report(true, 2000, 1500))
	res.add("group", "single", 40, report(true, 4000, 600_000))
	res.add("group", "cluster", 40, report(true, 4000, 700_000))
	out := render(cfg, "cmd", "0 0 0", "abc123", res)
	for _, want := range []string{
		"- all: deliveries/s 0.50 (single up to 40/s, cluster up to 20/s); p99 2.50× at 20/s (1.50× at 10/s) — target not met",
		"- group: deliveries/s 1.00 (single up to 20/s, cluster up to 20/s); p99 1.50× at 20/s (1.00× at 10/s) — target met",
		"| all | 40/s | cluster | 3000 | 4.5 ms | 9.0 ms | 0 | 0/1 |",
		"| group | 40/s | single | 4000 | 300.0 ms | 600.0 ms | 0 | 0/1 |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("section lacks %q:\n%s", want, out)
		}
	}
}
