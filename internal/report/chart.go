package report

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"gitlab.com/platform/bluegreen/internal/verify"
)

// The chart's geometry, in SVG user units.
const (
	chartW, chartH       = 1000, 260
	padL, padR           = 72, 20
	padT, padB           = 16, 40
	plotW, plotH         = chartW - padL - padR, chartH - padT - padB
	pointR, breachPointR = 4, 5.5
)

// chart is one check's SVG: both colours per interval over the window, the
// limits, and the interval that decided it.
type chart struct {
	W, H                   int
	Left, Top, Right, Base float64 // the plot area's edges
	Plot                   float64 // the plot area's height
	Series                 []series
	Limits                 []limit
	YTicks, XTicks         []tick
	Decisive               *band // nil when no interval decided the check
	Unobserved             *band // the rest of the window, after the decision
	Empty                  string
}

// series is one colour's values.
type series struct {
	Color  string // the colour's name: data-series
	Role   string // target or live
	Label  string
	Class  string // CSS class for the colour
	Path   string // the SVG path through consecutive values
	Points []point
}

// point is one interval's value; every interval has one, also without a
// value (then it is drawn as a cross on the axis).
type point struct {
	X, Y   float64
	T      string // the interval's end, RFC 3339
	V      string // the value, exactly; "" without one
	State  string // ok, none (no series), nan, inf
	Breach bool
	R      float64
	Cross  string // the path of the cross, for a missing value
}

type limit struct {
	Label string
	Path  string
}

type tick struct {
	Pos   float64
	Label string
}

type band struct {
	X, W  float64
	Label string
}

// scale maps data to the plot area.
type scale struct {
	t0, t1 time.Time
	lo, hi float64
}

func (s scale) x(t time.Time) float64 {
	return padL + float64(t.Sub(s.t0))/float64(s.t1.Sub(s.t0))*plotW
}

func (s scale) y(v float64) float64 {
	switch {
	case math.IsInf(v, 1):
		return padT
	case math.IsInf(v, -1):
		return padT + plotH
	}
	return padT + (1-(v-s.lo)/(s.hi-s.lo))*plotH
}

// newChart draws c's intervals. start is the window's start; target and
// live name the colours, compared says what the live colour's values are.
func newChart(c verify.CheckReport, ivs []verify.Interval, start time.Time, target, live, compared string) chart {
	ch := chart{W: chartW, H: chartH, Left: padL, Top: padT, Right: padL + plotW, Base: padT + plotH, Plot: plotH}
	s := scale{t0: start, t1: start.Add(c.Check.Window)}
	if !s.t1.After(s.t0) {
		s.t1 = s.t0.Add(time.Minute)
	}
	s.lo, s.hi = yRange(ivs)
	ch.YTicks = yTicks(s)
	ch.XTicks = xTicks(s, c.Check.Interval)
	if len(ivs) == 0 {
		ch.Empty = "no interval was observed"
		return ch
	}
	ch.Series = append(ch.Series, newSeries(s, ivs, target, "target", target+" (target)", func(iv verify.Interval) *float64 { return iv.Target }))
	if c.Compared {
		ch.Series = append(ch.Series, newSeries(s, ivs, live, "live", live+" ("+compared+")", func(iv verify.Interval) *float64 { return iv.Live }))
	}
	for _, l := range []struct {
		name string
		get  func(verify.Interval) *float64
	}{{"upper limit", func(iv verify.Interval) *float64 { return iv.Upper }}, {"lower limit", func(iv verify.Interval) *float64 { return iv.Lower }}} {
		if p := stepPath(s, ivs, l.get); p != "" {
			ch.Limits = append(ch.Limits, limit{Label: l.name, Path: p})
		}
	}
	last := ivs[len(ivs)-1]
	for _, iv := range ivs {
		if decisive(c, iv) {
			ch.Decisive = &band{X: s.x(iv.Start), W: s.x(iv.End) - s.x(iv.Start), Label: "decided " + string(c.Verdict)}
		}
	}
	if x := s.x(last.End); x < padL+plotW-0.5 {
		ch.Unobserved = &band{X: x, W: padL + plotW - x, Label: "not observed"}
	}
	return ch
}

// decisive reports whether iv is the interval after which the check's
// verdict was known.
func decisive(c verify.CheckReport, iv verify.Interval) bool {
	switch c.Verdict {
	case verify.Pass, verify.Fail, verify.Inconclusive:
		return iv.End.Equal(c.DecidedAt)
	}
	return false
}

