package bench

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"time"
)

// userHZ is the unit of utime and stime in /proc/PID/stat: USER_HZ, which
// the kernel fixes at 100 for user space whatever its internal tick.
const userHZ = 100

// procSample is one reading of a process's resource use.
type procSample struct {
	RSS        int64         // resident set, bytes
	CPU        time.Duration // user + system time
	Threads    int
	Goroutines int // from the server's metrics only; 0 is unknown
}

// sampleProc reads the RSS and threads from /proc/PID/status and the CPU
// time from /proc/PID/stat.
func sampleProc(pid int) (procSample, error) {
	var s procSample
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, fmt.Errorf("read server status: %w", err)
	}
	for _, line := range bytes.Split(status, []byte("\n")) {
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		fields := bytes.Fields(value)
		if len(fields) == 0 {
			continue
		}
		n, _ := strconv.ParseInt(string(fields[0]), 10, 64)
		switch string(name) {
		case "VmRSS":
			s.RSS = n << 10 // reported in kB
		case "Threads":
			s.Threads = int(n)
		}
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, fmt.Errorf("read server stat: %w", err)
	}
	// The command name in parentheses may hold spaces: count fields after
	// its closing parenthesis. utime and stime are fields 14 and 15, that
	// is 12th and 13th after the name.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return s, fmt.Errorf("parse server stat: no command name")
	}
	f := bytes.Fields(stat[i+1:])
	if len(f) < 13 {
		return s, fmt.Errorf("parse server stat: %d fields", len(f))
	}
	utime, err1 := strconv.ParseInt(string(f[11]), 10, 64)
	stime, err2 := strconv.ParseInt(string(f[12]), 10, 64)
	if err1 != nil || err2 != nil {
		return s, fmt.Errorf("parse server stat: bad utime or stime")
	}
	s.CPU = time.Duration(utime+stime) * time.Second / userHZ
	return s, nil
}

// ServerFigures are the server's costs, from samples before connecting
// (idle), at the start and at the end of the measurement window.
type ServerFigures struct {
	PID        int     `json:"pid"`
	MetricsURL string  `json:"metrics_url,omitempty"`
	RSSIdle    int64   `json:"rss_idle_bytes"`
	RSSLoaded  int64   `json:"rss_loaded_bytes"`
	RSSPerConn float64 `json:"rss_bytes_per_conn"`
	// RSSEnd and RSSPerConnEnd are sampled at the end of the window: under
	// load (echo at full speed) rather than with the connections idle.
	RSSEnd         int64   `json:"rss_end_bytes"`
	RSSPerConnEnd  float64 `json:"rss_bytes_per_conn_end"`
	Threads        int     `json:"threads"`
	CPUSeconds     float64 `json:"cpu_seconds"` // during the window
	CPUUtilization float64 `json:"cpu_cores"`   // CPU seconds per wall second
	CPUPerMessage  float64 `json:"cpu_us_per_msg"`
	// Goroutines idle, at the start and at the end of the window: known
	// from a server's metrics only. With no goroutine per connection they
	// stay flat however many connections are open.
	GoroutinesIdle   int `json:"goroutines_idle,omitempty"`
	GoroutinesLoaded int `json:"goroutines_loaded,omitempty"`
	GoroutinesEnd    int `json:"goroutines_end,omitempty"`
}

// serverFigures computes the figures of the server o samples; conns is the
// number of connections open at the start of the window and msgs the
// messages handled in it.
func serverFigures(o Options, idle, start, end procSample, window time.Duration, conns, msgs int64) *ServerFigures {
	f := &ServerFigures{
		PID: o.ServerPID, MetricsURL: o.ServerMetrics,
		RSSIdle: idle.RSS, RSSLoaded: start.RSS, RSSEnd: end.RSS, Threads: end.Threads,
		GoroutinesIdle: idle.Goroutines, GoroutinesLoaded: start.Goroutines, GoroutinesEnd: end.Goroutines,
	}
	if conns > 0 {
		f.RSSPerConn = float64(start.RSS-idle.RSS) / float64(conns)
		f.RSSPerConnEnd = float64(end.RSS-idle.RSS) / float64(conns)
	}
	cpu := end.CPU - start.CPU
	f.CPUSeconds = cpu.Seconds()
	if window > 0 {
		f.CPUUtilization = cpu.Seconds() / window.Seconds()
	}
	if msgs > 0 {
		f.CPUPerMessage = float64(cpu.Microseconds()) / float64(msgs)
	}
	return f
}

// serverSampler returns how to sample the server o names: from its
// Prometheus metrics or from /proc; nil when o names none.
func serverSampler(o Options) func() (procSample, error) {
	switch {
	case o.ServerMetrics != "":
		client := &http.Client{Timeout: 5 * time.Second}
		return func() (procSample, error) { return scrapeServer(client, o.ServerMetrics) }
	case o.ServerPID > 0:
		return func() (procSample, error) { return sampleProc(o.ServerPID) }
	}
	return nil
}

// ProcessUsage reads a process's resident set (bytes), CPU time used so far
// (user + system) and thread count from /proc.
func ProcessUsage(pid int) (rss int64, cpu time.Duration, threads int, err error) {
	s, err := sampleProc(pid)
	return s.RSS, s.CPU, s.Threads, err
}
