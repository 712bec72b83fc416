package main

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/wsgate/wsgate/bench/internal/proc"
)

// How the membership workload watches the nodes.
const (
	convergeTimeout = 30 * time.Second      // a change every node has not seen by then failed
	pollEvery       = 20 * time.Millisecond // between sweeps over the nodes' metrics
	peersMetric     = "wsgate_cluster_peers"
)

// membership is how fast every node learns of a change of the cluster.
type membership struct {
	Kill        time.Duration `json:"kill_ns"`        // kill -9 of a node until every other node has dropped it
	Join        time.Duration `json:"join_ns"`        // a new node's "listening on" until every node lists it
	Freeze      time.Duration `json:"freeze_ns"`      // SIGSTOP of a node until every other node has dropped it
	Thaw        time.Duration `json:"thaw_ns"`        // SIGCONT until every node lists it again
	Sweep       time.Duration `json:"sweep_ns"`       // one read of every node's peers: the figures' resolution
	IdleCores   float64       `json:"idle_cores"`     // register and nodes with no connection
	RegisterCPU float64       `json:"register_cores"` // the register's share of it
}

// runMembership changes the cluster as failures do and times how long
// every node takes to see it: a node killed with SIGKILL, a node joining,
// a node frozen with SIGSTOP and thawed. It first reads the idle CPU of
// the register and the mesh, with no connection open. The cluster ends
// with as many nodes as it had, one of them new.
func runMembership(ctx context.Context, cfg config, c *cluster, bin, secret string) (*membership, error) {
	m := &membership{}
	if err := waitSocketsClosed(ctx, cfg); err != nil {
		return nil, err
	}
	reg0, err := c.registerCPU()
	if err != nil {
		return nil, err
	}
	cpu0, err := c.cpu()
	if err != nil {
		return nil, err
	}
	time.Sleep(cpuWindow)
	reg1, _ := c.registerCPU()
	cpu1, err := c.cpu()
	if err != nil {
		return nil, err
	}
	m.IdleCores = (cpu1 - cpu0).Seconds() / cpuWindow.Seconds()
	m.RegisterCPU = (reg1 - reg0).Seconds() / cpuWindow.Seconds()
	if len(c.nodes) < 3 {
		return m, fmt.Errorf("membership needs at least 3 nodes")
	}

	// Every node lists every other: the baseline.
	n := len(c.nodes)
	if m.Sweep, err = c.awaitPeers(ctx, c.metrics, n-1); err != nil {
		return m, fmt.Errorf("before any change: %w", err)
	}

	// kill -9 the last node; the others must drop it.
	last := len(c.nodes) - 1
	victim := c.nodes[last]
	began := time.Now()
	if err := victim.Signal(syscall.SIGKILL); err != nil {
		return m, err
	}
	<-victim.Done()
	others := c.metrics[:last]
	if _, err := c.awaitPeers(ctx, others, n-2); err != nil {
		return m, fmt.Errorf("kill: %w", err)
	}
	m.Kill = time.Since(began)

	// A new node in its place; every node must list it.
	p, url, metricsURL, err := startNode(cfg, c, bin, secret, last, "joined")
	if err != nil {
		return m, fmt.Errorf("join: %w", err)
	}
	began = time.Now() // from its "listening on": the process start is not the cluster's
	c.nodes[last], c.urls[last], c.metrics[last] = p, url, metricsURL
	if _, err := c.awaitPeers(ctx, c.metrics, n-1); err != nil {
		return m, fmt.Errorf("join: %w", err)
	}
	m.Join = time.Since(began)

	// Freeze the first node; the others must drop it within the heartbeat
	// timeout, and list it again once it runs.
	frozen := c.nodes[0]
	began = time.Now()
	if err := frozen.Signal(syscall.SIGSTOP); err != nil {
		return m, err
	}
	_, err = c.awaitPeers(ctx, c.metrics[1:], n-2)
	m.Freeze = time.Since(began)
	began = time.Now()
	if cerr := frozen.Signal(syscall.SIGCONT); cerr != nil {
		return m, cerr
	}
	if err != nil {
		return m, fmt.Errorf("freeze: %w", err)
	}
	if _, err := c.awaitPeers(ctx, c.metrics, n-1); err != nil {
		return m, fmt.Errorf("thaw: %w", err)
	}
	m.Thaw = time.Since(began)
	return m, nil
}

// waitSocketsClosed waits until the workloads' connections are gone: the
// TCP sockets in use are down to what the cluster itself holds (the mesh,
// the register, the listeners), so that closing them does not count as the
// cluster's idle CPU.
func waitSocketsClosed(ctx context.Context, cfg config) error {
	mesh := int64(cfg.nodes*cfg.nodes*4 + 1000) // streams both ways, rpc and register conns, listeners
	deadline := time.Now().Add(2 * time.Minute)
	for {
		inuse, _, err := tcpSockets()
		if err != nil {
			return err
		}
		if inuse <= mesh {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d TCP sockets still in use after 2 minutes, want at most %d", inuse, mesh)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// awaitPeers polls the nodes at urls until every one reports want peers,
// and returns how long one sweep over them took.
func (c *cluster) awaitPeers(ctx context.Context, urls []string, want int) (time.Duration, error) {
	deadline := time.Now().Add(convergeTimeout)
	client := &http.Client{Timeout: time.Second}
	var sweep time.Duration
	for {
		began := time.Now()
		done, lagging := true, ""
		for _, u := range urls {
			got, err := readGauge(ctx, client, u, peersMetric)
			if err != nil || got != want {
				done, lagging = false, fmt.Sprintf("%s reports %d peers (%v)", u, got, err)
				break
			}
		}
		sweep = time.Since(began)
		if done {
			return sweep, nil
		}
		if time.Now().After(deadline) {
			return sweep, fmt.Errorf("not every node reports %d peers after %v: %s", want, convergeTimeout, lagging)
		}
		select {
		case <-ctx.Done():
			return sweep, ctx.Err()
		case <-time.After(pollEvery):
		}
	}
}

// readGauge reads one unlabelled gauge from a Prometheus text page.
func readGauge(ctx context.Context, client *http.Client, url, name string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return -1, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return -1, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return int(f), err
		}
	}
	return -1, fmt.Errorf("%s: no %s", url, name)
}

// startNode starts node i (its log named by tag) and waits for its
// WebSocket and metrics addresses.
func startNode(cfg config, c *cluster, bin, secret string, i int, tag string) (p *proc.Proc, url, metricsURL string, err error) {
	ip := nodeIP(i)
	argv := append([]string{bin, "serve", "--app", "broadcast", "--listen", ip + ":0", "--rpc", ip + ":0",
		"--metrics-listen", ip + ":0", "--register", c.regAddr, "--register-listen=", "--log-level", "warn"}, cfg.nodeArgs...)
	p, err = proc.Start(proc.Spec{Name: fmt.Sprintf("node %d", i+1), Argv: argv, Env: append([]string{"WSGATE_SECRET=" + secret}, cfg.nodeEnv...),
		Log: filepath.Join(cfg.outDir, fmt.Sprintf("node%d%s.log", i+1, tag))})
	if err != nil {
		return nil, "", "", err
	}
	if metricsURL, err = p.Expect("metrics on "); err != nil {
		p.Stop()
		return nil, "", "", err
	}
	addr, err := p.Expect("listening on ")
	if err != nil {
		p.Stop()
		return nil, "", "", err
	}
	return p, "ws://" + addr + "/ws", metricsURL, nil
}