func newSeries(s scale, ivs []verify.Interval, color, role, label string, get func(verify.Interval) *float64) series {
	sr := series{Color: color, Role: role, Label: label, Class: colorClass(color)}
	var path strings.Builder
	pen := false
	for _, iv := range ivs {
		v := get(iv)
		// A value covers its interval: it is drawn in the interval's middle,
		// above the limit it was judged against.
		p := point{X: s.x(iv.Start.Add(iv.End.Sub(iv.Start) / 2)), T: iv.End.UTC().Format(time.RFC3339), Breach: iv.Breach && role == "target", R: pointR}
		if p.Breach {
			p.R = breachPointR
		}
		switch {
		case v == nil:
			p.State = "none"
		case math.IsNaN(*v):
			p.State, p.V = "nan", "NaN"
		case math.IsInf(*v, 0):
			p.State, p.V = "inf", exact(*v)
		default:
			p.State, p.V = "ok", exact(*v)
		}
		if p.State == "none" || p.State == "nan" {
			p.Y = padT + plotH
			p.Cross = fmt.Sprintf("M%s %sl6 6m0 -6l-6 6", num(p.X-3), num(p.Y-3))
			pen = false
		} else {
			p.Y = s.y(*v)
			op := "L"
			if !pen {
				op = "M"
			}
			fmt.Fprintf(&path, "%s%s %s", op, num(p.X), num(p.Y))
			pen = p.State == "ok"
		}
		sr.Points = append(sr.Points, p)
	}
	sr.Path = path.String()
	return sr
}

// stepPath draws a limit as steps: each interval's limit over that interval.
func stepPath(s scale, ivs []verify.Interval, get func(verify.Interval) *float64) string {
	var b strings.Builder
	var prev *float64
	var prevEnd time.Time
	for _, iv := range ivs {
		v := get(iv)
		if v == nil || math.IsInf(*v, 0) || math.IsNaN(*v) {
			prev = nil
			continue
		}
		y := num(s.y(*v))
		if prev != nil && prevEnd.Equal(iv.Start) {
			fmt.Fprintf(&b, "L%s %sL%s %s", num(s.x(iv.Start)), y, num(s.x(iv.End)), y)
		} else {
			fmt.Fprintf(&b, "M%s %sL%s %s", num(s.x(iv.Start)), y, num(s.x(iv.End)), y)
		}
		prev, prevEnd = v, iv.End
	}
	return b.String()
}

// yRange covers every finite value and limit, from zero unless a value is
// negative, with headroom above.
func yRange(ivs []verify.Interval) (lo, hi float64) {
	lo, hi = 0, math.Inf(-1)
	for _, iv := range ivs {
		for _, v := range []*float64{iv.Target, iv.Live, iv.Upper, iv.Lower} {
			if v == nil || math.IsNaN(*v) || math.IsInf(*v, 0) {
				continue
			}
			lo, hi = math.Min(lo, *v), math.Max(hi, *v)
		}
	}
	if math.IsInf(hi, -1) || hi <= lo {
		hi = lo + 1
	}
	return lo, hi + (hi-lo)*0.12
}

func yTicks(s scale) []tick {
	step := niceStep((s.hi - s.lo) / 4)
	var ts []tick
	for v := math.Ceil(s.lo/step) * step; v <= s.hi+step/1e6 && len(ts) < 12; v += step {
		if math.Abs(v) < step/1e6 {
			v = 0
		}
		ts = append(ts, tick{Pos: s.y(v), Label: strconv.FormatFloat(v, 'g', 4, 64)})
	}
	return ts
}

// niceStep rounds a raw step up to 1, 2 or 5 times a power of ten.
func niceStep(raw float64) float64 {
	if raw <= 0 || math.IsNaN(raw) || math.IsInf(raw, 0) {
		return 1
	}
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5} {
		if raw <= m*mag {
			return m * mag
		}
	}
	return 10 * mag
}

// xTicks label the interval boundaries as offsets into the window, at most
// about a dozen.
func xTicks(s scale, interval time.Duration) []tick {
	if interval <= 0 {
		return nil
	}
	n := int(s.t1.Sub(s.t0) / interval)
	every := max(1, (n+11)/12)
	var ts []tick
	for i := 0; i <= n; i += every {
		t := s.t0.Add(time.Duration(i) * interval)
		label := "+" + short(t.Sub(s.t0))
		if i == 0 {
			label = s.t0.UTC().Format("15:04:05")
		}
		ts = append(ts, tick{Pos: s.x(t), Label: label})
	}
	return ts
}

func colorClass(c string) string {
	switch c {
	case "green", "blue":
		return c
	}
	return "other"
}

// exact prints a value so that it parses back to the same float64.
func exact(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// num prints a coordinate.
func num(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }

// short prints 10m rather than 10m0s.
func short(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
