// Package scenario generates metric histories with a known truth for
// verify's tests and its decision-quality benchmark: a good green, a bad
// error rate, a latency regression, a slow leak, no traffic, a missing
// blue, and more, each from a seed. A history can be written as OpenMetrics
// for promtool to backfill into a real Prometheus, or queried in memory
// through the same interface the verify engine uses. The package also holds
// the reference the benchmark compares against: Argo Rollouts' documented
// analysis rule.
package scenario

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	"gitlab.com/platform/bluegreen/internal/plan"
)

// Truth is what a scenario really is.
type Truth string

// The truths.
const (
	Good       Truth = "good"        // must pass
	Bad        Truth = "bad"         // must fail
	NoData     Truth = "no-data"     // green has no usable data: must not pass
	NoBaseline Truth = "no-baseline" // the live colour has no data: a comparison is impossible, must not pass
)

// Buckets are the latency histogram's upper bounds, in seconds.
var Buckets = []float64{0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.6, 0.8, 1, 1.5, 2, 3, 5, math.Inf(1)}

// Traffic is one colour's behaviour. Times are offsets from the start of the
// observation window (negative before it).
type Traffic struct {
	Present bool    // false: the colour has no series at all
	RPS     float64 // requests per second; 0 keeps the counters flat
	// ErrorRate is the share of requests that answer 5xx at offset t.
	ErrorRate func(t time.Duration) float64
	// LatencyScale multiplies the base latency at offset t.
	LatencyScale func(t time.Duration) float64
	// Burst is the chance, per scrape, of a latency burst: a fifth of that
	// scrape's requests take BurstFactor times longer (a GC pause, a cold
	// cache). It makes a good green noisy.
	Burst       float64
	BurstFactor float64
}

// Spec is one scenario: a family's draw for one seed.
type Spec struct {
	Family   string
	Seed     uint64
	Truth    Truth
	Onset    time.Duration // for Bad: when, from the window start, the truth turned bad
	Note     string        // the drawn parameters, for people
	Window   time.Duration
	Interval time.Duration
	Step     time.Duration // the scrape interval
	Green    Traffic
	Blue     Traffic
}

// Labels of every generated series.
const (
	App       = "shop"
	Namespace = "bench"
)

// Base latency: a lognormal with this median and shape (p99 ≈ 0.32s).
const (
	baseMedian = 0.1
	baseSigma  = 0.5
)

// History is a generated set of series, one sample per scrape.
type History struct {
	Spec   Spec
	Since  time.Time // the window start
	Start  time.Time // the first scrape
	Step   time.Duration
	n      int // scrapes
	colors map[plan.Color]*colorSeries
}

// colorSeries holds one colour's cumulative counters, one slot per scrape
// from the history's start; before from, the series does not exist.
type colorSeries struct {
	from    int
	ok, bad []float64   // http_requests_total{code="200"}, {code="500"}
	buckets [][]float64 // per Buckets entry, cumulative
	sum     []float64
}

// greenLead is how long green has been up before its observation starts;
// blueLead how far back blue's history goes.
const (
	greenLead = 2 * time.Minute
	blueLead  = 30 * time.Minute
)

// History generates the scenario's series around since, the window start.
// The same spec and since always give the same history.
func (s Spec) History(since time.Time) *History {
	h := &History{Spec: s, Since: since, Start: since.Add(-blueLead), Step: s.Step, colors: map[plan.Color]*colorSeries{}}
	n := int((blueLead+s.Window+2*s.Interval)/s.Step) + 1
	h.n = n
	for i, c := range []struct {
		color plan.Color
		tr    Traffic
		lead  time.Duration
		base  float64
	}{{plan.Blue, s.Blue, blueLead, 86400}, {plan.Green, s.Green, greenLead, 0}} {
		if !c.tr.Present {
			continue
		}
		rng := rand.New(rand.NewPCG(s.Seed, uint64(i)+0x9e3779b97f4a7c15))
		from := int((blueLead - c.lead) / s.Step)
		h.colors[c.color] = generate(rng, c.tr, from, n, s.Step, c.base, func(i int) time.Duration {
			return time.Duration(i)*s.Step - blueLead
		})
	}
	return h
}

