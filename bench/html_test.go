package bench

import (
	"bytes"
	"encoding/xml"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestMainWritesHTMLReport runs a real echo run with -html and reads the
// page back: the text report is there, and each plot is well-formed SVG
// with a line for every series it names.
func TestMainWritesHTMLReport(t *testing.T) {
	s := startTestServer(t, false, 0)
	path := filepath.Join(t.TempDir(), "report.html")
	var out, errb bytes.Buffer
	// Over two seconds the timeline gets points inside the window.
	code := Main([]string{"-url", s.URL(), "-conns", "20", "-duration", "2500ms", "-html", path, "echo"}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s\n%s", code, errb.String(), out.String())
	}
	page, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	html := string(page)
	for _, want := range []string{"<title>wsgate bench echo: ok</title>", "-html", "20/20 open",
		"Latency by percentile", "Connections", "Messages per second"} {
		if !strings.Contains(html, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	svgs := regexp.MustCompile(`(?s)<svg .*?</svg>`).FindAllString(html, -1)
	if len(svgs) != 3 {
		t.Fatalf("%d plots, want 3", len(svgs))
	}
	for i, svg := range svgs {
		d := xml.NewDecoder(strings.NewReader(svg))
		lines := 0
		for {
			tok, err := d.Token()
			if err != nil {
				if err.Error() != "EOF" {
					t.Fatalf("plot %d is not well-formed: %v", i, err)
				}
				break
			}
			if el, ok := tok.(xml.StartElement); ok && el.Name.Local == "polyline" {
				for _, a := range el.Attr {
					if a.Name.Local == "points" && strings.Count(a.Value, ",") >= 2 {
						lines++
					}
				}
			}
		}
		if lines < 2 {
			t.Errorf("plot %d has %d lines of two points or more, want 2", i, lines)
		}
	}
}

// A report's labels come from the command line and error messages: they are
// escaped, never markup.
func TestHTMLReportEscapes(t *testing.T) {
	r := &Report{Workload: "echo", URLs: []string{"ws://x/<b>"}, ErrorSamples: []string{"<script>alert(1)</script>"}}
	var b bytes.Buffer
	if err := r.WriteHTML(&b, "wsgate bench -url '<i>'"); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "<script>alert") || strings.Contains(b.String(), "<b>") || strings.Contains(b.String(), "<i>") {
		t.Fatalf("unescaped input in page:\n%s", b.String())
	}
}

func TestNiceTicks(t *testing.T) {
	for _, c := range []struct {
		lo, hi float64
		want   string
	}{
		{0, 1, "0 0.2 0.4 0.6 0.8 1"},
		{0, 38000, "0 10k 20k 30k"},
		{0, 0.07, "0 0.02 0.04 0.06"},
		{3, 3, "3"},
	} {
		var got []string
		for _, v := range niceTicks(c.lo, c.hi) {
			got = append(got, formatTick(v))
		}
		if strings.Join(got, " ") != c.want {
			t.Errorf("niceTicks(%g, %g) = %v, want %s", c.lo, c.hi, got, c.want)
		}
	}
}
