package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/wsgate/wsgate/bench"
	"github.com/wsgate/wsgate/bench/internal/proc"
)

// workload is one row group of the table: a bench workload with its sizes.
type workload struct {
	key   string // file names and table lookup
	name  string // bench workload
	app   string // server app
	conns int
	size  int
	rate  float64 // echo: messages/s in all for an open loop, 0 for a closed loop; conns: connects/s
}

// outcome is what the runs of one workload against one server gave.
type outcome struct {
	reports []*bench.Report
	rate    float64 // bcast: the publish rate the runs used
	note    string  // why there are fewer reports than runs
}

// comparison holds the built binaries and the state of a whole run.
type comparison struct {
	ctx       context.Context
	cfg       config
	binDir    string
	wsgateBin string
	peerBin   string
	nextPort  int
}

// newComparison builds wsgate and the peers into a temporary directory.
func newComparison(ctx context.Context, cfg config) (*comparison, error) {
	if _, err := os.Stat(filepath.Join("bench", "peers", "go.mod")); err != nil {
		return nil, fmt.Errorf("run from the repository root: %w", err)
	}
	if err := os.MkdirAll(cfg.outDir, 0o755); err != nil {
		return nil, fmt.Errorf("create output directory: %w", err)
	}
	dir, err := os.MkdirTemp("", "wsgate-compare-")
	if err != nil {
		return nil, fmt.Errorf("create build directory: %w", err)
	}
	c := &comparison{ctx: ctx, cfg: cfg, binDir: dir, nextPort: cfg.portBase,
		wsgateBin: filepath.Join(dir, "wsgate"), peerBin: filepath.Join(dir, "peer")}
	builds := []struct{ dir, out, pkg string }{
		{".", c.wsgateBin, "./cmd/wsgate"},
		{filepath.Join("bench", "peers"), c.peerBin, "./cmd/peer"},
	}
	for _, b := range builds {
		cmd := exec.CommandContext(ctx, "go", "build", "-o", b.out, b.pkg)
		cmd.Dir = b.dir
		if out, err := cmd.CombinedOutput(); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("build %s: %w\n%s", b.pkg, err, out)
		}
	}
	return c, nil
}

// workloads are the workloads -workloads selects, in table order; bcast,
// whose publish rate is searched first, comes last.
func (c *comparison) workloads() []workload {
	var ws []workload
	for _, w := range c.allWorkloads() {
		if slices.Contains(c.cfg.workloads, w.key) {
			ws = append(ws, w)
		}
	}
	return ws
}

func (c *comparison) allWorkloads() []workload {
	return []workload{
		{key: "idle", name: "conns", app: "echo", conns: c.cfg.idleConns},
		{key: "storm", name: "conns", app: "echo", conns: c.cfg.idleConns, rate: c.cfg.stormRate},
		{key: "echo64", name: "echo", app: "echo", conns: c.cfg.echoConns, size: 64},
		{key: "echo1k", name: "echo", app: "echo", conns: c.cfg.echoConns, size: 1024},
		{key: "echoOpen", name: "echo", app: "echo", conns: c.cfg.echoConns, size: 64, rate: c.cfg.echoRate},
		{key: "bcast", name: "bcast", app: "broadcast", conns: c.cfg.bcastConns, size: 128},
	}
}

// runAll finds each server's bcast rate, then runs every workload cfg.runs
// times, cycling through the servers within each round so that a change in
// the machine's background load touches all of them alike.
func (c *comparison) runAll() (map[string]map[string]*outcome, error) {
	results := map[string]map[string]*outcome{}
	for _, s := range c.cfg.servers {
		results[s] = map[string]*outcome{}
		for _, w := range c.workloads() {
			results[s][w.key] = &outcome{}
		}
	}
	if slices.Contains(c.cfg.workloads, "bcast") {
		for _, s := range c.cfg.servers {
			o := results[s]["bcast"]
			o.rate = c.bcastRate(s, o)
		}
	}
	for round := 1; round <= c.cfg.runs; round++ {
		for _, s := range c.cfg.servers {
			for _, w := range c.workloads() {
				o := results[s][w.key]
				if o.note != "" {
					continue // the server could not run it before
				}
				rep, err := c.runOnce(s, w, o.rate, fmt.Sprintf("run%d", round))
				if err != nil {
					if c.ctx.Err() != nil {
						return nil, fmt.Errorf("interrupted: %w", c.ctx.Err())
					}
					o.note = err.Error()
					fmt.Fprintf(os.Stderr, "compare: %s %s: %v\n", s, w.key, err)
					continue
				}
				o.reports = append(o.reports, rep)
			}
		}
	}
	return results, nil
}

