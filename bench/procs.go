package bench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
)

// workerFlag is the hidden flag that makes bench run as a worker process.
// Its value is the worker's configuration as JSON.
const workerFlag = "worker"

// WorkerCommand is the command line that re-executes this program as a
// bench worker: the binary must hand the arguments after "bench" to Main.
// cmd/wsgate does; a test binary does it in TestMain.
func workerCommand(cfg WorkerConfig) (*exec.Cmd, error) {
	js, err := json.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("encode worker config: %w", err)
	}
	return exec.Command(os.Args[0], "bench", "-"+workerFlag, string(js)), nil
}

// workerEvent is an event from worker id; a nil event with err set means
// the worker ended.
type workerEvent struct {
	id  int
	ev  *event
	err error
}

// workerHandle is the parent's end of one worker, a process or, when the
// run needs only one, a goroutine.
type workerHandle struct {
	id   int
	cmds io.WriteCloser
	mu   sync.Mutex
}

// send writes one command line; a worker that is gone is ignored, as its
// end is reported through its events.
func (h *workerHandle) send(cmd string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	_, _ = io.WriteString(h.cmds, cmd+"\n")
}

// startWorkers starts one worker per config. Every event of every worker
// arrives on the returned channel, each worker's last one with ev == nil.
func startWorkers(cfgs []WorkerConfig, inProcess bool, stderr io.Writer) ([]*workerHandle, <-chan workerEvent, error) {
	events := make(chan workerEvent, 64*len(cfgs))
	var handles []*workerHandle
	stderr = &lockedWriter{w: stderr} // the workers' stderr copiers share it
	for id, cfg := range cfgs {
		var (
			h   *workerHandle
			out io.Reader
			end func() error
		)
		if inProcess {
			cmdR, cmdW := io.Pipe()
			evR, evW := io.Pipe()
			done := make(chan error, 1)
			go func() {
				err := runWorker(cfg, cmdR, evW, nil)
				cmdR.Close()
				evW.Close()
				done <- err
			}()
			h, out, end = &workerHandle{id: id, cmds: cmdW}, evR, func() error { return <-done }
		} else {
			c, err := workerCommand(cfg)
			if err != nil {
				return nil, nil, err
			}
			c.Stderr = stderr
			stdin, err := c.StdinPipe()
			if err != nil {
				return nil, nil, fmt.Errorf("worker %d stdin: %w", id, err)
			}
			stdout, err := c.StdoutPipe()
			if err != nil {
				return nil, nil, fmt.Errorf("worker %d stdout: %w", id, err)
			}
			if err := c.Start(); err != nil {
				return nil, nil, fmt.Errorf("start worker %d: %w", id, err)
			}
			h, out, end = &workerHandle{id: id, cmds: stdin}, stdout, c.Wait
		}
		handles = append(handles, h)
		go readEvents(id, out, end, events)
	}
	return handles, events, nil
}

// readEvents forwards a worker's JSON lines, then its exit status.
func readEvents(id int, out io.Reader, end func() error, events chan<- workerEvent) {
	s := bufio.NewScanner(out)
	s.Buffer(make([]byte, 64<<10), 64<<20) // a result line carries histograms
	var bad error
	for s.Scan() {
		var e event
		if err := json.Unmarshal(s.Bytes(), &e); err != nil {
			bad = fmt.Errorf("worker %d: bad event: %w", id, err)
			continue
		}
		events <- workerEvent{id: id, ev: &e}
	}
	if err := s.Err(); err != nil && bad == nil {
		bad = fmt.Errorf("worker %d: read events: %w", id, err)
	}
	_, _ = io.Copy(io.Discard, out)
	err := end()
	if err != nil {
		err = fmt.Errorf("worker %d: %w", id, err)
	} else {
		err = bad
	}
	events <- workerEvent{id: id, err: err}
}

// splitConfigs divides a run into per-worker configurations: connections,
// connect rate, message rate and message limit are shared out evenly, the
// publisher (if a connection publishes) goes to the first worker.
func splitConfigs(base WorkerConfig, procs int) []WorkerConfig {
	cfgs := make([]WorkerConfig, procs)
	first := 0
	for i := range procs {
		c := base
		c.Conns = base.Conns / procs
		if i < base.Conns%procs {
			c.Conns++
		}
		c.First = first
		first += c.Conns
		c.ConnectRate = base.ConnectRate / float64(procs)
		c.Publisher = base.Publisher && i == 0
		if base.Workload == "echo" {
			c.Rate = base.Rate / float64(procs)
			c.Messages = base.Messages / int64(procs)
			if base.Messages > 0 {
				c.Messages = max(c.Messages, 1)
			}
		} else {
			c.Rate, c.Messages = 0, 0
			if c.Publisher {
				c.Rate, c.Messages = base.Rate, base.Messages
			}
		}
		cfgs[i] = c
	}
	return cfgs
}

// lockedWriter serialises writes from several goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
