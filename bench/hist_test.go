package bench

import (
	"encoding/json"
	"testing"
	"time"
)

func TestHistMergeAcrossEncoding(t *testing.T) {
	a, b := NewHist(), NewHist()
	for i := 1; i <= 1000; i++ {
		a.Record(time.Duration(i) * time.Microsecond) // 1 µs .. 1 ms
	}
	for i := 1; i <= 1000; i++ {
		b.Record(time.Duration(i) * time.Millisecond) // 1 ms .. 1 s
	}
	// What a worker sends and the parent decodes.
	js, err := json.Marshal(struct{ H *Hist }{b})
	if err != nil {
		t.Fatal(err)
	}
	var got struct{ H *Hist }
	if err := json.Unmarshal(js, &got); err != nil {
		t.Fatal(err)
	}
	a.Merge(got.H)
	if a.Count() != 2000 {
		t.Fatalf("count %d, want 2000", a.Count())
	}
	within := func(name string, got, want time.Duration) {
		t.Helper()
		if d := got - want; d < -want/100 || d > want/100 {
			t.Errorf("%s = %v, want %v within 1%%", name, got, want)
		}
	}
	within("p50", a.Quantile(0.5), time.Millisecond)
	within("p75", a.Quantile(0.75), 500*time.Millisecond)
	within("p99", a.Quantile(0.99), 980*time.Millisecond)
	within("max", a.Max(), time.Second)
}

func TestHistClampsOutOfRange(t *testing.T) {
	h := NewHist()
	h.Record(-time.Second)
	h.Record(time.Hour)
	if h.Count() != 2 {
		t.Fatalf("count %d, want 2: no sample may be dropped", h.Count())
	}
	if h.Max() < 9*time.Minute {
		t.Fatalf("max %v, want the clamp at 10m", h.Max())
	}
}
