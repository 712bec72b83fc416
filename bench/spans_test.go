package bench

import (
	"math"
	"testing"
)

// tenMessages are messages 0..9 published at 1000, 1100, ... 1900 ns.
func tenMessages(skip ...uint64) *publishTimes {
	var p publishTimes
	for seq := range uint64(10) {
		skipped := false
		for _, s := range skip {
			skipped = skipped || s == seq
		}
		if !skipped {
			p.record(seq, 1000+100*int64(seq))
		}
	}
	return &p
}

func TestSpanRequired(t *testing.T) {
	for _, tc := range []struct {
		name        string
		from, until int64
		skip        []uint64
		want        int64
	}{
		{"open before the window, never chosen", math.MinInt64, math.MaxInt64, nil, 10},
		{"the same, whatever the loop saw", math.MinInt64, math.MaxInt64, []uint64{0, 9}, 10},
		{"chosen at 1250: 0..2", math.MinInt64, 1250, nil, 3},
		{"chosen exactly at a publish: it is owed", math.MinInt64, 1200, nil, 3},
		{"re-dialed, span from 1350: 4..9", 1350, math.MaxInt64, nil, 6},
		{"span from a publish: it is owed", 1400, math.MaxInt64, nil, 6},
		{"re-dialed and chosen again: 4..6", 1350, 1650, nil, 3},
		{"from after the last message", 2500, math.MaxInt64, nil, 0},
		{"ended before it began", 1500, 1400, nil, 0},
		// Nobody in the loop saw 4: at the edge of the span it cannot be
		// placed and is left out; inside, 7 is owed all the same.
		{"unknown at the edge left out", 1350, math.MaxInt64, []uint64{4}, 5},
		{"unknown inside owed", 1350, math.MaxInt64, []uint64{7}, 6},
		{"unknown at the end left out", math.MinInt64, 1250, []uint64{2}, 2},
	} {
		p := tenMessages(tc.skip...)
		s := span{from: tc.from, until: tc.until}
		if got := s.required(p.known(10), 10); got != tc.want {
			t.Errorf("%s: required %d, want %d", tc.name, got, tc.want)
		}
	}
	// Only what was published counts, even if more was seen.
	s := wholeSpan()
	if got := s.required(tenMessages().known(4), 4); got != 4 {
		t.Errorf("4 published: required %d", got)
	}
	s = span{from: 1350, until: math.MaxInt64}
	if got := s.required(tenMessages().known(6), 6); got != 2 {
		t.Errorf("6 published, from 1350: required %d, want 2 (4 and 5)", got)
	}
}

// testBcast is a bcast workload of one loop with n subscribers, outside
// any run: the test feeds it opens and messages by hand.
func testBcast(n int, grace int64) (*bcastLoad, []*Conn) {
	d := &driver{w: &worker{}, n: n, latency: NewHist()}
	b := newBcastLoad(d, &WorkerConfig{Churn: 1, ChurnGrace: 0})
	b.grace = grace
	conns := make([]*Conn, n)
	for i := range conns {
		conns[i] = &Conn{Index: i, state: stateOpen}
		b.opened(conns[i], 0)
	}
	return b, conns
}

// deliver hands message seq, published at 1000+100×seq, to c.
func deliver(b *bcastLoad, c *Conn, seq uint64) {
	p := make([]byte, minPayload)
	stamp(p, 1000+100*int64(seq), seq)
	b.message(c, p, 5000)
}

// A connection churned out and back owes what was published while it was
// surely open, no more and no less: here one message of its second span
// is lost and is the only one missing.
func TestChurnAccounting(t *testing.T) {
	b, conns := testBcast(2, 100)
	steady, churned := conns[0], conns[1]
	b.start(0)
	for seq := range uint64(10) {
		deliver(b, steady, seq)
	}
	for seq := range uint64(3) {
		deliver(b, churned, seq)
	}
	b.leaving(churned, 1250) // chosen: owes 0..2
	deliver(b, churned, 3)   // in flight at the choice: outside its span
	churned.state = stateClosing

	again := &Conn{Index: 1, state: stateOpen, Redialed: true}
	b.opened(again, 1500) // its span starts at 1600: owes 6..9
	deliver(b, again, 5)  // published before: outside
	deliver(b, again, 6)
	deliver(b, again, 7)
	deliver(b, again, 9) // 8 was lost

	b.d.w.expect.Store(10)
	var r Result
	b.finish(&r)
	expected := 10*r.Subscribers - r.Excused
	if r.Subscribers != 2 || r.Excused != 3 || expected != 17 {
		t.Fatalf("%d subscribers, %d excused, %d expected; want 2, 3 (3, 4 and 5 of the churned), 17", r.Subscribers, r.Excused, expected)
	}
	if r.Unique != 16 || expected-r.Unique != 1 {
		t.Fatalf("%d delivered, %d missing; want 16 and 1 (8 of the re-dial)", r.Unique, expected-r.Unique)
	}
	if r.Outside != 2 || r.Duplicates != 0 {
		t.Fatalf("%d outside, %d duplicates; want 2 (3 and 5) and 0", r.Outside, r.Duplicates)
	}
	// 9 came with 8 not yet there: the window cannot tell a gap from a
	// late number.
	if r.OutOfOrder != 1 {
		t.Fatalf("%d out of order, want 1", r.OutOfOrder)
	}
	if b.drained() {
		t.Fatal("drained with a message missing")
	}
}

// A re-dial's window starts at its first message: a number below it came
// late, and is neither delivered nor a duplicate; a copy is a duplicate.
func TestChurnOrderAfterRedial(t *testing.T) {
	b, conns := testBcast(1, 0)
	b.start(0)
	b.leaving(conns[0], 0)
	again := &Conn{Index: 0, state: stateOpen, Redialed: true}
	b.opened(again, 1000) // owes everything
	deliver(b, again, 1)
	deliver(b, again, 0)
	deliver(b, again, 1)
	deliver(b, again, 2)
	if b.outOfOrder != 1 || b.duplicates != 1 || b.unique != 2 || b.outside != 1 {
		t.Fatalf("%d out of order, %d duplicates, %d delivered, %d outside; want 1, 1, 2, 1",
			b.outOfOrder, b.duplicates, b.unique, b.outside)
	}
}

// Every connection, steady or churned, that got all it owed leaves
// nothing missing, and the loop counts as drained.
func TestChurnDrainedWhenSpansComplete(t *testing.T) {
	b, conns := testBcast(2, 100)
	b.start(0)
	for seq := range uint64(5) {
		deliver(b, conns[0], seq)
		deliver(b, conns[1], seq)
	}
	b.leaving(conns[1], 1450)
	again := &Conn{Index: 1, state: stateOpen, Redialed: true}
	b.opened(again, 1600)
	for seq := uint64(5); seq < 10; seq++ {
		deliver(b, conns[0], seq)
		if seq >= 7 {
			deliver(b, again, seq)
		}
	}
	b.d.w.expect.Store(10)
	if !b.drained() {
		t.Fatalf("not drained: %d delivered, %d excused", b.unique, b.excused(10))
	}
}
