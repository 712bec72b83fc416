package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// The gauges read from a server's Prometheus metrics: the names the
// standard Go client exposes (a wsgate node's -metrics-listen among them).
const (
	metricRSS        = "process_resident_memory_bytes"
	metricCPU        = "process_cpu_seconds_total"
	metricThreads    = "go_threads"
	metricGoroutines = "go_goroutines"
)

// scrapeServer samples a server from its Prometheus metrics at url: RSS and
// CPU, plus threads and goroutines when it is a Go program.
func scrapeServer(client *http.Client, url string) (procSample, error) {
	var s procSample
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return s, fmt.Errorf("server metrics: %w", err)
	}
	// Ask for the plain text format, the one parseMetrics reads.
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	resp, err := client.Do(req)
	if err != nil {
		return s, fmt.Errorf("server metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return s, fmt.Errorf("server metrics: %s answered %s", url, resp.Status)
	}
	// A metrics page is a few hundred KiB at most; the limit keeps a wrong
	// URL from filling memory.
	m, err := parseMetrics(io.LimitReader(resp.Body, 16<<20), metricRSS, metricCPU, metricThreads, metricGoroutines)
	if err != nil {
		return s, fmt.Errorf("server metrics from %s: %w", url, err)
	}
	rss, ok := m[metricRSS]
	if !ok {
		return s, fmt.Errorf("server metrics from %s: no %s", url, metricRSS)
	}
	s.RSS = int64(rss)
	s.CPU = time.Duration(m[metricCPU] * float64(time.Second))
	s.Threads = int(m[metricThreads])
	s.Goroutines = int(m[metricGoroutines])
	return s, nil
}

// parseMetrics reads the Prometheus text exposition format and returns the
// value of each wanted metric that appears without labels. It reads only
// what the bench needs: comments and labelled samples are skipped, and a
// sample line is "name value [timestamp]".
func parseMetrics(r io.Reader, wanted ...string) (map[string]float64, error) {
	want := make(map[string]bool, len(wanted))
	for _, w := range wanted {
		want[w] = true
	}
	found := make(map[string]float64, len(wanted))
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for line := 1; sc.Scan(); line++ {
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 || text[0] == '#' {
			continue
		}
		fields := bytes.Fields(text)
		name := string(fields[0])
		if !want[name] {
			continue // a metric not asked for, or one with labels
		}
		if len(fields) < 2 || len(fields) > 3 {
			return nil, fmt.Errorf("line %d: %q is not \"name value [timestamp]\"", line, text)
		}
		v, err := strconv.ParseFloat(string(fields[1]), 64)
		if err != nil {
			return nil, fmt.Errorf("line %d: value of %s: %w", line, name, err)
		}
		found[name] = v
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read metrics: %w", err)
	}
	return found, nil
}
