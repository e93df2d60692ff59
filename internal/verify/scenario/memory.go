package scenario

import (
	"context"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"time"

	"github.com/prometheus/common/model"

	"gitlab.com/platform/bluegreen/internal/plan"
	"gitlab.com/platform/bluegreen/internal/prom"
)

// ChecksYAML is the checks file the benchmark and the scenario tests use.
// Its two queries are the only ones the in-memory source understands.
const ChecksYAML = `window: 10m
interval: 1m
checks:
  - name: error-rate
    query: sum(rate(http_requests_total{app="{{.App}}",namespace="{{.Namespace}}",color="{{.Color}}",code=~"5.."}[{{.Window}}])) / sum(rate(http_requests_total{app="{{.App}}",namespace="{{.Namespace}}",color="{{.Color}}"}[{{.Window}}]))
    max: 0.01
  - name: latency-p99
    query: histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{app="{{.App}}",namespace="{{.Namespace}}",color="{{.Color}}"}[{{.Window}}])))
    compare: {with: live, max-increase: 20%}
`

// Memory answers the ChecksYAML queries from a History, the way Prometheus
// 2.x would: rate() over the samples in [t-range, t] with Prometheus's
// extrapolation, sum across series, and histogram_quantile's linear
// interpolation inside a bucket. It lets the benchmark drive the verify
// engine through thousands of scenarios in seconds.
type Memory struct{ h *History }

// Memory returns an in-memory query source over the history.
func (h *History) Memory() *Memory { return &Memory{h: h} }

var (
	colorRe    = regexp.MustCompile(`color="([a-z]+)"`)
	rangeRe    = regexp.MustCompile(`\[([0-9a-z]+)\]`)
	quantileRe = regexp.MustCompile(`^histogram_quantile\(([0-9.]+),`)
)

// Query evaluates q at t.
func (m *Memory) Query(_ context.Context, q string, t time.Time) (prom.Result, error) {
	v, err := m.eval(q, t)
	if err != nil {
		return prom.Result{}, err
	}
	if v == nil {
		return prom.Result{}, prom.ErrNoData
	}
	return prom.Result{Series: []prom.Series{{Labels: "{}", Points: []prom.Point{{T: t, V: *v}}}}}, nil
}

// QueryRange evaluates q at every step.
func (m *Memory) QueryRange(_ context.Context, q string, r prom.Range) (prom.Result, error) {
	ser := prom.Series{Labels: "{}"}
	for t := r.Start; !t.After(r.End); t = t.Add(r.Step) {
		v, err := m.eval(q, t)
		if err != nil {
			return prom.Result{}, err
		}
		if v != nil {
			ser.Points = append(ser.Points, prom.Point{T: t, V: *v})
		}
	}
	if len(ser.Points) == 0 {
		return prom.Result{}, prom.ErrNoData
	}
	return prom.Result{Series: []prom.Series{ser}}, nil
}

// eval returns nil for an empty vector.
func (m *Memory) eval(q string, t time.Time) (*float64, error) {
	cm, rm := colorRe.FindStringSubmatch(q), rangeRe.FindStringSubmatch(q)
	if cm == nil || rm == nil {
		return nil, fmt.Errorf("%w: the in-memory source understands only scenario.ChecksYAML's queries, not %q", prom.ErrBadQuery, q)
	}
	d, err := model.ParseDuration(rm[1])
	if err != nil {
		return nil, fmt.Errorf("%w: %v", prom.ErrBadQuery, err)
	}
	cs := m.h.colors[plan.Color(cm[1])]
	if cs == nil {
		return nil, nil
	}
	lo, hi := m.h.window(t, time.Duration(d))
	if lo < cs.from {
		lo = cs.from
	}
	if hi-lo < 1 { // rate needs two samples
		return nil, nil
	}
	rng := time.Duration(d)
	if qm := quantileRe.FindStringSubmatch(q); qm != nil {
		phi, _ := strconv.ParseFloat(qm[1], 64)
		rates := make([]float64, len(Buckets))
		for b := range Buckets {
			rates[b] = m.h.rate(cs.buckets[b], lo, hi, t, rng)
		}
		v := quantile(phi, rates)
		return &v, nil
	}
	bad := m.h.rate(cs.bad, lo, hi, t, rng)
	all := bad + m.h.rate(cs.ok, lo, hi, t, rng)
	v := bad / all
	return &v, nil
}

// window is the index range of the samples in [t-d, t], Prometheus 2.x's
// closed range selection.
func (h *History) window(t time.Time, d time.Duration) (lo, hi int) {
	lo = int(math.Ceil(float64(t.Add(-d).Sub(h.Start)) / float64(h.Step)))
	hi = int(math.Floor(float64(t.Sub(h.Start)) / float64(h.Step)))
	if lo < 0 {
		lo = 0
	}
	if hi > h.n-1 {
		hi = h.n - 1
	}
	return lo, hi
}

// rate is the per-second increase of counter v over samples lo..hi,
// extrapolated towards the edges of the range [t-rng, t] the way
// Prometheus does: to an edge when the gap to it is under 1.1 average
// sample intervals, else by half an interval, and never to before the point
// where the counter would have been zero.
func (h *History) rate(v []float64, lo, hi int, t time.Time, rng time.Duration) float64 {
	first, last := v[lo], v[hi]
	delta := last - first
	sampled := float64(hi-lo) * h.Step.Seconds()
	avg := sampled / float64(hi-lo)
	toStart := h.at(lo).Sub(t.Add(-rng)).Seconds()
	toEnd := t.Sub(h.at(hi)).Seconds()
	if delta > 0 && first >= 0 {
		if toZero := sampled * first / delta; toZero < toStart {
			toStart = toZero
		}
	}
	span := sampled
	for _, gap := range []float64{toStart, toEnd} {
		if gap < avg*1.1 {
			span += gap
		} else {
			span += avg / 2
		}
	}
	return delta * span / sampled / rng.Seconds()
}

// quantile is histogram_quantile over cumulative bucket rates that line up
// with Buckets: find the bucket holding rank phi·total and interpolate
// linearly inside it; the +Inf bucket answers with the highest finite bound.
func quantile(phi float64, cum []float64) float64 {
	total := cum[len(cum)-1]
	if total == 0 || math.IsNaN(total) {
		return math.NaN()
	}
	rank := phi * total
	b := 0
	for b < len(cum)-1 && cum[b] < rank {
		b++
	}
	if b == len(cum)-1 {
		return Buckets[len(Buckets)-2]
	}
	lower, below := 0.0, 0.0
	if b > 0 {
		lower, below = Buckets[b-1], cum[b-1]
	}
	if cum[b] == below {
		return Buckets[b]
	}
	return lower + (Buckets[b]-lower)*(rank-below)/(cum[b]-below)
}
