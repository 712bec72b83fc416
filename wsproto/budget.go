package wsproto

import "sync/atomic"

// Budget bounds the bytes that many Decoders hold at once in partial
// frames and messages: one connection's limit is MaxMessageSize, a
// Budget is the bound for all of them together, so that many connections
// each sending most of a large message cannot exhaust memory. Frames that
// arrive whole are decoded in place and never count. Safe for concurrent
// use.
type Budget struct {
	limit int64
	used  atomic.Int64
}

// NewBudget returns a budget of limit bytes.
func NewBudget(limit int64) *Budget { return &Budget{limit: limit} }

// Used is how many bytes are lent now.
func (b *Budget) Used() int64 { return b.used.Load() }

// reserve lends n bytes if they fit.
func (b *Budget) reserve(n int64) bool {
	for {
		used := b.used.Load()
		if used+n > b.limit {
			return false
		}
		if b.used.CompareAndSwap(used, used+n) {
			return true
		}
	}
}

// release gives back n bytes.
func (b *Budget) release(n int64) { b.used.Add(-n) }
