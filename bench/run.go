package bench

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

// Run carries out a run: it starts the workers, waits until they have
// connected and then o.Settle more, opens the measurement window for o.Duration (or until SIGINT),
// lets answers in flight drain, and merges what the workers counted. The
// live progress line goes to stderr when it is a terminal.
func Run(o Options, stderr io.Writer) (*Report, error) {
	base := WorkerConfig{
		Workload: o.Workload, URLs: o.URLs, Conns: o.Conns, Sources: o.Sources,
		ConnectRate: o.ConnectRate, Size: o.Size, Rate: o.Rate, Messages: o.Messages,
		Loops: o.Loops, HandshakeTimeout: o.HandshakeTimeout, Drain: o.Drain,
		Publisher: o.Workload == "bcast" && o.APIRegister == "", UIDs: o.UIDs,
		Churn: o.Churn, ChurnGrace: o.ChurnGrace,
	}
	cfgs := splitConfigs(base, o.Procs)

	var idle, atStart, atEnd procSample
	sampleServer := serverSampler(o)
	sample := func(s *procSample) {
		if sampleServer != nil {
			if got, err := sampleServer(); err == nil {
				*s = got
			}
		}
	}
	if sampleServer != nil {
		var err error
		if idle, err = sampleServer(); err != nil {
			return nil, err
		}
	}

	var pub *apiPublisher
	if o.Workload == "bcast" && o.APIRegister != "" {
		var err error
		if pub, err = newAPIPublisher(o, stderr); err != nil {
			return nil, err
		}
		defer pub.close()
	}

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sig)

	// One worker runs inside this process; more run as processes of their
	// own, and this one, which only relays their events, counts as a
	// client process too.
	inProcess := o.Procs == 1
	var parentCPU cpuWindow
	handles, events, err := startWorkers(cfgs, inProcess, stderr)
	if err != nil {
		return nil, err
	}
	defer func() {
		for _, h := range handles {
			h.cmds.Close()
		}
	}()

	prog := newProgress(stderr, len(handles))
	tick := time.NewTicker(time.Second)
	defer tick.Stop()

	var (
		merged      = newResult()
		workerErrs  []string
		alive       = len(handles)
		ready       = 0
		stopped     = make([]bool, len(handles))
		nStopped    = 0
		published   int64
		expectSent  bool
		stopSent    bool
		interrupted bool
		settled     <-chan time.Time
		window      <-chan time.Time
		start, end  time.Time
		openAtStart int64
	)
	stopAll := func() {
		if stopSent {
			return
		}
		stopSent = true
		if pub != nil {
			published += pub.stop()
		}
		if !start.IsZero() {
			end = time.Now()
			parentCPU.close()
			sample(&atEnd)
		}
		for _, h := range handles {
			h.send(cmdStop)
		}
	}
	markStopped := func(id int) {
		if !stopped[id] {
			stopped[id] = true
			nStopped++
		}
		if nStopped == len(handles) && !expectSent {
			expectSent = true
			for _, h := range handles {
				h.send(cmdExpect + " " + strconv.FormatInt(published, 10))
			}
		}
	}

	for alive > 0 {
		select {
		case <-sig:
			interrupted = true
			stopAll()
		case <-settled:
			// The server is sampled only now, so that what the handshakes
			// left behind has had o.Settle to be collected.
			settled = nil
			if !stopSent {
				sample(&atStart)
				parentCPU.open()
				start = time.Now()
				window = time.After(o.Duration)
				for _, h := range handles {
					h.send(cmdStart)
				}
				if pub != nil {
					pub.start()
				}
			}
		case <-window:
			stopAll()
		case <-tick.C:
			prog.print()
		case e := <-events:
			if e.ev == nil {
				alive--
				if e.err != nil {
					workerErrs = append(workerErrs, e.err.Error())
				}
				stopAll() // a worker that ends early ends the run
				markStopped(e.id)
				continue
			}
			switch e.ev.Type {
			case "progress":
				prog.update(e.id, e.ev)
			case "ready":
				openAtStart += e.ev.Open
				if ready++; ready == len(handles) && !stopSent {
					settled = time.After(o.Settle)
				}
			case "stopped":
				published += e.ev.Published
				markStopped(e.id)
			case "result":
				if e.ev.Result != nil {
					merged.Merge(e.ev.Result)
				}
			}
		}
	}
	prog.done()

	var elapsed time.Duration
	if !start.IsZero() {
		elapsed = end.Sub(start)
	}
	if !inProcess {
		merged.CPU += parentCPU.used()
	}
	if pub != nil {
		merged.Published += pub.stop()
	}
	rep := newReport(o, merged, elapsed, interrupted)
	rep.WorkerErrors = workerErrs
	if pub != nil {
		if f := pub.failures(); f != "" {
			rep.WorkerErrors = append(rep.WorkerErrors, f)
		}
	}
	if sampleServer != nil && !start.IsZero() {
		rep.Server = serverFigures(o, idle, atStart, atEnd, elapsed, openAtStart, rep.windowMessages())
	}
	rep.judge()
	if len(workerErrs) > 0 && merged.Opened == 0 && merged.ConnectErrors == 0 {
		return rep, fmt.Errorf("workers failed: %v", workerErrs)
	}
	return rep, nil
}
