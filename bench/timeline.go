package bench

import "time"

// TimelinePoint is what a run had counted At whole seconds after its start.
// Every worker samples its own counters at the same whole seconds of the
// run's clock (its Epoch), so the parent adds them up point by point: a
// rate between two points is exact, not the alias of two tickers.
type TimelinePoint struct {
	At       float64 `json:"at_s"`
	Open     int64   `json:"open"`
	Sent     int64   `json:"sent"`
	Received int64   `json:"received"`
	Errors   int64   `json:"errors"`
}

// timeline records a worker's counters at each whole second after epoch.
type timeline struct {
	epoch  time.Time
	points []TimelinePoint
}

// record adds a point for every whole second that has begun by now and has
// none yet, with the counters of e: polled every few milliseconds, each
// point is that close to its second.
func (t *timeline) record(now time.Time, e event) {
	for k := int(now.Sub(t.epoch) / time.Second); len(t.points) <= k; {
		t.points = append(t.points, TimelinePoint{
			At: float64(len(t.points)), Open: e.Open, Sent: e.Sent, Received: e.Received, Errors: e.Errors,
		})
	}
}

// mergeTimelines adds b into a point by point. Counters are totals so far,
// so the shorter one's last point stands for the seconds after it ended,
// except for open connections, which are none once a worker is done.
func mergeTimelines(a, b []TimelinePoint) []TimelinePoint {
	if len(b) > len(a) {
		a, b = b, a
	}
	out := make([]TimelinePoint, len(a))
	for i, p := range a {
		if len(b) > 0 {
			q := b[min(i, len(b)-1)]
			if i >= len(b) {
				q.Open = 0
			}
			p.Open += q.Open
			p.Sent += q.Sent
			p.Received += q.Received
			p.Errors += q.Errors
		}
		out[i] = p
	}
	return out
}
