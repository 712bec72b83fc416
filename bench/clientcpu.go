package bench

import (
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// saturationShare is the share of its cores above which the client is
// taken to be near saturation: then the throughput may be the client's
// limit rather than the server's.
const saturationShare = 0.9

// ClientFigures are the bench client's own costs during the measurement
// window, added up over all its processes. They tell whether the client
// rather than the server set the pace.
type ClientFigures struct {
	CPUSeconds     float64 `json:"cpu_seconds"`    // user + system, during the window
	CPUUtilization float64 `json:"cpu_cores"`      // CPU seconds per wall second
	CPUPerMessage  float64 `json:"cpu_us_per_msg"` // per round trip (echo) or delivery (bcast)
	CPUs           int     `json:"cpus"`           // cores the client may run on
	NearSaturation bool    `json:"near_saturation"`
}

// clientFigures computes the client's figures from the CPU time its
// processes used in the window, the messages handled in it and the cores
// it may run on.
func clientFigures(cpu, window time.Duration, msgs int64, cpus int) *ClientFigures {
	f := &ClientFigures{CPUSeconds: cpu.Seconds(), CPUs: cpus}
	if window > 0 {
		f.CPUUtilization = cpu.Seconds() / window.Seconds()
	}
	if msgs > 0 {
		f.CPUPerMessage = float64(cpu.Microseconds()) / float64(msgs)
	}
	f.NearSaturation = cpus > 0 && f.CPUUtilization >= saturationShare*float64(cpus)
	return f
}

// clientCPUs is the number of cores the client may run on: runtime.NumCPU
// reads the process's CPU affinity, so a client pinned with taskset or a
// cpuset counts only its own cores. Worker processes inherit it.
func clientCPUs() int { return runtime.NumCPU() }

// cpuWindow measures the CPU time this process uses between open and
// close. It is sampled twice per run, so it costs nothing per message.
type cpuWindow struct {
	start, end     time.Duration
	opened, closed bool
}

func (w *cpuWindow) open() {
	w.start, w.opened = selfCPU(), true
}

// close ends the window; it does nothing before open or a second time.
func (w *cpuWindow) close() {
	if w.opened && !w.closed {
		w.end, w.closed = selfCPU(), true
	}
}

// used is the CPU time between open and close, 0 unless both happened.
func (w *cpuWindow) used() time.Duration {
	if !w.closed {
		return 0
	}
	return w.end - w.start
}

// selfCPU is the user and system time this process has used so far, from
// getrusage. The call fails only for a bad argument, never for
// RUSAGE_SELF, so a failure reads as no time at all.
func selfCPU() time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
