package bench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// WorkerConfig is one client process's share of a run.
type WorkerConfig struct {
	Workload         string        `json:"workload"`
	URLs             []string      `json:"urls"`
	First            int           `json:"first"`   // global number of the first connection
	Conns            int           `json:"conns"`   // connections of this worker
	Sources          int           `json:"sources"` // source addresses; 0 lets the kernel pick
	ConnectRate      float64       `json:"connect_rate"`
	Size             int           `json:"size"`
	Rate             float64       `json:"rate"`     // messages/s of this worker (echo open loop, bcast)
	Messages         int64         `json:"messages"` // messages this worker may send; 0 is no limit
	Publisher        bool          `json:"publisher"`
	UIDs             int           `json:"uids"`  // bcast: connect as one of this many users; 0 is none
	Churn            float64       `json:"churn"` // bcast: percent of the connections closed and re-dialed per second
	ChurnGrace       time.Duration `json:"churn_grace"`
	Loops            int           `json:"loops"`
	HandshakeTimeout time.Duration `json:"handshake_timeout"`
	Drain            time.Duration `json:"drain"`
	Epoch            int64         `json:"epoch_ns"`    // the run's start, Unix ns: the timeline's clock
	Compression      bool          `json:"compression"` // offer permessage-deflate
}

// eventType says what an event reports.
type eventType string

const (
	evProgress eventType = "progress" // counters so far, about once a second
	evReady    eventType = "ready"    // every connection of the worker is open (or failed)
	evStopped  eventType = "stopped"  // the worker stopped sending; Published is what it sent
	evResult   eventType = "result"   // the worker's last event: what it counted
)

// event is one line a worker writes to the parent.
type event struct {
	Type      eventType `json:"type"`
	Open      int64     `json:"open,omitempty"`
	Errors    int64     `json:"errors,omitempty"`
	Sent      int64     `json:"sent,omitempty"`
	Received  int64     `json:"received,omitempty"`
	Published int64     `json:"published,omitempty"`
	Result    *Result   `json:"result,omitempty"`
}

// Commands the parent writes to a worker, one a line.
const (
	cmdStart  = "start"  // the measurement window opens
	cmdStop   = "stop"   // it closes: stop sending
	cmdExpect = "expect" // "expect N": N messages were published in all
)

// worker runs a share of the connections on a few loops.
type worker struct {
	cfg     WorkerConfig
	targets []Target
	sources []unix.SockaddrInet4
	drivers []*driver
	phase   atomic.Int32
	expect  atomic.Int64
}

func newWorker(cfg WorkerConfig) (*worker, error) {
	w := &worker{cfg: cfg}
	for _, u := range cfg.URLs {
		t, err := ParseTarget(u)
		if err != nil {
			return nil, err
		}
		w.targets = append(w.targets, t)
	}
	if len(w.targets) == 0 {
		return nil, fmt.Errorf("no target url")
	}
	for i := range cfg.Sources {
		s, err := SourceAddr(i)
		if err != nil {
			return nil, err
		}
		w.sources = append(w.sources, s)
	}
	for slot := range cfg.Loops {
		d := &driver{w: w, slot: slot, handshake: NewHist(), latency: NewHist(), seen: -1}
		d.n = cfg.Conns / cfg.Loops
		if slot < cfg.Conns%cfg.Loops {
			d.n++
		}
		d.wantPublisher = cfg.Publisher && slot == 0
		switch cfg.Workload {
		case "echo":
			d.wl = newEchoLoad(d, &w.cfg)
		case "bcast":
			b := newBcastLoad(d, &w.cfg)
			d.wl = b
			if cfg.Churn > 0 {
				d.churn = newChurner(d, b, &w.cfg)
			}
		default:
			d.wl = connsLoad{}
		}
		l, err := NewLoop(d, loopTick(&cfg, slot))
		if err != nil {
			w.closeLoops()
			return nil, err
		}
		l.compression = cfg.Compression
		d.loop = l
		w.drivers = append(w.drivers, d)
	}
	return w, nil
}

// quietTick is the tick of a loop that only paces its dials and follows
// the run's phases: a subscriber's, or a loop that holds connections. At
// a million connections there are over a hundred such loops, and a
// millisecond tick would wake them 100,000 times a second for nothing.
const quietTick = 10 * time.Millisecond

