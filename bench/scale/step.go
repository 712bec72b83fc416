package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/wsgate/wsgate/bench"
	"github.com/wsgate/wsgate/bench/internal/proc"
)

// How a workload's bench client runs.
const (
	window       = 10 * time.Second // after the one publish (churn: of publishing)
	drain        = 2 * time.Minute  // then the wait for the last deliveries: at a million they take over 30s on 2 cores
	settle       = 2 * time.Second  // group, uid and churn: between the last connection and the window
	clientWait   = 2 * time.Minute  // on top of connecting, holding and the window
	benchGroup   = "scale"
	churnPercent = 1               // churn: of the connections, closed and reconnected a second
	cpuWindow    = 5 * time.Second // idle CPU is read over this
)

// window is how long the bench client's window lasts: for churn, the
// grace more than the others, since a connection chosen to leave closes a
// grace after it was chosen and only then dials again.
func (c *config) window(workload string) time.Duration {
	if workload == "churn" {
		return window + c.churnGrace()
	}
	return window
}

// runStep starts the cluster, runs the workloads in turn and stops it.
func runStep(ctx context.Context, cfg config, bin string, st *step) error {
	secret := newSecret()
	mem, err := meminfo()
	if err != nil {
		return err
	}
	st.MemAvailableBefore, st.SlabBefore = mem["MemAvailable"], mem["Slab"]
	c, err := startCluster(ctx, cfg, bin, secret)
	defer c.stop()
	if err != nil {
		return fmt.Errorf("start the cluster: %w", err)
	}
	for _, rss := range c.idleRSS {
		st.NodeIdleRSS += rss
	}
	for _, w := range cfg.workloads {
		if w == "membership" {
			st.Membership, err = runMembership(ctx, cfg, c, bin, secret)
			if err != nil {
				return fmt.Errorf("membership: %w", err)
			}
			fmt.Fprint(os.Stderr, st.Membership.text())
			continue
		}
		res, err := runWorkload(ctx, cfg, c, bin, secret, w, st)
		if res != nil {
			st.Workloads = append(st.Workloads, *res)
		}
		if err != nil {
			return fmt.Errorf("workload %s: %w", w, err)
		}
		fmt.Fprint(os.Stderr, res.text())
	}
	return nil
}

// runWorkload opens every connection with a bench client, publishes one
// message to all of them the workload's way, and reads the client's report.
// The all workload also reads the held figures into st.
func runWorkload(ctx context.Context, cfg config, c *cluster, bin, secret, name string, st *step) (*workload, error) {
	wait := settle
	if name == "all" {
		wait = cfg.hold
	}
	argv := []string{bin, "bench", "-url", strings.Join(c.urls, ","), "-conns", strconv.Itoa(cfg.conns),
		"-connect-rate", strconv.FormatFloat(cfg.connectRate, 'f', -1, 64), "-settle", wait.String(),
		"-duration", cfg.window(name).String(), "-drain", drain.String(), "-size", strconv.Itoa(cfg.size),
		"-api-register", c.regAddr, "-json"}
	switch name {
	case "group":
		argv = append(argv, "-group", benchGroup)
	case "uid":
		argv = append(argv, "-uids", strconv.Itoa(cfg.users))
	}
	if name == "churn" {
		// Published through the whole window, for the reconnected
		// connections to join a stream.
		argv = append(argv, "-rate", strconv.FormatFloat(cfg.churnRate, 'f', -1, 64), "-churn", strconv.Itoa(churnPercent), "-churn-grace", cfg.churnGrace().String())
	} else {
		argv = append(argv, "-rate", "1", "-messages", "1")
	}
	argv = append(append(argv, cfg.clientArgs...), "bcast")
	base := filepath.Join(cfg.outDir, name)
	// The last workload's connections close first: their closing is not
	// this one's to pay for (it slowed handshakes by up to seconds).
	if err := waitSocketsClosed(ctx, cfg); err != nil {
		return nil, err
	}
	inuse0, _, err := tcpSockets()
	if err != nil {
		return nil, err
	}
	client, err := proc.Start(proc.Spec{Name: "bench client (" + name + ")", Argv: argv, Log: base + ".client.log",
		Out: base + ".json", Env: []string{"WSGATE_SECRET=" + secret}})
	if err != nil {
		return nil, err
	}
	defer client.Stop()
	connecting := time.Duration(float64(cfg.conns) / cfg.connectRate * float64(time.Second))
	deadline := time.Now().Add(connecting + wait + window + drain + clientWait)
	if name == "all" {
		h, err := measureHold(ctx, cfg, c, client, inuse0, deadline)
		if err != nil {
			return nil, fmt.Errorf("hold: %w", err)
		}
		st.Hold = h
	}
	select {
	case <-client.Done():
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(time.Until(deadline)):
		client.Signal(syscall.SIGINT)
		return nil, fmt.Errorf("the bench client did not finish by %v; log: %s", deadline.Format(time.TimeOnly), proc.Tail(client.Log))
	}
	b, err := os.ReadFile(base + ".json")
	if err != nil {
		return nil, err
	}
	var rep bench.Report
	if err := json.Unmarshal(b, &rep); err != nil || rep.Broadcast == nil {
		return nil, fmt.Errorf("no report from the bench client (%v); log: %s", err, proc.Tail(client.Log))
	}
	return newWorkload(name, &rep), nil
}