// bcastRate tries the configured rates in rising order and returns the
// highest at which nothing went missing (the lowest if none passes). With a
// single rate there is nothing to try.
func (c *comparison) bcastRate(s string, o *outcome) float64 {
	rates := c.cfg.bcastRates
	if len(rates) == 1 {
		return rates[0]
	}
	all := c.allWorkloads()
	w := all[len(all)-1]
	best := rates[0]
	for _, r := range rates {
		rep, err := c.runOnce(s, w, r, "probe"+strconv.FormatFloat(r, 'f', -1, 64))
		if err != nil {
			if c.ctx.Err() == nil {
				o.note = err.Error()
				fmt.Fprintf(os.Stderr, "compare: %s bcast probe: %v\n", s, err)
			}
			return best
		}
		if !rep.OK {
			break
		}
		best = r
	}
	fmt.Fprintf(os.Stderr, "compare: %s bcast rate %g/s\n", s, best)
	return best
}

// runOnce starts a fresh server, runs the bench client against it and
// stops the server; the client's report is kept in the output directory.
func (c *comparison) runOnce(s string, w workload, rate float64, tag string) (*bench.Report, error) {
	if err := c.ctx.Err(); err != nil {
		return nil, err
	}
	port := c.nextPort
	c.nextPort++
	listen := "127.0.0.1:" + strconv.Itoa(port)
	argv := []string{c.peerBin, "--server", s, "--app", w.app, "--listen", listen}
	switch s {
	case "wsgate":
		argv = []string{c.wsgateBin, "serve", "--app", w.app, "--listen", listen, "--log-level", "warn"}
	case "wsgate-netpoll":
		argv = []string{c.wsgateBin, "serve", "--app", w.app, "--listen", listen, "--log-level", "warn", "--poller", "netpoll"}
	}
	base := filepath.Join(c.cfg.outDir, fmt.Sprintf("%s-%s-%s", s, w.key, tag))
	srv, err := proc.Start(proc.Spec{Name: "server " + s, Argv: argv, CPU: c.cfg.serverCPU, Log: base + ".server.log"})
	if err != nil {
		return nil, err
	}
	defer srv.Stop()
	addr, err := srv.Expect("listening on ")
	if err != nil {
		return nil, err
	}

	client := []string{c.wsgateBin, "bench", "-url", "ws://" + addr + "/ws",
		"-conns", strconv.Itoa(w.conns), "-procs", strconv.Itoa(c.cfg.procs),
		"-sources", strconv.Itoa(c.cfg.sources), "-server-pid", strconv.Itoa(srv.Pid()), "-json"}
	window := c.cfg.duration
	switch w.name {
	case "conns":
		window = c.cfg.idleHold
		if w.rate > 0 { // the connect storm: as fast as asked, no settling
			client = append(client, "-connect-rate", strconv.FormatFloat(w.rate, 'f', -1, 64))
		} else {
			client = append(client, "-settle", c.cfg.settle.String())
		}
	case "echo":
		client = append(client, "-size", strconv.Itoa(w.size), "-rate", strconv.FormatFloat(w.rate, 'f', -1, 64))
	case "bcast":
		client = append(client, "-size", strconv.Itoa(w.size), "-rate", strconv.FormatFloat(rate, 'f', -1, 64))
	}
	client = append(client, "-duration", window.String(), w.name)

	// Connecting at the default 5000/s, the settle wait, the window, the
	// drain (5s at most) and a wide margin for a loaded machine.
	limit := time.Duration(w.conns/1000)*time.Second + c.cfg.settle + window + 90*time.Second
	ctx, cancel := context.WithTimeout(c.ctx, limit)
	defer cancel()
	fmt.Fprintf(os.Stderr, "compare: %s %s %s (pid %d, %s)\n", s, w.key, tag, srv.Pid(), addr)
	raw, err := proc.RunClient(ctx, c.cfg.clientCPU, client, base+".client.log")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(base+".json", raw, 0o644); err != nil {
		return nil, fmt.Errorf("write report: %w", err)
	}
	var rep bench.Report
	if err := json.Unmarshal(raw, &rep); err != nil {
		return nil, fmt.Errorf("parse report %s: %w; client log: %s", base+".json", err, proc.Tail(base+".client.log"))
	}
	if rep.Server == nil {
		return nil, fmt.Errorf("report %s has no server figures", base+".json")
	}
	return &rep, nil
}
