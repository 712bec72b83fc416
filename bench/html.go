package bench

import (
	"bytes"
	"fmt"
	"html/template"
	"io"
	"math"
)

// WriteHTML writes the report as one self-contained page: the text report
// and plots of the latency distribution, the connections open and the
// messages per second over the run, drawn as inline SVG. command is the
// command line that made the run, shown at the top.
func (r *Report) WriteHTML(w io.Writer, command string) error {
	var text bytes.Buffer
	if err := r.WriteText(&text); err != nil {
		return err
	}
	page := htmlPage{Report: r, Command: command, Text: text.String()}
	if c, ok := r.latencyChart(); ok {
		page.Charts = append(page.Charts, c.svg())
	}
	if len(r.Timeline) > 1 {
		page.Charts = append(page.Charts, r.connectionsChart().svg(), r.throughputChart().svg())
	}
	if err := htmlTemplate.Execute(w, page); err != nil {
		return fmt.Errorf("write html report: %w", err)
	}
	return nil
}

type htmlPage struct {
	*Report
	Command string
	Text    string
	Charts  []template.HTML
}

var htmlTemplate = template.Must(template.New("report").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>wsgate bench {{.Workload}}: {{if .OK}}ok{{else}}FAILED{{end}}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 24px; color: #222; max-width: 760px; }
h1 { font-size: 20px; margin: 0 0 4px; }
code, pre { font-family: ui-monospace, monospace; font-size: 12px; }
pre { background: #f6f6f6; padding: 12px; overflow-x: auto; }
.ok { color: #107010; } .failed { color: #b00020; }
figure { margin: 16px 0; } svg { max-width: 100%; height: auto; }
figcaption { font-size: 12px; color: #555; }
</style>
</head>
<body>
<h1>wsgate bench {{.Workload}}: <span class="{{if .OK}}ok">ok{{else}}failed">FAILED{{end}}</span></h1>
{{with .Command}}<p><code>{{.}}</code></p>{{end}}
<pre>{{.Text}}</pre>
{{range .Charts}}<figure>{{.}}</figure>
{{end}}<figcaption>Shaded: the measurement window. Latency by percentile: the x axis is logarithmic towards the tail (each step a tenfold smaller share of the samples).</figcaption>
</body>
</html>
`))

// Colours of the series, distinct for the usual kinds of colour blindness.
const (
	colorBlue   = "#1f6fb4"
	colorOrange = "#e08214"
	colorGrey   = "#777777"
)

// percentileX maps a percentile to the latency plot's x axis: log10 of
// 1/(1-p), so that 90, 99 and 99.9 are evenly spaced. 100 (the maximum) is
// drawn one step right of the last finite point.
func percentileX(p, last float64) float64 {
	if p >= 100 {
		return last + 1
	}
	return math.Log10(100 / (100 - p))
}

// latencyChart plots the latency and handshake distributions by
// percentile, in milliseconds.
func (r *Report) latencyChart() (chart, bool) {
	c := chart{Title: "Latency by percentile", XLabel: "percentile", YLabel: "milliseconds"}
	var last float64
	for _, curve := range [][]Percentile{r.LatencyCurve, r.HandshakeCurve} {
		for _, p := range curve {
			if p.P < 100 {
				last = max(last, percentileX(p.P, 0))
			}
		}
	}
	add := func(name, color string, curve []Percentile) {
		if len(curve) == 0 {
			return
		}
		s := series{Name: name, Color: color}
		for _, p := range curve {
			s.X = append(s.X, percentileX(p.P, last))
			s.Y = append(s.Y, float64(p.US)/1000)
		}
		c.Series = append(c.Series, s)
	}
	if r.Workload != "conns" {
		add("message latency", colorBlue, r.LatencyCurve)
	}
	add("handshake", colorOrange, r.HandshakeCurve)
	for i, label := range []string{"0%", "90%", "99%", "99.9%", "99.99%", "99.999%"} {
		if float64(i) <= last {
			c.XTicks = append(c.XTicks, tick{At: float64(i), Label: label})
		}
	}
	c.XTicks = append(c.XTicks, tick{At: last + 1, Label: "max"})
	return c, len(c.Series) > 0
}

// connectionsChart plots the connections open over the run.
func (r *Report) connectionsChart() chart {
	s := series{Name: "open", Color: colorBlue}
	e := series{Name: "failed (connect or later)", Color: colorOrange}
	for _, p := range r.Timeline {
		s.X, s.Y = append(s.X, p.At), append(s.Y, float64(p.Open))
		e.X, e.Y = append(e.X, p.At), append(e.Y, float64(p.Errors))
	}
	return chart{Title: "Connections", XLabel: "seconds", YLabel: "connections",
		Series: []series{s, e}, Shade: [2]float64{r.WindowFrom, r.WindowTo}}
}

// throughputChart plots messages sent and received per second, from one
// timeline point to the next.
func (r *Report) throughputChart() chart {
	recv := series{Name: "received/s", Color: colorBlue}
	sent := series{Name: "sent/s", Color: colorGrey}
	for i := 1; i < len(r.Timeline); i++ {
		a, b := r.Timeline[i-1], r.Timeline[i]
		dt := b.At - a.At
		if dt <= 0 {
			continue
		}
		recv.X, recv.Y = append(recv.X, b.At), append(recv.Y, float64(b.Received-a.Received)/dt)
		sent.X, sent.Y = append(sent.X, b.At), append(sent.Y, float64(b.Sent-a.Sent)/dt)
	}
	c := chart{Title: "Messages per second", XLabel: "seconds", YLabel: "messages/s",
		Series: []series{recv, sent}, Shade: [2]float64{r.WindowFrom, r.WindowTo}}
	if r.Workload == "bcast" {
		c.Series[0].Name = "delivered/s"
		c.Series[1].Name = "published/s"
	}
	return c
}