func generate(rng *rand.Rand, tr Traffic, from, n int, step time.Duration, base float64, offset func(int) time.Duration) *colorSeries {
	cs := &colorSeries{from: from, ok: make([]float64, n), bad: make([]float64, n), sum: make([]float64, n)}
	cs.buckets = make([][]float64, len(Buckets))
	for b := range cs.buckets {
		cs.buckets[b] = make([]float64, n)
	}
	okN, badN := base*(1-0.002), base*0.002
	counts := make([]float64, len(Buckets))
	if base > 0 {
		// a long-running colour's histogram already holds a day of requests
		for k := 0; k < 2000; k++ {
			counts[bucketOf(baseMedian*math.Exp(baseSigma*rng.NormFloat64()))] += base / 2000
		}
	}
	sum := base * baseMedian * 1.13
	for i := from; i < n; i++ {
		if i > from {
			t := offset(i)
			reqs := poisson(rng, tr.RPS*step.Seconds())
			p := 0.0
			if tr.ErrorRate != nil {
				p = math.Max(0, math.Min(1, tr.ErrorRate(t)))
			}
			errs := math.Min(reqs, poisson(rng, reqs*p))
			okN += reqs - errs
			badN += errs
			scale := 1.0
			if tr.LatencyScale != nil {
				scale = tr.LatencyScale(t)
			}
			burst := tr.Burst > 0 && rng.Float64() < tr.Burst
			for k := 0; k < int(reqs); k++ {
				x := baseMedian * scale * math.Exp(baseSigma*rng.NormFloat64())
				if burst && rng.Float64() < 0.2 {
					x *= tr.BurstFactor
				}
				counts[bucketOf(x)]++
				sum += x
			}
		}
		cs.ok[i], cs.bad[i], cs.sum[i] = okN, badN, sum
		cum := 0.0
		for b := range Buckets {
			cum += counts[b]
			cs.buckets[b][i] = cum
		}
	}
	return cs
}

func bucketOf(x float64) int { return sort.SearchFloat64s(Buckets, x) }

// poisson draws a Poisson count: exactly for small means, by the normal
// approximation for large ones.
func poisson(rng *rand.Rand, mean float64) float64 {
	switch {
	case mean <= 0:
		return 0
	case mean > 40:
		return math.Max(0, math.Round(mean+math.Sqrt(mean)*rng.NormFloat64()))
	}
	l, k, p := math.Exp(-mean), 0.0, 1.0
	for {
		p *= rng.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

// OpenMetrics writes the history for `promtool tsdb create-blocks-from
// openmetrics`: each series in time order, timestamps in seconds, ending
// with "# EOF".
func (h *History) OpenMetrics() []byte {
	var b strings.Builder
	colors := h.colorNames()
	b.WriteString("# TYPE http_requests counter\n")
	for _, c := range colors {
		cs := h.colors[c]
		for _, code := range []struct {
			code string
			v    []float64
		}{{"200", cs.ok}, {"500", cs.bad}} {
			h.writeSeries(&b, "http_requests_total", labels(c, `code="`+code.code+`"`), cs.from, code.v)
		}
	}
	b.WriteString("# TYPE http_request_duration_seconds histogram\n")
	for _, c := range colors {
		cs := h.colors[c]
		for i := cs.from; i < len(cs.sum); i++ {
			ts := h.timestamp(i)
			for bi, le := range Buckets {
				fmt.Fprintf(&b, "http_request_duration_seconds_bucket%s %s %s\n", labels(c, `le="`+leString(le)+`"`), num(cs.buckets[bi][i]), ts)
			}
			fmt.Fprintf(&b, "http_request_duration_seconds_count%s %s %s\n", labels(c, ""), num(cs.buckets[len(Buckets)-1][i]), ts)
			fmt.Fprintf(&b, "http_request_duration_seconds_sum%s %s %s\n", labels(c, ""), num(cs.sum[i]), ts)
		}
	}
	b.WriteString("# EOF\n")
	return []byte(b.String())
}

func (h *History) writeSeries(b *strings.Builder, name, lbls string, from int, v []float64) {
	for i := from; i < len(v); i++ {
		fmt.Fprintf(b, "%s%s %s %s\n", name, lbls, num(v[i]), h.timestamp(i))
	}
}

func (h *History) colorNames() []plan.Color {
	var cs []plan.Color
	for _, c := range []plan.Color{plan.Blue, plan.Green} {
		if h.colors[c] != nil {
			cs = append(cs, c)
		}
	}
	return cs
}

func (h *History) at(i int) time.Time { return h.Start.Add(time.Duration(i) * h.Step) }

func (h *History) timestamp(i int) string {
	t := h.at(i)
	return fmt.Sprintf("%d.%03d", t.Unix(), t.Nanosecond()/1e6)
}

func labels(c plan.Color, extra string) string {
	l := fmt.Sprintf(`{app="%s",namespace="%s",color="%s"`, App, Namespace, c)
	if extra != "" {
		l += "," + extra
	}
	return l + "}"
}

func leString(le float64) string {
	if math.IsInf(le, 1) {
		return "+Inf"
	}
	return num(le)
}

func num(f float64) string { return fmt.Sprintf("%g", f) }
