package bench

import (
	"fmt"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Latencies are recorded in microseconds from 1 µs to 10 minutes with three
// significant digits: about 0.1% error at any value, 150 KiB per histogram.
const (
	histLowest  = 1
	histHighest = int64(10 * time.Minute / time.Microsecond)
	histDigits  = 3
)

// Hist is a latency histogram. It is not safe for concurrent use: each event
// loop records into its own and they are merged afterwards.
type Hist struct {
	h *hdrhistogram.Histogram
}

// NewHist returns an empty histogram.
func NewHist() *Hist {
	return &Hist{h: hdrhistogram.New(histLowest, histHighest, histDigits)}
}

// Record adds one latency; values outside the range are clamped so that no
// sample is ever dropped from the count.
func (h *Hist) Record(d time.Duration) {
	us := int64(d / time.Microsecond)
	us = max(us, histLowest)
	us = min(us, histHighest)
	_ = h.h.RecordValue(us)
}

// Merge adds every sample of other to h.
func (h *Hist) Merge(other *Hist) {
	if other != nil {
		h.h.Merge(other.h)
	}
}

// Count is the number of samples recorded.
func (h *Hist) Count() int64 { return h.h.TotalCount() }

// Quantile returns the latency at q (0..1).
func (h *Hist) Quantile(q float64) time.Duration {
	return time.Duration(h.h.ValueAtQuantile(q*100)) * time.Microsecond
}

// Max returns the largest latency recorded.
func (h *Hist) Max() time.Duration { return time.Duration(h.h.Max()) * time.Microsecond }

// Mean returns the average latency.
func (h *Hist) Mean() time.Duration { return time.Duration(h.h.Mean() * float64(time.Microsecond)) }

// MarshalText encodes the histogram in the compressed HdrHistogram V2 format
// (base64), the form every HdrHistogram implementation reads, so that worker
// processes can send theirs to the parent inside JSON.
func (h *Hist) MarshalText() ([]byte, error) {
	b, err := h.h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		return nil, fmt.Errorf("encode histogram: %w", err)
	}
	return b, nil
}

// UnmarshalText decodes what MarshalText produced.
func (h *Hist) UnmarshalText(b []byte) error {
	d, err := hdrhistogram.Decode(b)
	if err != nil {
		return fmt.Errorf("decode histogram: %w", err)
	}
	h.h = d
	return nil
}
