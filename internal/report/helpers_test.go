package report_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"io"
	"log/slog"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"gitlab.com/platform/bluegreen/internal/plan"
	"gitlab.com/platform/bluegreen/internal/prom"
	"gitlab.com/platform/bluegreen/internal/report"
	"gitlab.com/platform/bluegreen/internal/verify"
)

// gap in a script is an interval without a series.
const gap = -1

var (
	since  = time.Date(2026, 3, 2, 14, 0, 0, 0, time.UTC)
	target = verify.Target{App: "checkout", Namespace: "shop", Color: plan.Green, Live: plan.Blue}
)

// script is a Prometheus that answers a query with the value of its metric
// and colour ("errors/green") for the interval ending at the query's time:
// values[i] for the interval ending at since+(i+1)m. The preflight, at
// since, sees the first value.
type script map[string][]float64

var queryRe = regexp.MustCompile(`^([a-z_]+)\{.*color="([a-z]+)"`)

func (s script) at(q string, t time.Time) (float64, bool) {
	m := queryRe.FindStringSubmatch(q)
	if m == nil {
		return 0, false
	}
	vs := s[m[1]+"/"+m[2]]
	i := max(int(t.Sub(since)/time.Minute)-1, 0)
	if i >= len(vs) || vs[i] == gap {
		return 0, false
	}
	return vs[i], true
}

func (s script) Query(_ context.Context, q string, t time.Time) (prom.Result, error) {
	v, ok := s.at(q, t)
	if !ok {
		return prom.Result{}, prom.ErrNoData
	}
	return prom.Result{Series: []prom.Series{{Labels: "{}", Points: []prom.Point{{T: t, V: v}}}}}, nil
}

func (s script) QueryRange(_ context.Context, q string, r prom.Range) (prom.Result, error) {
	ser := prom.Series{Labels: "{}"}
	for t := r.Start; !t.After(r.End); t = t.Add(r.Step) {
		if v, ok := s.at(q, t); ok {
			ser.Points = append(ser.Points, prom.Point{T: t, V: v})
		}
	}
	if len(ser.Points) == 0 {
		return prom.Result{}, prom.ErrNoData
	}
	return prom.Result{Series: []prom.Series{ser}}, nil
}

// The checks' queries have no {{.Window}}: the engine then judges the mean
// of the interval values, and asks the script nothing else.
const checksYAML = `window: 10m
interval: 1m
checks:
  - name: error-rate
    query: errors{app="{{.App}}",color="{{.Color}}"}
    max: 0.01
  - name: latency-p99
    query: latency{app="{{.App}}",color="{{.Color}}"}
    compare: {with: live, max-increase: 20%}
`

// run verifies the script with the real engine and returns its report.
func run(t *testing.T, yaml string, s script, tg verify.Target) *verify.Report {
	t.Helper()
	return verifyWith(t, yaml, s, tg, since)
}

// verifyWith runs the engine over q's data, with the clock at the end of
// the window from start.
func verifyWith(t *testing.T, yaml string, q verify.Querier, tg verify.Target, start time.Time) *verify.Report {
	t.Helper()
	checks, err := verify.ParseChecks("checks.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	now := start.Add(10 * time.Minute)
	st := &verify.Stage{
		Checks: checks, Prom: q, Source: "prometheus.test", Since: start, Out: io.Discard, Log: slog.New(slog.DiscardHandler),
		Now:  func() time.Time { return now },
		Wait: func(context.Context, time.Duration) error { return errors.New("the script's data is all in the past") },
	}
	rep, err := st.Verify(context.Background(), tg)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func render(t *testing.T, rep *verify.Report) string {
	t.Helper()
	var b bytes.Buffer
	if err := report.Render(&b, rep); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// repeat is n copies of v.
func repeat(v float64, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// element is one element of a page, with its attributes.
type element struct {
	Name  string
	Attrs map[string]string
	Text  string // its own text, for elements without children
}

// elements parses a page, as written or as a browser dumped it, and returns
// every element in document order.
func elements(t *testing.T, page string) []element {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(page))
	d.Strict, d.AutoClose, d.Entity = false, xml.HTMLAutoClose, xml.HTMLEntity
	var out []element
	var open []int
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("parsing the page: %v", err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			e := element{Name: strings.ToLower(tok.Name.Local), Attrs: map[string]string{}}
			for _, a := range tok.Attr {
				name := a.Name.Local
				if a.Name.Space != "" {
					name = a.Name.Space + ":" + name
				}
				e.Attrs[strings.ToLower(name)] = a.Value
			}
			out = append(out, e)
			open = append(open, len(out)-1)
		case xml.CharData:
			if len(open) > 0 {
				out[open[len(open)-1]].Text += string(tok)
			}
		case xml.EndElement:
			if len(open) > 0 {
				open = open[:len(open)-1]
			}
		}
	}
}

// points are the chart points of one check and colour, in order.
func points(es []element, check, color string) []element {
	var out []element
	for _, e := range es {
		if e.Attrs["data-check"] == check && e.Attrs["data-series"] == color && e.Name != "section" {
			out = append(out, e)
		}
	}
	return out
}

// assertPoints checks that the chart holds one point per interval of the
// colour, at the interval's end, with its value exactly.
func assertPoints(t *testing.T, es []element, check, color string, ivs []verify.Interval, get func(verify.Interval) *float64) {
	t.Helper()
	ps := points(es, check, color)
	if len(ps) != len(ivs) {
		t.Fatalf("%s %s: %d points, want one per interval, %d", check, color, len(ps), len(ivs))
	}
	for i, iv := range ivs {
		p, v := ps[i].Attrs, get(iv)
		if want := iv.End.UTC().Format(time.RFC3339); p["data-t"] != want {
			t.Errorf("%s %s point %d: data-t %q, want %q", check, color, i+1, p["data-t"], want)
		}
		switch {
		case v == nil:
			if p["data-state"] != "none" || p["data-v"] != "" {
				t.Errorf("%s %s point %d: state %q value %q, want none and no value", check, color, i+1, p["data-state"], p["data-v"])
			}
		case math.IsNaN(*v):
			if p["data-state"] != "nan" {
				t.Errorf("%s %s point %d: state %q, want nan", check, color, i+1, p["data-state"])
			}
		default:
			if got := p["data-v"]; got != formatExact(*v) {
				t.Errorf("%s %s point %d: data-v %q, want %v", check, color, i+1, got, *v)
			}
		}
	}
}

func formatExact(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
