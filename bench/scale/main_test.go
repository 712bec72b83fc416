package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A run that cannot fit is refused with what to change.
func TestCheckRefusesWhatDoesNotFit(t *testing.T) {
	m := machine{memAvailable: 24 << 30, fileLimit: 20000, fileMax: 2466290, portRange: 28232}
	if err := m.check(config{nodes: 52, conns: 1000000}); err != nil {
		t.Fatalf("a million on 52 nodes refused: %v", err)
	}
	for _, tc := range []struct {
		cfg  config
		m    machine
		want string
	}{
		{config{nodes: 10, conns: 1000000}, m, "use -nodes 51 or more"},
		{config{nodes: 52, conns: 1000000}, machine{memAvailable: 4 << 30, fileLimit: 20000}, "use fewer -conns"},
		{config{nodes: 52, conns: 1000000}, machine{memAvailable: 24 << 30, fileLimit: 20000, fileMax: 100000}, "fs.file-max"},
		{config{nodes: 1, conns: 19000}, machine{memAvailable: 24 << 30, fileLimit: 20000, portRange: 10000}, "ip_local_port_range"},
	} {
		err := tc.m.check(tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%d × %d: got %v, want an error saying %q", tc.cfg.nodes, tc.cfg.conns, err, tc.want)
		}
	}
}

// A step's rows replace those of the same step and keep the others, in
// order of size.
func TestMarkdownKeepsOtherSteps(t *testing.T) {
	path := filepath.Join(t.TempDir(), "B.md")
	if err := os.WriteFile(path, []byte("# Benchmarks\n\nintro\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	stepOf := func(nodes, conns int, lat int64) *step {
		return &step{Nodes: nodes, Conns: conns, Command: "go run ./bench/scale", Hold: &hold{},
			Workloads: []workload{{Name: "all", Opened: int64(conns), Expected: int64(conns), Delivered: int64(conns), LatencyMax: lat, OK: true}}}
	}
	withMembership := stepOf(5, 95000, 4)
	withMembership.Membership = &membership{Kill: 120 * time.Millisecond}
	out := writeSteps(t, path, stepOf(10, 190000, 1), withMembership, stepOf(1, 19000, 2), stepOf(10, 190000, 3_000_000))
	if !strings.HasPrefix(out, "# Benchmarks\n\nintro\n") {
		t.Errorf("the rest of the file changed:\n%s", out)
	}
	if n := strings.Count(out, "| 10 × 190,000 | SendToAll"); n != 1 {
		t.Errorf("%d SendToAll rows of 10 × 190,000, want 1:\n%s", n, out)
	}
	if !strings.Contains(out, "3.00 s |") || strings.Contains(out, "| 1µs |") {
		t.Errorf("the second run of 10 × 190,000 did not replace the first:\n%s", out)
	}
	if !strings.Contains(out, "| 5 × 95,000 | 0.000 cores (0.000) | 120ms |") {
		t.Errorf("no membership row:\n%s", out)
	}
	if i, j := strings.Index(out, "| 1 × 19,000 | SendToAll"), strings.Index(out, "| 10 × 190,000 | SendToAll"); i < 0 || j < i {
		t.Errorf("rows not in order of size:\n%s", out)
	}
}

// A later run of a step replaces the workloads it ran and keeps the others.
func TestSavedStepsMerge(t *testing.T) {
	dir := t.TempDir()
	save := func(name string, st *step) string {
		b, err := json.Marshal(st)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	first := save("a.json", &step{Nodes: 2, Conns: 10, Command: "first", Hold: &hold{},
		Workloads: []workload{{Name: "all", Delivered: 10, Expected: 10}, {Name: "group", Delivered: 5, Expected: 5, ConnectErrors: 5}}})
	second := save("b.json", &step{Nodes: 2, Conns: 10, Command: "second",
		Workloads: []workload{{Name: "group", Delivered: 10, Expected: 10}}, Membership: &membership{}})
	md := filepath.Join(dir, "B.md")
	if err := writeSaved(md, []string{first, second}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(md)
	out := string(b)
	for _, want := range []string{"| 2 × 10 | SendToAll | 0 | 0 |", "| 2 × 10 | SendToGroup | 0 | 0 |", "`first`, then `second`", "| 2 × 10 | 0.000 cores"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
	if strings.Count(out, "SendToGroup") != 1 {
		t.Errorf("the earlier group row was kept:\n%s", out)
	}
}

// The churn workload has a table of its own, after the sends, and its
// rows are kept when another step is written.
func TestMarkdownChurnTable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "B.md")
	churned := &step{Nodes: 5, Conns: 2000, Command: "go run ./bench/scale", Workloads: []workload{
		{Name: "all", Opened: 2000, Expected: 2000, Delivered: 2000, OK: true},
		{Name: "churn", Opened: 2000, Expected: 190000, Delivered: 190000, Reconnects: 190, ReconnectsPerS: 19,
			ReconnectP99: 2500, DeliveriesPerS: 20000, Excused: 10000, ChurnRate: 10, ChurnGrace: 1.08, OK: true},
	}}
	other := &step{Nodes: 5, Conns: 10000, Command: "go run ./bench/scale", Workloads: []workload{{Name: "all", OK: true}}}
	out := writeSteps(t, path, churned, other)
	row := "| 5 × 2,000 | SendToAll at 10/s, 1%/s reconnecting, grace 1.08s | 2,000 | 19.0 | 0 | 2.5 ms | 20000 | 190,000 of 190,000 | 0 (10,000) |"
	if strings.Count(out, row) != 1 {
		t.Errorf("no churn row %q in:\n%s", row, out)
	}
	send, churn := strings.Index(out, "| step | call | opened | connect errors"), strings.Index(out, "| step | call | opened | reconnects/s")
	if send < 0 || churn < send || strings.Index(out, row) < churn {
		t.Errorf("the churn row is not in a table after the sends:\n%s", out)
	}
	if strings.Count(out, "| 5 × 2,000 | SendToAll |") != 1 {
		t.Errorf("want one send row of 5 × 2,000 (all):\n%s", out)
	}
}

// writeSteps writes each step's rows into the file at path, in order, and
// returns the file.
func writeSteps(t *testing.T, path string, steps ...*step) string {
	t.Helper()
	for _, st := range steps {
		if err := writeMarkdown(path, st); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
