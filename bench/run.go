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
		Churn: o.Churn, ChurnGrace: o.ChurnGrace, Epoch: time.Now().UnixNano(),
		Compression: o.Compression,
	}
	cfgs := splitConfigs(base, o.Procs)

	r := &runner{o: o, merged: newResult(), sampleServer: serverSampler(o)}
	if r.sampleServer != nil {
		var err error
		if r.idle, err = r.sampleServer(); err != nil {
			return nil, err
		}
	}
	if o.Workload == "bcast" && o.APIRegister != "" {
		var err error
		if r.pub, err = newAPIPublisher(o, stderr); err != nil {
			return nil, err
		}
		defer r.pub.close()
	}

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sig)

	// One worker runs inside this process; more run as processes of their
	// own, and this one, which only relays their events, counts as a
	// client process too.
	inProcess := o.Procs == 1
	handles, events, err := startWorkers(cfgs, inProcess, stderr)
	if err != nil {
		return nil, err
	}
	defer func() {
		for _, h := range handles {
			h.cmds.Close()
		}
	}()
	r.handles = handles
	r.stopped = make([]bool, len(handles))
	r.prog = newProgress(stderr, len(handles))
	r.began = time.Unix(0, base.Epoch)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()

	for alive := len(handles); alive > 0; {
		select {
		case <-sig:
			r.interrupted = true
			r.stopAll()
		case <-r.settled:
			r.openWindow()
		case <-r.window:
			r.stopAll()
		case <-tick.C:
			r.prog.print()
		case e := <-events:
			if e.ev == nil {
				alive--
				if e.err != nil {
					r.workerErrs = append(r.workerErrs, e.err.Error())
				}
				r.stopAll() // a worker that ends early ends the run
				r.workerStopped(e.id)
				continue
			}
			r.handle(e.id, e.ev)
		}
	}
	r.prog.done()
	return r.report(inProcess)
}

// runner is the state of one Run between its workers' events.
type runner struct {
	o            Options
	handles      []*workerHandle
	pub          *apiPublisher // the connection-less publisher, or nil
	prog         *progress
	sampleServer func() (procSample, error)

	merged     *Result
	workerErrs []string
	ready      int    // workers whose connections are all open
	stopped    []bool // by worker: it has stopped sending
	nStopped   int
	published  int64 // messages published in all, once every worker stopped
	openAtOpen int64 // connections open when the window opened

	expectSent  bool // every worker was told how many messages to expect
	stopSent    bool // every worker was told to stop
	interrupted bool

	settled <-chan time.Time // fires o.Settle after the last worker is ready
	window  <-chan time.Time // fires when the window closes

	began      time.Time // the run's start: the timeline's clock
	start, end time.Time // the measurement window
	cpu        cpuWindow // this process's CPU in the window

	idle, atStart, atEnd procSample // the server's, if it is sampled
}

// handle takes one event of worker id.
func (r *runner) handle(id int, e *event) {
	switch e.Type {
	case evProgress:
		r.prog.update(id, e)
	case evReady:
		r.openAtOpen += e.Open
		if r.ready++; r.ready == len(r.handles) && !r.stopSent {
			r.settled = time.After(r.o.Settle)
		}
	case evStopped:
		r.published += e.Published
		r.workerStopped(id)
	case evResult:
		if e.Result != nil {
			r.merged.Merge(e.Result)
		}
	}
}

// openWindow starts the measurement: the server is sampled only now, so that
// what the handshakes left behind has had o.Settle to be collected.
func (r *runner) openWindow() {
	r.settled = nil
	if r.stopSent {
		return
	}
	r.sample(&r.atStart)
	r.cpu.open()
	r.start = time.Now()
	r.window = time.After(r.o.Duration)
	for _, h := range r.handles {
		h.send(cmdStart)
	}
	if r.pub != nil {
		r.pub.start()
	}
}

// stopAll ends the window and tells every worker to stop sending.
func (r *runner) stopAll() {
	if r.stopSent {
		return
	}
	r.stopSent = true
	if r.pub != nil {
		r.published += r.pub.stop()
	}
	if !r.start.IsZero() {
		r.end = time.Now()
		r.cpu.close()
		r.sample(&r.atEnd)
	}
	for _, h := range r.handles {
		h.send(cmdStop)
	}
}

// workerStopped notes that worker id stopped sending; once all have, each
// is told how many messages were published in all, so that it can wait for
// the last of them.
func (r *runner) workerStopped(id int) {
	if !r.stopped[id] {
		r.stopped[id] = true
		r.nStopped++
	}
	if r.nStopped == len(r.handles) && !r.expectSent {
		r.expectSent = true
		for _, h := range r.handles {
			h.send(cmdExpect + " " + strconv.FormatInt(r.published, 10))
		}
	}
}

func (r *runner) sample(s *procSample) {
	if r.sampleServer == nil {
		return
	}
	if got, err := r.sampleServer(); err == nil {
		*s = got
	}
}

// report derives the Report from what the workers counted.
func (r *runner) report(inProcess bool) (*Report, error) {
	var elapsed time.Duration
	if !r.start.IsZero() {
		elapsed = r.end.Sub(r.start)
	}
	if !inProcess {
		r.merged.CPU += r.cpu.used()
	}
	if r.pub != nil {
		r.merged.Published += r.pub.stop()
	}
	rep := newReport(r.o, r.merged, elapsed, r.interrupted)
	rep.WorkerErrors = r.workerErrs
	if r.pub != nil {
		if f := r.pub.failures(); f != "" {
			rep.WorkerErrors = append(rep.WorkerErrors, f)
		}
	}
	if r.sampleServer != nil && !r.start.IsZero() {
		rep.Server = serverFigures(r.o, r.idle, r.atStart, r.atEnd, elapsed, r.openAtOpen, rep.windowMessages())
	}
	if !r.start.IsZero() {
		rep.WindowFrom = r.start.Sub(r.began).Seconds()
		rep.WindowTo = r.end.Sub(r.began).Seconds()
	}
	rep.judge()
	if len(r.workerErrs) > 0 && r.merged.Opened == 0 && r.merged.ConnectErrors == 0 {
		return rep, fmt.Errorf("workers failed: %v", r.workerErrs)
	}
	return rep, nil
}
