package bench

import "time"

// Result is what one loop, one worker or the whole run counted. Workers send
// theirs to the parent as JSON; Merge adds them up.
type Result struct {
	Opened        int64 `json:"opened"`         // handshakes completed
	ConnectErrors int64 `json:"connect_errors"` // dials or handshakes that failed
	Errors        int64 `json:"errors"`         // open connections that failed
	FirstDial     int64 `json:"first_dial_ns"`  // Unix ns, 0 if none
	LastOpen      int64 `json:"last_open_ns"`   // Unix ns, 0 if none

	Sent       int64 `json:"sent"`
	Received   int64 `json:"received"`
	Unanswered int64 `json:"unanswered"` // echo: sent but never echoed
	Invalid    int64 `json:"invalid"`    // echo: replies that were not the echo of a message sent

	Published   int64 `json:"published"`
	Subscribers int64 `json:"subscribers"`
	Unique      int64 `json:"unique"`
	Duplicates  int64 `json:"duplicates"`
	OutOfOrder  int64 `json:"out_of_order"`
	Excused     int64 `json:"excused"` // churn: of published × subscribers, not owed (spans.go)
	Outside     int64 `json:"outside"` // churn: deliveries outside the receiver's span

	// WireIn is the bytes read from open connections: frames from the
	// server, headers included, compressed if they were.
	WireIn int64 `json:"wire_in_bytes"`

	Closed          int64 `json:"closed"`           // churn: connections closed on purpose
	Reconnects      int64 `json:"reconnects"`       // churn: re-dials that opened
	ReconnectErrors int64 `json:"reconnect_errors"` // churn: re-dials that failed

	// CPU is the user + system time the process used in the measurement
	// window; merged, that of every client process.
	CPU time.Duration `json:"cpu_ns"`

	Timeline     []TimelinePoint `json:"timeline,omitempty"`
	Handshake    *Hist           `json:"handshake_hist"`
	Latency      *Hist           `json:"latency_hist"`
	Reconnect    *Hist           `json:"reconnect_hist"` // churn: the re-dials' connect and handshake
	ErrorSamples []string        `json:"error_samples,omitempty"`
}

// maxErrorSamples bounds the error messages carried to the report.
const maxErrorSamples = 5

func newResult() *Result {
	return &Result{Handshake: NewHist(), Latency: NewHist(), Reconnect: NewHist()}
}

// Merge adds o into r.
func (r *Result) Merge(o *Result) {
	r.Opened += o.Opened
	r.ConnectErrors += o.ConnectErrors
	r.Errors += o.Errors
	if o.FirstDial != 0 && (r.FirstDial == 0 || o.FirstDial < r.FirstDial) {
		r.FirstDial = o.FirstDial
	}
	r.LastOpen = max(r.LastOpen, o.LastOpen)
	r.Sent += o.Sent
	r.Received += o.Received
	r.Unanswered += o.Unanswered
	r.Invalid += o.Invalid
	r.Published += o.Published
	r.Subscribers += o.Subscribers
	r.Unique += o.Unique
	r.Duplicates += o.Duplicates
	r.OutOfOrder += o.OutOfOrder
	r.Excused += o.Excused
	r.Outside += o.Outside
	r.WireIn += o.WireIn
	r.Closed += o.Closed
	r.Reconnects += o.Reconnects
	r.ReconnectErrors += o.ReconnectErrors
	r.CPU += o.CPU
	r.Timeline = mergeTimelines(r.Timeline, o.Timeline)
	r.Handshake.Merge(o.Handshake)
	r.Latency.Merge(o.Latency)
	r.Reconnect.Merge(o.Reconnect)
	for _, s := range o.ErrorSamples {
		if len(r.ErrorSamples) < maxErrorSamples {
			r.ErrorSamples = append(r.ErrorSamples, s)
		}
	}
}
