package main

import (
	"os"
	"path/filepath"
	"strings"
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

func TestWriteBetweenMarkers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "B.md")
	head, foot := "# Title\n\nintro\n\n", "\n\nafter\n"
	if err := os.WriteFile(path, []byte(head+beginMarker+"\nold table\n"+endMarker+foot), 0o644); err != nil {
		t.Fatal(err)
	}
	for range 2 { // writing twice leaves one copy
		if err := writeBetweenMarkers(path, "new table\n"); err != nil {
			t.Fatal(err)
		}
	}
	got, _ := os.ReadFile(path)
	if want := head + beginMarker + "\nnew table\n" + endMarker + foot; string(got) != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}

	// No markers: the block is appended.
	if err := os.WriteFile(path, []byte("text\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writeBetweenMarkers(path, "t\n"); err != nil {
		t.Fatal(err)
	}
	got, _ = os.ReadFile(path)
	if !strings.HasSuffix(string(got), beginMarker+"\nt\n"+endMarker+"\n") {
		t.Fatalf("append: %q", got)
	}

	// A lone marker is an error rather than a guess.
	if err := os.WriteFile(path, []byte(endMarker+"\n"+beginMarker), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writeBetweenMarkers(path, "t\n"); err == nil {
		t.Fatal("markers out of order: no error")
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
