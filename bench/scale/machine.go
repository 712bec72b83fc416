package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// What a run costs the machine, per connection and per process, from the
// steps in BENCHMARKS.md with room to spare: the kernel keeps ~5.4 KB of
// slab per loopback socket and a connection is two sockets; a node adds
// under 1 KB a connection, the bench client ~1 KB; an idle node or client
// process ~30 MB.
const (
	kernelPerConn = 11 << 10
	nodePerConn   = 1 << 10
	clientPerConn = 1 << 10
	perProcess    = 30 << 20
	memoryMargin  = 1.2   // on top of the estimate
	filesMargin   = 200   // files a node needs besides its connections
	clientPerProc = 19000 // connections per bench client process (its default)
)

// machine is what the checks read.
type machine struct {
	memAvailable int64 // bytes
	fileLimit    uint64
	fileMax      int64 // fs.file-max
	portRange    int   // ephemeral ports
}

func readMachine() (machine, error) {
	var m machine
	mem, err := meminfo()
	if err != nil {
		return m, err
	}
	m.memAvailable = mem["MemAvailable"]
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return m, fmt.Errorf("read the open-files limit: %w", err)
	}
	m.fileLimit = lim.Max
	if f, err := readInts("/proc/sys/fs/file-max"); err == nil && len(f) == 1 {
		m.fileMax = f[0]
	}
	if r, err := readInts("/proc/sys/net/ipv4/ip_local_port_range"); err == nil && len(r) == 2 {
		m.portRange = int(r[1] - r[0] + 1)
	}
	return m, nil
}

// check says why a run of cfg cannot fit on m, with what to change; nil
// if it fits.
func (m machine) check(cfg config) error {
	var problems []string
	perNode := (cfg.conns + cfg.nodes - 1) / cfg.nodes
	if uint64(perNode+filesMargin) > m.fileLimit {
		need := (cfg.conns + int(m.fileLimit) - filesMargin - 1) / (int(m.fileLimit) - filesMargin)
		problems = append(problems, fmt.Sprintf("each node would hold %d connections but a process may open %d files: use -nodes %d or more, or raise the hard limit (ulimit -Hn)",
			perNode, m.fileLimit, need))
	}
	if cfg.nodes > maxNodes {
		problems = append(problems, fmt.Sprintf("-nodes %d: at most %d (one loopback address each)", cfg.nodes, maxNodes))
	}
	if m.portRange > 0 && perNode > m.portRange-1000 {
		problems = append(problems, fmt.Sprintf("each node would take %d connections from one source address, but the ephemeral port range holds %d: use more -nodes or widen net.ipv4.ip_local_port_range",
			perNode, m.portRange))
	}
	if m.fileMax > 0 && int64(2*cfg.conns+10000) > m.fileMax {
		problems = append(problems, fmt.Sprintf("%d connections need %d files in all (both ends) but fs.file-max is %d: raise it (sysctl fs.file-max)",
			cfg.conns, 2*cfg.conns+10000, m.fileMax))
	}
	if need := memoryNeeded(cfg); need > m.memAvailable {
		problems = append(problems, fmt.Sprintf("%d connections on %d nodes need about %s of memory, but %s is available: use fewer -conns or free memory",
			cfg.conns, cfg.nodes, gib(need), gib(m.memAvailable)))
	}
	if len(problems) > 0 {
		return fmt.Errorf("this run does not fit on this machine:\n  - %s", strings.Join(problems, "\n  - "))
	}
	return nil
}

// memoryNeeded estimates a run's memory: kernel, nodes and clients.
func memoryNeeded(cfg config) int64 {
	clients := (cfg.conns + clientPerProc - 1) / clientPerProc
	n := int64(cfg.conns)*(kernelPerConn+nodePerConn+clientPerConn) + int64(cfg.nodes+clients+1)*perProcess
	return int64(float64(n) * memoryMargin)
}

func gib(b int64) string { return fmt.Sprintf("%.1f GiB", float64(b)/(1<<30)) }

// meminfo reads /proc/meminfo in bytes.
func meminfo() (map[string]int64, error) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return nil, fmt.Errorf("read meminfo: %w", err)
	}
	defer f.Close()
	out := map[string]int64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			continue
		}
		v, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			continue
		}
		if len(fields) > 1 && fields[1] == "kB" {
			v <<= 10
		}
		out[name] = v
	}
	return out, sc.Err()
}

// readInts reads the whitespace-separated integers of a /proc file.
func readInts(path string) ([]int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []int64
	for _, f := range bytes.Fields(b) {
		v, err := strconv.ParseInt(string(f), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", path, err)
		}
		out = append(out, v)
	}
	return out, nil
}

// tcpSockets reads /proc/net/sockstat: TCP sockets in use, and the pages of
// memory TCP holds.
func tcpSockets() (inuse, memPages int64, err error) {
	b, err := os.ReadFile("/proc/net/sockstat")
	if err != nil {
		return 0, 0, fmt.Errorf("read sockstat: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		rest, ok := strings.CutPrefix(line, "TCP: ")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		for i := 0; i+1 < len(f); i += 2 {
			v, _ := strconv.ParseInt(f[i+1], 10, 64)
			switch f[i] {
			case "inuse":
				inuse = v
			case "mem":
				memPages = v
			}
		}
		return inuse, memPages, nil
	}
	return 0, 0, fmt.Errorf("sockstat has no TCP line")
}
