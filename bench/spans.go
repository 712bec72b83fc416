package bench

import (
	"math"
	"sort"
)

// With -churn a connection is closed and dialed again during the window,
// and misses what is published meanwhile. Those messages are not missing:
// a connection is only held to the messages published while it was
// surely open, its span. A span runs from grace after the handshake of a
// re-dial completed (a connection open before the window owes every
// message) until the moment churn chose to close it, grace before the
// close itself (a connection never chosen owes every message to the end).
// So a message counts only for connections that were open for the whole
// time it was in flight, provided it is delivered within grace.

// maxChurnMessages bounds the publish times a loop keeps with -churn, 8
// bytes each.
const maxChurnMessages = 1 << 20

// span is the stretch of the broadcast that one connection must receive,
// in the publisher's stamps (Unix ns, both ends included), and what it
// received in it.
type span struct {
	from, until int64
	got         int64  // distinct messages received inside the span
	joined      bool   // a re-dial: it joined mid-stream
	started     bool   // a message arrived
	first       uint64 // a re-dial's first number: its order window starts there
	win         seqWindow
}

// wholeSpan is the span of a connection open before the window: every
// message published.
func wholeSpan() span { return span{from: math.MinInt64, until: math.MaxInt64} }

// joinedSpan is the span of a connection whose re-dial completed at opened.
func joinedSpan(opened, grace int64) span {
	return span{from: opened + grace, until: math.MaxInt64, joined: true}
}

func (s *span) covers(at int64) bool { return at >= s.from && at <= s.until }

// add records seq in the span's order window and reports whether it came
// before and whether it came after a later number. A re-dialed connection
// starts its window at its first message, so that what was published
// before it joined is not taken for a gap; a number below that one came
// late, and the window cannot tell a copy of it from the first, so it is
// not counted (counted false) and shows as out of order.
func (s *span) add(seq uint64) (duplicate, outOfOrder, counted bool) {
	if s.joined {
		if !s.started {
			s.first, s.win = seq, seqWindow{next: seq}
		} else if seq < s.first {
			return false, true, false
		}
	}
	s.started = true
	duplicate, outOfOrder = s.win.add(seq)
	return duplicate, outOfOrder, !duplicate
}

// publishTimes keeps the publish stamp of every message a loop has seen,
// by sequence number, so that at the end a span's bounds in time become a
// range of sequence numbers. Messages are stamped in order by one
// publisher, so the stamps grow with the numbers.
type publishTimes struct {
	at []int64 // 0: no connection of the loop received it
}

func (p *publishTimes) record(seq uint64, at int64) {
	if seq >= maxChurnMessages {
		return
	}
	for uint64(len(p.at)) <= seq {
		p.at = append(p.at, 0)
	}
	if p.at[seq] == 0 {
		p.at[seq] = at
	}
}

// stamped is a message whose publish stamp is known.
type stamped struct {
	seq uint64
	at  int64
}

// known lists the messages below n whose stamp was seen, by number.
func (p *publishTimes) known(n int64) []stamped {
	var k []stamped
	for seq, at := range p.at[:min(int64(len(p.at)), max(n, 0))] {
		if at != 0 {
			k = append(k, stamped{uint64(seq), at})
		}
	}
	return k
}

// required is how many of the messages 0..n-1 fall in s, with known from
// publishTimes.known(n). A message no connection of the loop received has
// no known stamp: between two known ones it is inside the span if they
// both are, so a loss inside a span counts; at the edge of a span it is
// left out, as the span cannot tell (the connections of the loop that were
// open throughout count it missing).
func (s *span) required(known []stamped, n int64) int64 {
	if s.from > s.until || n <= 0 {
		return 0
	}
	lo, hi := int64(0), n
	if s.from != math.MinInt64 {
		i := sort.Search(len(known), func(i int) bool { return known[i].at >= s.from })
		lo = n
		if i < len(known) {
			lo = int64(known[i].seq)
		}
	}
	if s.until != math.MaxInt64 {
		j := sort.Search(len(known), func(j int) bool { return known[j].at > s.until })
		hi = 0
		if j > 0 {
			hi = int64(known[j-1].seq) + 1
		}
	}
	return max(0, hi-lo)
}