// loopTick is the tick of loop slot: as fine as its sends need.
func loopTick(cfg *WorkerConfig, slot int) time.Duration {
	switch {
	case cfg.Workload == "echo":
		return echoTick(cfg)
	case cfg.Workload == "bcast" && cfg.Publisher && slot == 0:
		return bcastTick(cfg)
	}
	return quietTick
}

func (w *worker) closeLoops() {
	for _, d := range w.drivers {
		d.loop.release()
	}
}

func (w *worker) all(flag func(*driver) *atomic.Bool) bool {
	for _, d := range w.drivers {
		if !flag(d).Load() {
			return false
		}
	}
	return true
}

func (w *worker) progress() event {
	e := event{Type: evProgress}
	for _, d := range w.drivers {
		e.Open += d.count.open.Load()
		e.Errors += d.count.errors.Load() + d.count.connectErrors.Load()
		e.Sent += d.count.sent.Load()
		e.Received += d.count.recv.Load()
	}
	return e
}

// runWorker runs one worker: it reads commands from in, writes events to out
// as JSON lines, and returns after writing its result. stop, when not nil,
// acts like the stop command (a worker process passes SIGINT there); so does
// the end of in, which means the parent is gone.
func runWorker(cfg WorkerConfig, in io.Reader, out io.Writer, stop <-chan os.Signal) error {
	w, err := newWorker(cfg)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(out)
	emit := func(e event) error {
		if err := enc.Encode(e); err != nil {
			return fmt.Errorf("write to parent: %w", err)
		}
		return nil
	}

	var wg sync.WaitGroup
	loopsDone := make(chan struct{})
	for _, d := range w.drivers {
		wg.Go(d.loop.Run)
	}
	go func() { wg.Wait(); close(loopsDone) }()

	cmds := make(chan string)
	go func() {
		s := bufio.NewScanner(in)
		for s.Scan() {
			cmds <- s.Text()
		}
		close(cmds)
	}()

	poll := time.NewTicker(20 * time.Millisecond)
	defer poll.Stop()
	lastProgress := time.Now()
	sentReady, sentStopped, parentGone := false, false, false
	published := int64(0)
	var cpu cpuWindow // this process's CPU time in the window
	tl := timeline{epoch: time.Unix(0, cfg.Epoch)}
	beginDrain := func(n int64) {
		w.expect.Store(n)
		w.phase.Store(phaseDrain)
	}
	toStop := func() {
		if w.phase.Load() == phaseRun {
			cpu.close()
		}
		if w.phase.Load() < phaseStop {
			w.phase.Store(phaseStop)
		}
	}
	for {
		select {
		case c, ok := <-cmds:
			if !ok {
				cmds, parentGone = nil, true
				toStop()
				continue
			}
			switch {
			case c == cmdStart && w.phase.Load() == phaseConnect:
				cpu.open()
				w.phase.Store(phaseRun)
			case c == cmdStop:
				toStop()
			case strings.HasPrefix(c, cmdExpect+" ") && w.phase.Load() == phaseStop:
				n, _ := strconv.ParseInt(strings.TrimPrefix(c, cmdExpect+" "), 10, 64)
				beginDrain(n)
			}
		case <-stop:
			toStop()
		case <-loopsDone:
			cpu.close() // the loops ended inside the window
			res := newResult()
			for _, d := range w.drivers {
				res.Merge(d.result())
			}
			res.CPU = cpu.used()
			res.Timeline = tl.points
			return emit(event{Type: evResult, Result: res})
		case now := <-poll.C:
			tl.record(now, w.progress())
			phase := w.phase.Load()
			switch {
			case phase == phaseConnect && !sentReady && w.all(func(d *driver) *atomic.Bool { return &d.ready }):
				sentReady = true
				e := w.progress()
				e.Type = evReady
				if err := emit(e); err != nil {
					toStop()
				}
			case phase == phaseStop && !sentStopped && w.all(func(d *driver) *atomic.Bool { return &d.stopped }):
				sentStopped = true
				for _, d := range w.drivers {
					published += d.count.sent.Load() * boolInt(cfg.Workload == "bcast")
				}
				if err := emit(event{Type: evStopped, Published: published}); err != nil || parentGone {
					beginDrain(published)
				}
			case phase == phaseStop && sentStopped && parentGone:
				beginDrain(published)
			case phase == phaseDrain && w.all(func(d *driver) *atomic.Bool { return &d.drained }):
				w.phase.Store(phaseClose)
			}
			if now.Sub(lastProgress) >= time.Second {
				lastProgress = now
				_ = emit(w.progress())
			}
		}
	}
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
