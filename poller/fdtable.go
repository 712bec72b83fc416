package poller

import (
	"fmt"
	"sync"
	"sync/atomic"
)

// fdChunk is how many slots of an fdTable are allocated at once.
const fdChunk = 4096

// maxTableFD bounds the descriptors an fdTable indexes (16M): its top level
// is allocated whole, 8 bytes per chunk.
const maxTableFD = 1 << 24

// fdTable maps live file descriptors to their values. Live descriptors are
// distinct and dense, so a slot costs 8 bytes per connection where a map
// entry cost several times that, and a lookup is two loads with no lock:
// the event loops look a connection up on every wake-up. Chunks are
// allocated as descriptors reach them and kept.
type fdTable[T any] struct {
	mu     sync.Mutex // serialises chunk allocation
	chunks [maxTableFD / fdChunk]atomic.Pointer[[fdChunk]atomic.Pointer[T]]
}

func (t *fdTable[T]) slot(fd int32, alloc bool) *atomic.Pointer[T] {
	if fd < 0 || fd >= maxTableFD {
		return nil
	}
	chunk := &t.chunks[fd/fdChunk]
	ch := chunk.Load()
	if ch == nil {
		if !alloc {
			return nil
		}
		t.mu.Lock()
		if ch = chunk.Load(); ch == nil {
			ch = new([fdChunk]atomic.Pointer[T])
			chunk.Store(ch)
		}
		t.mu.Unlock()
	}
	return &ch[fd%fdChunk]
}

// add stores v under fd; it fails for a descriptor beyond the table.
func (t *fdTable[T]) add(fd int32, v *T) error {
	s := t.slot(fd, true)
	if s == nil {
		return fmt.Errorf("poller: file descriptor %d beyond the connection table (%d)", fd, maxTableFD)
	}
	s.Store(v)
	return nil
}

// get is the value under fd, or nil.
func (t *fdTable[T]) get(fd int32) *T {
	if s := t.slot(fd, false); s != nil {
		return s.Load()
	}
	return nil
}

// remove clears fd's slot if it still holds v: the descriptor may have
// been reused already.
func (t *fdTable[T]) remove(fd int32, v *T) {
	if s := t.slot(fd, false); s != nil {
		s.CompareAndSwap(v, nil)
	}
}

// each calls f for every value in the table.
func (t *fdTable[T]) each(f func(*T)) {
	for i := range t.chunks {
		ch := t.chunks[i].Load()
		if ch == nil {
			continue
		}
		for j := range ch {
			if v := ch[j].Load(); v != nil {
				f(v)
			}
		}
	}
}
