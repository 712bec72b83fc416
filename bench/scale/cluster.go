package main

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/wsgate/wsgate/bench"
	"github.com/wsgate/wsgate/bench/internal/proc"
)

// cluster is the register and the nodes of a run.
type cluster struct {
	register *proc.Proc
	regAddr  string
	nodes    []*proc.Proc
	urls     []string
	metrics  []string // each node's /metrics URL
	idleRSS  []int64  // each node's RSS before any connection
}

// nodeIP is node i's loopback address: 127.0.1.1 upwards, apart from the
// bench's source addresses (127.0.0.2 upwards).
func nodeIP(i int) string { return fmt.Sprintf("127.0.%d.%d", 1+i/254, 1+i%254) }

// startCluster starts the register and the nodes, waits until the nodes
// reach each other, and reads their idle memory. On error, what started is
// in the cluster for stop.
func startCluster(ctx context.Context, cfg config, bin, secret string) (*cluster, error) {
	c := &cluster{}
	var err error
	c.register, err = proc.Start(proc.Spec{Name: "register", Env: []string{"WSGATE_SECRET=" + secret}, Log: filepath.Join(cfg.outDir, "register.log"),
		Argv: append([]string{bin, "register", "--listen", "127.0.0.1:0", "--log-level", "warn"}, cfg.regArgs...)})
	if err != nil {
		return c, err
	}
	if c.regAddr, err = c.register.Expect("register listening on "); err != nil {
		return c, err
	}
	for i := range cfg.nodes {
		p, url, metricsURL, err := startNode(cfg, c, bin, secret, i, "")
		if err != nil {
			return c, err
		}
		c.nodes = append(c.nodes, p)
		c.urls = append(c.urls, url)
		c.metrics = append(c.metrics, metricsURL)
	}
	if err := proc.WaitMesh(ctx, c.urls); err != nil {
		return c, err
	}
	time.Sleep(time.Second) // what the mesh probe left behind settles
	for _, p := range c.nodes {
		rss, _, _, err := bench.ProcessUsage(p.Pid())
		if err != nil {
			return c, err
		}
		c.idleRSS = append(c.idleRSS, rss)
	}
	return c, nil
}

// stop stops the nodes, then the register, each by pid.
func (c *cluster) stop() {
	var wg sync.WaitGroup
	for _, p := range c.nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.Stop()
		}()
	}
	wg.Wait()
	if c.register != nil {
		c.register.Stop()
	}
}

// servers are every process of the cluster, the register last.
func (c *cluster) servers() []*proc.Proc {
	out := append([]*proc.Proc(nil), c.nodes...)
	if c.register != nil {
		out = append(out, c.register)
	}
	return out
}

// cpu is the CPU time the cluster's processes have used so far.
func (c *cluster) cpu() (time.Duration, error) {
	var sum time.Duration
	for _, p := range c.servers() {
		_, cpu, _, err := bench.ProcessUsage(p.Pid())
		if err != nil {
			return 0, err
		}
		sum += cpu
	}
	return sum, nil
}

// registerCPU is the CPU time the register has used so far.
func (c *cluster) registerCPU() (time.Duration, error) {
	_, cpu, _, err := bench.ProcessUsage(c.register.Pid())
	return cpu, err
}

// connsOf is how many of conns node i holds: bench sends connection k to
// URL k mod nodes.
func connsOf(conns, nodes, i int) int {
	n := conns / nodes
	if i < conns%nodes {
		n++
	}
	return n
}