// measureHold waits until every connection is open (or their number stops
// growing; nil if the client ends first), then reads the cluster's idle CPU over cpuWindow and everyone's
// memory.
func measureHold(ctx context.Context, cfg config, c *cluster, client *proc.Proc, inuse0 int64, deadline time.Time) (*hold, error) {
	want := inuse0 + 2*int64(cfg.conns) // a client and a server socket each
	last, grew := int64(-1), time.Now()
	for {
		inuse, _, err := tcpSockets()
		if err != nil {
			return nil, err
		}
		if inuse >= want {
			break
		}
		if inuse != last {
			last, grew = inuse, time.Now()
		} else if inuse > inuse0 && time.Since(grew) > 5*time.Second {
			break // some failed; measure what is open
		}
		select {
		case <-client.Done():
			// It gave up (connect errors end a run): no held figures,
			// but its report says what failed.
			return nil, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("connections still opening at %v", deadline.Format(time.TimeOnly))
		}
	}
	time.Sleep(time.Second)
	cpu0, err := c.cpu()
	if err != nil {
		return nil, err
	}
	time.Sleep(cpuWindow)
	cpu1, err := c.cpu()
	if err != nil {
		return nil, err
	}
	h := &hold{IdleCores: (cpu1 - cpu0).Seconds() / cpuWindow.Seconds()}
	for i, p := range c.nodes {
		rss, _, threads, err := bench.ProcessUsage(p.Pid())
		if err != nil {
			return nil, err
		}
		n := connsOf(cfg.conns, cfg.nodes, i)
		per := float64(rss-c.idleRSS[i]) / float64(n)
		h.NodeRSS += rss
		h.NodeThreads += threads
		h.MaxNodeRSSPerConn = max(h.MaxNodeRSSPerConn, per)
		if i == 0 || per < h.MinNodeRSSPerConn {
			h.MinNodeRSSPerConn = per
		}
	}
	h.NodeRSSPerConn = float64(h.NodeRSS-sum(c.idleRSS)) / float64(cfg.conns)
	h.ClientRSS, h.ClientThreads = treeUsage(client.Pid())
	mem, err := meminfo()
	if err != nil {
		return nil, err
	}
	h.MemAvailable, h.Slab = mem["MemAvailable"], mem["Slab"]
	inuse, tcpMem, err := tcpSockets()
	if err != nil {
		return nil, err
	}
	h.Sockets, h.TCPMemPages = inuse-inuse0, tcpMem
	return h, nil
}

func sum(v []int64) int64 {
	var s int64
	for _, x := range v {
		s += x
	}
	return s
}

// treeUsage is the RSS and threads of pid and its children (the bench
// client and its worker processes).
func treeUsage(pid int) (rss int64, threads int) {
	rss, _, threads, _ = bench.ProcessUsage(pid)
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		child, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", child))
		if err != nil {
			continue
		}
		// The parent pid is the second field after the parenthesised name.
		i := strings.LastIndexByte(string(stat), ')')
		if f := strings.Fields(string(stat[i+1:])); i > 0 && len(f) > 1 && f[1] == strconv.Itoa(pid) {
			r, _, t, _ := bench.ProcessUsage(child)
			rss += r
			threads += t
		}
	}
	return rss, threads
}
