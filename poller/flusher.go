package poller

import "sync"

// flushChunk is how many connections a flusher takes from the list at once.
const flushChunk = 64

// flushers is a fixed pool of goroutines that flush connections handed to
// them by QueueFrame. A fan-out queues one frame on thousands of
// connections and returns at once; by the time a flusher reaches a
// connection, the next messages of a quick burst are often queued too, and
// one writev carries them all. The pool is small and constant: it never
// grows with the number of connections.
type flushers struct {
	mu      sync.Mutex
	wake    sync.Cond
	pending []*Conn // connections with writing set, waiting for a flusher
	head    int     // pending[head:] are still waiting
	closed  bool
	done    sync.WaitGroup
}

func (fl *flushers) start(n int) {
	fl.wake.L = &fl.mu
	fl.done.Add(n)
	for range n {
		go fl.run()
	}
}

// push hands c, whose writing flag its caller set, to a flusher.
func (fl *flushers) push(c *Conn) {
	fl.mu.Lock()
	fl.pending = append(fl.pending, c)
	if len(fl.pending)-fl.head == 1 {
		fl.wake.Signal()
	}
	fl.mu.Unlock()
}

func (fl *flushers) run() {
	defer fl.done.Done()
	var batch []*Conn
	for {
		fl.mu.Lock()
		for fl.head == len(fl.pending) && !fl.closed {
			fl.wake.Wait()
		}
		if fl.head == len(fl.pending) {
			fl.mu.Unlock()
			return
		}
		// Take from the front so that connections are served in the
		// order they were queued.
		n := min(len(fl.pending)-fl.head, flushChunk)
		batch = append(batch[:0], fl.pending[fl.head:fl.head+n]...)
		clear(fl.pending[fl.head : fl.head+n])
		fl.head += n
		if fl.head < len(fl.pending) {
			fl.wake.Signal() // more for another flusher
		} else {
			fl.head = 0
			if cap(fl.pending) > 4096 {
				fl.pending = nil // give a burst's backing array back
			} else {
				fl.pending = fl.pending[:0]
			}
		}
		fl.mu.Unlock()
		for i, c := range batch {
			c.flush()
			batch[i] = nil
		}
	}
}

// stop lets the flushers finish what is pending, then end.
func (fl *flushers) stop() {
	fl.mu.Lock()
	fl.closed = true
	fl.wake.Broadcast()
	fl.mu.Unlock()
	fl.done.Wait()
}
