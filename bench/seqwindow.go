package bench

// seqWindow tells new, duplicate and out-of-order sequence numbers apart in
// 16 bytes per subscriber: every number below next has arrived, and bit i of
// ahead says whether next+1+i has. A number more than 64 ahead of a gap
// slides the window; the gap is then left to the missing count.
type seqWindow struct {
	next  uint64
	ahead uint64
}

// add records seq and reports whether it had been seen before and whether it
// arrived ahead of an earlier number.
func (w *seqWindow) add(seq uint64) (duplicate, outOfOrder bool) {
	switch {
	case seq < w.next:
		return true, false
	case seq == w.next:
		w.next++
		// Bit i now stands for next+i: consume the run that is complete.
		for w.ahead&1 != 0 {
			w.ahead >>= 1
			w.next++
		}
		w.ahead >>= 1
		return false, false
	}
	off := seq - w.next - 1
	if off >= 64 {
		shift := off - 63
		if shift >= 64 {
			w.ahead = 0
		} else {
			w.ahead >>= shift
		}
		w.next += shift
		off = 63
	}
	bit := uint64(1) << off
	if w.ahead&bit != 0 {
		return true, false
	}
	w.ahead |= bit
	return false, true
}
