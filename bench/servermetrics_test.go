package bench

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestParseMetrics(t *testing.T) {
	const page = `# HELP go_goroutines Number of goroutines that currently exist.
# TYPE go_goroutines gauge
go_goroutines 28
go_gc_duration_seconds{quantile="0.5"} 4.2e-05
go_threads{note="a labelled sample is not the one asked for"} 99
go_threads 9
process_resident_memory_bytes 1.7518592e+07 1700000000000

  process_cpu_seconds_total   0.01
wsgate_connections 3
`
	m, err := parseMetrics(strings.NewReader(page), "go_goroutines", "go_threads", "process_resident_memory_bytes", "process_cpu_seconds_total", "absent")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{"go_goroutines": 28, "go_threads": 9, "process_resident_memory_bytes": 17518592, "process_cpu_seconds_total": 0.01}
	if len(m) != len(want) {
		t.Fatalf("got %v, want %v", m, want)
	}
	for k, v := range want {
		if m[k] != v {
			t.Fatalf("%s = %v, want %v (all: %v)", k, m[k], v, m)
		}
	}

	for _, bad := range []string{"go_goroutines many\n", "go_goroutines\n", "go_goroutines 1 2 3\n"} {
		if _, err := parseMetrics(strings.NewReader(bad), "go_goroutines"); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
	// Values that are malformed but not asked for do not matter.
	if _, err := parseMetrics(strings.NewReader("other many\ngo_goroutines 1\n"), "go_goroutines"); err != nil {
		t.Fatal(err)
	}
}

// selfMetrics serves this process's own figures in the exposition format,
// as a Go server's metrics page shows them, until the test ends.
func selfMetrics(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		self, err := sampleProc(pidSelf())
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "# TYPE go_goroutines gauge\ngo_goroutines %d\ngo_threads %d\n", runtime.NumGoroutine(), self.Threads)
		fmt.Fprintf(w, "process_resident_memory_bytes %d\nprocess_cpu_seconds_total %g\n", self.RSS, self.CPU.Seconds())
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/metrics"
}

// TestScrapeServer reads this process's own figures over HTTP, as the
// bench reads a server's -metrics-listen page.
func TestScrapeServer(t *testing.T) {
	url := selfMetrics(t)
	client := &http.Client{Timeout: 10 * time.Second}
	s, err := scrapeServer(client, url)
	if err != nil {
		t.Fatal(err)
	}
	if s.RSS <= 0 || s.Threads <= 0 || s.Goroutines <= 0 {
		t.Fatalf("%+v", s)
	}
	// A page without the RSS is not a server's metrics.
	empty := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer empty.Close()
	if _, err := scrapeServer(client, empty.URL); err == nil || !strings.Contains(err.Error(), "process_resident_memory_bytes") {
		t.Fatalf("empty page: %v", err)
	}
	missing := httptest.NewServer(http.NotFoundHandler())
	defer missing.Close()
	if _, err := scrapeServer(client, missing.URL); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("404: %v", err)
	}
}
