package bench

import "testing"

func TestSeqWindow(t *testing.T) {
	var w seqWindow
	type step struct {
		seq      uint64
		dup, ooo bool
	}
	steps := []step{
		{0, false, false},
		{1, false, false},
		{3, false, true}, // 2 is late
		{3, true, false}, // again
		{2, false, false},
		{2, true, false},
		{4, false, false},
		{100, false, true}, // far ahead: the window slides
		{100, true, false},
	}
	for i, s := range steps {
		dup, ooo := w.add(s.seq)
		if dup != s.dup || ooo != s.ooo {
			t.Fatalf("step %d seq %d: dup %v ooo %v, want %v %v", i, s.seq, dup, ooo, s.dup, s.ooo)
		}
	}
	if w.next != 5+(100-5-64) {
		t.Fatalf("next %d after sliding", w.next)
	}
}

func TestSeqWindowInOrderStream(t *testing.T) {
	var w seqWindow
	for i := range uint64(10000) {
		if dup, ooo := w.add(i); dup || ooo {
			t.Fatalf("seq %d: dup %v ooo %v", i, dup, ooo)
		}
	}
	if w.next != 10000 || w.ahead != 0 {
		t.Fatalf("next %d ahead %b", w.next, w.ahead)
	}
}
