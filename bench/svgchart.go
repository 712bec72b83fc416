package bench

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"strings"
)

// chart is a line chart drawn as inline SVG, so that a report is one file
// that needs no script and no network to show its plots.
type chart struct {
	Title  string
	XLabel string
	YLabel string
	Series []series
	// XTicks, when set, replace the evenly spaced ticks of the x axis (the
	// percentile axis is logarithmic in the tail).
	XTicks []tick
	// Shade is an x range drawn behind the lines (the measurement window);
	// none when both ends are 0.
	Shade [2]float64
}

type series struct {
	Name  string
	Color string
	X, Y  []float64
}

type tick struct {
	At    float64
	Label string
}

// The plot area inside the SVG's view box.
const (
	chartW, chartH         = 720, 300
	plotLeft, plotRight    = 70, 700
	plotTop, plotBottom    = 40, 250
	chartFont              = `font-family="system-ui, sans-serif" font-size="12"`
	chartGrid, chartShadeC = "#e4e4e4", "#eef4ff"
)

// svg renders the chart. Labels are escaped here: the result is trusted
// HTML.
func (c chart) svg() template.HTML {
	xmin, xmax, ymax := c.bounds()
	xs := func(x float64) float64 { return plotLeft + (x-xmin)/(xmax-xmin)*(plotRight-plotLeft) }
	ys := func(y float64) float64 { return plotBottom - y/ymax*(plotBottom-plotTop) }

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="%s" %s>`,
		chartW, chartH, chartW, chartH, html.EscapeString(c.Title), chartFont)
	fmt.Fprintf(&b, `<text x="%d" y="20" font-size="14" font-weight="600">%s</text>`, plotLeft, html.EscapeString(c.Title))
	if c.Shade[1] > c.Shade[0] {
		x0, x1 := xs(max(c.Shade[0], xmin)), xs(min(c.Shade[1], xmax))
		fmt.Fprintf(&b, `<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s"/>`, x0, plotTop, x1-x0, plotBottom-plotTop, chartShadeC)
	}
	for _, t := range niceTicks(0, ymax) {
		y := ys(t)
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="%s"/>`, plotLeft, plotRight, y, y, chartGrid)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`, plotLeft-6, y+4, html.EscapeString(formatTick(t)))
	}
	xt := c.XTicks
	if xt == nil {
		for _, t := range niceTicks(xmin, xmax) {
			xt = append(xt, tick{At: t, Label: formatTick(t)})
		}
	}
	for _, t := range xt {
		if t.At < xmin || t.At > xmax {
			continue
		}
		x := xs(t.At)
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="%s"/>`, x, x, plotTop, plotBottom, chartGrid)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`, x, plotBottom+16, html.EscapeString(t.Label))
	}
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#999"/>`, plotLeft, plotTop, plotRight-plotLeft, plotBottom-plotTop)
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">%s</text>`, (plotLeft+plotRight)/2, plotBottom+36, html.EscapeString(c.XLabel))
	fmt.Fprintf(&b, `<text transform="translate(16 %d) rotate(-90)" text-anchor="middle">%s</text>`, (plotTop+plotBottom)/2, html.EscapeString(c.YLabel))

	for i, s := range c.Series {
		var pts strings.Builder
		for j := range s.X {
			fmt.Fprintf(&pts, "%.1f,%.1f ", xs(s.X[j]), ys(s.Y[j]))
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`, s.Color, strings.TrimSpace(pts.String()))
		lx := plotLeft + 300 + i*170 // legends side by side, right of the title
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="16" y2="16" stroke="%s" stroke-width="3"/>`, lx, lx+20, s.Color)
		fmt.Fprintf(&b, `<text x="%d" y="20">%s</text>`, lx+26, html.EscapeString(s.Name))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// bounds is the x range of every series and the top of the y axis, with
// room above the highest point; an empty or flat chart still gets a range.
func (c chart) bounds() (xmin, xmax, ymax float64) {
	xmin, xmax = math.Inf(1), math.Inf(-1)
	for _, s := range c.Series {
		for i := range s.X {
			xmin, xmax = min(xmin, s.X[i]), max(xmax, s.X[i])
			ymax = max(ymax, s.Y[i])
		}
	}
	if xmin > xmax {
		xmin, xmax = 0, 1
	}
	if xmax == xmin {
		xmax = xmin + 1
	}
	if ymax <= 0 {
		ymax = 1
	}
	ticks := niceTicks(0, ymax*1.05)
	return xmin, xmax, max(ticks[len(ticks)-1], ymax*1.05)
}

// niceTicks returns about five round values (1, 2 or 5 times a power of
// ten apart) covering lo to hi.
func niceTicks(lo, hi float64) []float64 {
	if hi <= lo {
		return []float64{lo}
	}
	raw := (hi - lo) / 5
	step := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*step >= raw {
			step *= m
			break
		}
	}
	var ts []float64
	for t := math.Ceil(lo/step) * step; t <= hi+step*1e-9; t += step {
		ts = append(ts, t)
	}
	return ts
}

// formatTick prints a tick value short: 1.5k, 2M, 0.25.
func formatTick(v float64) string {
	switch a := math.Abs(v); {
	case a >= 1e6:
		return trimZeros(fmt.Sprintf("%.2f", v/1e6)) + "M"
	case a >= 1e3:
		return trimZeros(fmt.Sprintf("%.2f", v/1e3)) + "k"
	default:
		return trimZeros(fmt.Sprintf("%.3f", v))
	}
}

func trimZeros(s string) string {
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}
