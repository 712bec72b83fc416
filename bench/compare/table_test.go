package main

import (
	"testing"
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
	for _, bad := range [][]string{{"-servers", "nginx"}, {"-bcast-rates", "50,20"}, {"-runs", "0"}, {"extra"}} {
		if _, err := parseFlags(bad); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
}
