package verify

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// Verdict is the outcome of one check, or of the whole run.
type Verdict string

// The verdicts. Only Pass lets green go on; the run's exit code is 0 for
// Pass and 1 for Fail and Inconclusive.
const (
	Pass         Verdict = "pass"
	Fail         Verdict = "fail"
	Inconclusive Verdict = "inconclusive" // the evidence cannot decide: no data, or nothing to compare with
	Undecided    Verdict = "undecided"    // the run ended (another check decided it) before this one could be
	Skipped      Verdict = "skipped"      // nothing to judge: a compare-only check on a first release
)

// Rule is the early-decision rule, explained with its parameters in
// README.md ("The early-decision rule"). DefaultRule is what bluegreen uses
// and what the decision-quality benchmark measures.
//
// Each interval gives a normalised value r: the target's value divided by
// the check's tightest limit (for a lower limit, the limit divided by the
// value), so r > 1 is a breach whatever the metric's unit. An aggregate is
// the same query evaluated over a longer span ({{.Window}} widened), judged
// the same way.
type Rule struct {
	// MinIntervals: no early failure before this many breaching intervals
	// in a row. One interval is never enough: a quiet service can breach
	// any limit with one unlucky request.
	MinIntervals int
	// Z: a clear breach needs the breach run's aggregate this many
	// standard errors beyond the limit.
	Z float64
	// PriorNoise and PriorWeight: the noise assumed before the data can
	// show its own (a fraction of the limit), and how many intervals that
	// assumption is worth. They keep two lucky-looking intervals from
	// passing for certainty.
	PriorNoise  float64
	PriorWeight float64
	// TrendMin and TrendZ: a rising breach (a slow leak) fails once the
	// last two intervals breach and the at least TrendMin intervals before
	// them rise, by a one-sided Mann-Kendall test at TrendZ.
	TrendMin int
	TrendZ   float64
	// EndTrendZ: at the end of the window, values that rose (Mann-Kendall
	// over every interval, at EndTrendZ) and whose trend line ends beyond
	// the limit by EndTrendZ standard errors fail, when the last interval
	// breaches.
	EndTrendZ float64
	// FinalZ: at the end of the window, an aggregate beyond the limit fails
	// only when it is at least this many standard errors beyond it; a
	// smaller excess is within the noise, and the check is inconclusive.
	FinalZ float64
	// TailMin: at the end of the window, a final run of at least this many
	// breaching intervals, FinalZ standard errors beyond the limit, fails
	// the check even when the whole window's aggregate is within it.
	TailMin int
	// MinCoverage: the share of intervals that must have a value. When
	// more are missing than that allows, the check is decided at once: no
	// data for the target, comparison impossible for the live colour.
	MinCoverage float64
}

// DefaultRule is the rule the benchmark measures (README.md).
var DefaultRule = Rule{MinIntervals: 2, Z: 3, PriorNoise: 0.3, PriorWeight: 2, TrendMin: 4, TrendZ: 1.96, EndTrendZ: 1.64, FinalZ: 2, TailMin: 3, MinCoverage: 0.8}

// value is one query answer for one colour.
type value struct {
	V     float64
	State valueState
}

type valueState int

const (
	absent valueState = iota // no series: Prometheus answered with nothing
	isNaN                    // NaN: typically 0/0, a ratio with no traffic
	ok
)

func (v value) ok() bool { return v.State == ok }

func (v value) String() string {
	switch v.State {
	case absent:
		return "-"
	case isNaN:
		return "NaN"
	}
	return formatFloat(v.V)
}

func newValue(f float64) value {
	if math.IsNaN(f) {
		return value{V: f, State: isNaN}
	}
	return value{V: f, State: ok}
}

func formatFloat(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "+Inf"
	case math.IsInf(f, -1):
		return "-Inf"
	case math.IsNaN(f):
		return "NaN"
	}
	return strings.TrimSuffix(fmt.Sprintf("%.4g", f), ".0")
}

// observation is one interval of one check.
type observation struct {
	Index    int // 1-based
	At       time.Time
	Green    value
	Live     value
	R        float64 // normalised; NaN when green has no value
	Breach   bool
	Compared bool // the comparison with live could be made
}

// aggregate is the check's query over everything observed so far.
type aggregate struct {
	Green, Live value
	R           float64
	Breach      bool
	Compared    bool
	Span        time.Duration
	Query       string // as sent, green
	LiveQuery   string // as sent, live; "" without compare
}

// evidence is what is known about one check.
type evidence struct {
	check   *Check
	target  string // colour names, for messages
	live    string
	compare bool // a comparison with a live colour is asked for and possible
	obs     []observation
	run     *aggregate // the current breach run, when it is long enough to judge
	sofar   *aggregate // everything observed so far, when the run is judged
	// runNoise is the run's sampling noise (a variance, on the interval
	// scale) measured from its half-interval values; NaN when unknown.
	runNoise float64
	whole    *aggregate // everything observed so far; set at the end of the window
	// counts of intervals without a usable value
	greenAbsent, greenNaN, liveMissing int
}

// decision is a rule's conclusion about one check.
type decision struct {
	Verdict Verdict
	Reason  string
	OnRun   bool // decided on the breach run's aggregate, not the whole span's
}

// limitMax is how far a normalised value may go; it keeps +Inf (a breach of
// a zero limit) usable in sums.
const limitMax = 1e6

// judge normalises green's value against the check's limits: r > 1 is a
// breach. compared reports whether the live comparison could be made.
func (c *Check) judge(g, b value, compare bool) (r float64, compared bool) {
	if !g.ok() {
		return math.NaN(), false
	}
	r = math.Inf(-1)
	if c.Max != nil {
		r = math.Max(r, over(g.V, *c.Max))
	}
	if c.Min != nil {
		r = math.Max(r, under(g.V, *c.Min))
	}
	if compare && c.Compare != nil && b.ok() {
		if d := c.Compare.MaxIncrease; d != nil {
			if lim, ok := d.upper(b.V); ok {
				r, compared = math.Max(r, over(g.V, lim)), true
			}
		}
		if d := c.Compare.MaxDecrease; d != nil {
			if lim, ok := d.lower(b.V); ok {
				r, compared = math.Max(r, under(g.V, lim)), true
			}
		}
	}
	if math.IsInf(r, -1) { // only comparison limits, none computable
		return math.NaN(), false
	}
	return math.Min(r, limitMax), compared
}

// upper is the highest value allowed against live value b. A relative limit
// needs b > 0: "20% more than nothing" means nothing.
func (d Delta) upper(b float64) (float64, bool) {
	if d.Relative {
		return b * (1 + d.Value), b > 0
	}
	return b + d.Value, true
}

func (d Delta) lower(b float64) (float64, bool) {
	if d.Relative {
		return b * (1 - d.Value), b > 0
	}
	return b - d.Value, true
}

// over normalises v against an upper limit, under against a lower one.
func over(v, limit float64) float64 {
	if limit > 0 {
		return v / limit
	}
	if v > limit {
		return math.Inf(1)
	}
	return 0
}

func under(v, limit float64) float64 {
	switch {
	case limit <= 0 && v >= limit:
		return 0
	case v <= 0:
		return math.Inf(1)
	}
	return limit / v
}

// add records an interval's observation.
func (e *evidence) add(o observation) {
	o.R, o.Compared = e.check.judge(o.Green, o.Live, e.compare)
	o.Breach = o.R > 1
	switch o.Green.State {
	case absent:
		e.greenAbsent++
	case isNaN:
		e.greenNaN++
	}
	if e.compare && o.Green.ok() && !o.Compared {
		e.liveMissing++
	}
	e.obs = append(e.obs, o)
}

// judged normalises an aggregate over the last k intervals with data. When
// the aggregate query had no value (or the query has no {{.Window}}), the
// mean of those intervals stands in.
func (e *evidence) judged(a aggregate, k int) *aggregate {
	a.R, a.Compared = e.check.judge(a.Green, a.Live, e.compare)
	if math.IsNaN(a.R) {
		a.R = mean(lastN(e.data(), k))
	}
	a.Breach = a.R > 1
	return &a
}

// runLength is the number of intervals with data at the end of the
// observation that all breach, and the span they cover (missing intervals
// inside the run count towards the span, not the length).
func (e *evidence) runLength() (k int, span time.Duration) {
	first := -1
	for i := len(e.obs) - 1; i >= 0; i-- {
		o := e.obs[i]
		if math.IsNaN(o.R) {
			continue
		}
		if !o.Breach {
			break
		}
		k, first = k+1, i
	}
	if first < 0 {
		return 0, 0
	}
	return k, time.Duration(len(e.obs)-first) * e.check.Interval
}

func (e *evidence) data() []float64 {
	var rs []float64
	for _, o := range e.obs {
		if !math.IsNaN(o.R) {
			rs = append(rs, o.R)
		}
	}
	return rs
}

func mean(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	sum := 0.0
	for _, x := range xs {
		sum += x
	}
	return sum / float64(len(xs))
}

func lastN(xs []float64, k int) []float64 {
	if k > len(xs) {
		k = len(xs)
	}
	return xs[len(xs)-k:]
}

func (e *evidence) breaches() int {
	n := 0
	for _, o := range e.obs {
		if o.Breach {
			n++
		}
	}
	return n
}

// decide applies the rule after each interval. It returns false while the
// evidence cannot decide the check yet. final says the window is complete.
func (r Rule) decide(e *evidence, final bool) (decision, bool) {
	c := e.check
	n := c.Intervals()
	allowed := n - int(math.Ceil(r.MinCoverage*float64(n)))
	if missing := e.greenAbsent + e.greenNaN; missing > allowed {
		return decision{Verdict: c.NoData, Reason: e.noDataReason(n, allowed)}, true
	}
	if d, ok := r.early(e); ok {
		return d, true
	}
	noBaseline := e.compare && e.liveMissing > allowed
	impossible := decision{Verdict: Inconclusive, Reason: fmt.Sprintf("comparison impossible: the live colour %s had no usable value in %d of %d intervals (no series, NaN, or 0 for a relative limit)", e.live, e.liveMissing, len(e.obs))}
	if noBaseline && c.Max == nil && c.Min == nil {
		return impossible, true // nothing else can be judged
	}
	if !final || e.whole == nil {
		return decision{}, false
	}
	if d, ok := r.final(e); ok {
		return d, true
	}
	if noBaseline {
		return impossible, true // the absolute limits held, but the comparison never could be made
	}
	if missing := e.greenAbsent + e.greenNaN; missing > 0 {
		// A pass rests on every interval: a gap, above all one at the end
		// (the colour stopped reporting), is never passed over.
		return decision{Verdict: c.NoData, Reason: e.gapReason(missing)}, true
	}
	rs := e.data()
	if e.whole.Breach {
		z := r.clearness(nil, rs, e.whole.R, math.NaN())
		return decision{Verdict: Inconclusive, Reason: fmt.Sprintf("borderline: the whole window's aggregate is at %s of the limit, but only %.1f standard errors beyond it (a fail needs %.1f): within the noise of %d intervals (%d breached)", ratio(e.whole.R), z, r.FinalZ, len(rs), e.breaches())}, true
	}
	return decision{Verdict: Pass, Reason: fmt.Sprintf("within the limit over the whole window: aggregate at %s of the limit; %d of %d intervals breached", ratio(e.whole.R), e.breaches(), len(rs))}, true
}

// final is the end-of-window failure part of the rule.
func (r Rule) final(e *evidence) (decision, bool) {
	rs := e.data()
	if e.whole.Breach {
		if z := r.clearness(nil, rs, e.whole.R, math.NaN()); z >= r.FinalZ {
			return decision{Verdict: Fail, Reason: fmt.Sprintf("the whole window breaches: aggregate at %s of the limit, %.1f standard errors beyond it (%d of %d intervals breached)", ratio(e.whole.R), z, e.breaches(), len(rs))}, true
		}
	}
	// A window that ends in a sustained breach (a leak crossing late) fails
	// even when its average is still within the limit.
	if k, _ := e.runLength(); k >= r.TailMin && e.run != nil && e.run.Breach {
		if z := r.clearness(rs[:len(rs)-k], rs[len(rs)-k:], e.run.R, e.runNoise); z >= r.FinalZ {
			return decision{Verdict: Fail, OnRun: true, Reason: fmt.Sprintf("the window ends in a breach: its last %d intervals breach, together at %s of the limit, %.1f standard errors beyond it", k, ratio(e.run.R), z)}, true
		}
	}
	// One look at the end, so testing every interval for a trend is fair
	// here: values that rose steadily and whose fitted line ends beyond the
	// limit fail, whatever their average.
	if len(rs) >= r.TrendMin && e.lastBreach(1) {
		z := mannKendall(rs)
		if end, se := fittedEnd(rs); z >= r.EndTrendZ && end-r.EndTrendZ*se > 1 {
			return decision{Verdict: Fail, Reason: fmt.Sprintf("rose through the limit: the values rise steadily (Mann-Kendall z %.1f ≥ %.2f over %d intervals), the last interval breaches, and their trend line ends at %s of the limit, %.1f standard errors beyond it", z, r.EndTrendZ, len(rs), ratio(end), (end-1)/se)}, true
		}
	}
	return decision{}, false
}

// early is the early-failure part of the rule: a clear breach, or a rising
// one. Passing is never early.
func (r Rule) early(e *evidence) (decision, bool) {
	rs := e.data()
	if len(rs) < r.MinIntervals || len(e.obs) == 0 || !e.obs[len(e.obs)-1].Breach {
		return decision{}, false
	}
	if k, _ := e.runLength(); k >= r.MinIntervals && e.run != nil && e.run.Breach && e.sofar != nil && e.sofar.Breach {
		if z := r.clearness(rs[:len(rs)-k], rs[len(rs)-k:], e.run.R, e.runNoise); z >= r.Z {
			return decision{Verdict: Fail, OnRun: true, Reason: fmt.Sprintf("clear breach: the last %d intervals breach, together at %s of the limit, %.1f standard errors beyond it (rule: ≥ %.1f)", k, ratio(e.run.R), z, r.Z)}, true
		}
	}
	// The trend is tested on the intervals before the last two: testing the
	// two breaches that triggered the test would find them "rising" far more
	// often than the test's nominal rate.
	if len(rs)-2 >= r.TrendMin && e.lastBreach(2) {
		if z := mannKendall(rs[:len(rs)-2]); z >= r.TrendZ {
			return decision{Verdict: Fail, OnRun: true, Reason: fmt.Sprintf("rising breach: the last 2 intervals breach (now at %s of the limit) after %d intervals that rose steadily (Mann-Kendall z %.1f ≥ %.2f)", ratio(rs[len(rs)-1]), len(rs)-2, z, r.TrendZ)}, true
		}
	}
	return decision{}, false
}

// clearness is how many standard errors the breach run's aggregate sits
// above the limit (1). The noise is the largest of three estimates: the
// run's own spread, shrunk towards the prior noise while the run is short;
// the spread of the intervals before the run; and the run's sampling noise
// measured at half-interval resolution (runNoise, NaN when unknown). So a
// noisy history makes a short run less convincing, a quiet one (say, all
// zeros) never makes it more, and a run that rests on a handful of requests
// shows it in its half-interval values.
func (r Rule) clearness(before, run []float64, agg, runNoise float64) float64 {
	ssRun, dofRun := sumSquares(run)
	noise := (ssRun + r.PriorWeight*r.PriorNoise*r.PriorNoise) / (dofRun + r.PriorWeight)
	if ss, dof := sumSquares(before); dof > 0 {
		noise = math.Max(noise, ss/dof)
	}
	if !math.IsNaN(runNoise) {
		noise = math.Max(noise, runNoise)
	}
	if noise <= 0 {
		return math.Inf(1)
	}
	return (agg - 1) * math.Sqrt(float64(len(run))) / math.Sqrt(noise)
}

// sumSquares is the sum of squared deviations from the mean, and its
// degrees of freedom.
func sumSquares(xs []float64) (float64, float64) {
	if len(xs) < 2 {
		return 0, 0
	}
	m, ss := mean(xs), 0.0
	for _, x := range xs {
		ss += (x - m) * (x - m)
	}
	return ss, float64(len(xs) - 1)
}

func (e *evidence) lastBreach(k int) bool {
	seen := 0
	for i := len(e.obs) - 1; i >= 0 && seen < k; i-- {
		if math.IsNaN(e.obs[i].R) {
			continue
		}
		if !e.obs[i].Breach {
			return false
		}
		seen++
	}
	return seen == k
}

// fittedEnd is the least-squares line through xs (one per interval),
// evaluated at the last interval, and that value's standard error.
func fittedEnd(xs []float64) (end, se float64) {
	n := float64(len(xs))
	mx, my := (n-1)/2, mean(xs)
	var sxy, sxx float64
	for i, y := range xs {
		sxy += (float64(i) - mx) * (y - my)
		sxx += (float64(i) - mx) * (float64(i) - mx)
	}
	if sxx == 0 || n < 3 {
		return my, math.Inf(1)
	}
	slope := sxy / sxx
	var rss float64
	for i, y := range xs {
		d := y - (my + slope*(float64(i)-mx))
		rss += d * d
	}
	end = my + slope*(n-1-mx)
	return end, math.Sqrt(rss/(n-2)) * math.Sqrt(1/n+(n-1-mx)*(n-1-mx)/sxx)
}

// mannKendall is the Mann-Kendall trend statistic of xs as a z-score
// (positive: rising), with the correction for ties and for continuity.
func mannKendall(xs []float64) float64 {
	n := len(xs)
	s := 0
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			switch {
			case xs[j] > xs[i]:
				s++
			case xs[j] < xs[i]:
				s--
			}
		}
	}
	ties := map[float64]int{}
	for _, x := range xs {
		ties[x]++
	}
	v := float64(n*(n-1)*(2*n+5)) / 18
	for _, t := range ties {
		if t > 1 {
			v -= float64(t*(t-1)*(2*t+5)) / 18
		}
	}
	if v <= 0 || s == 0 {
		return 0
	}
	if s > 0 {
		return float64(s-1) / math.Sqrt(v)
	}
	return float64(s+1) / math.Sqrt(v)
}

func (e *evidence) noDataReason(n, allowed int) string {
	missing := e.greenAbsent + e.greenNaN
	var why string
	switch {
	case e.greenAbsent > 0 && e.greenNaN == 0:
		why = fmt.Sprintf("the query returned no series for %[1]s: %[1]s has no traffic, or the labels don't match", e.target)
	case e.greenNaN > 0 && e.greenAbsent == 0:
		why = fmt.Sprintf("the query returned NaN for %[1]s (0/0: %[1]s had no traffic)", e.target)
	default:
		why = fmt.Sprintf("%d with no series, %d NaN: %s had little or no traffic", e.greenAbsent, e.greenNaN, e.target)
	}
	return fmt.Sprintf("no data: %s had no value in %d of %d intervals so far (at most %d of %d may be missing): %s", e.target, missing, len(e.obs), allowed, n, why)
}

func ratio(r float64) string {
	if r >= limitMax {
		return "∞×"
	}
	return fmt.Sprintf("%.2f×", r)
}

// gapReason explains why a window with a few intervals missing does not
// pass, naming the last ones when the window ends without data.
func (e *evidence) gapReason(missing int) string {
	trailing := 0
	for i := len(e.obs) - 1; i >= 0 && !e.obs[i].Green.ok(); i-- {
		trailing++
	}
	why := fmt.Sprintf("no data: %s had no value in %d of %d intervals, and a pass needs a value in every one", e.target, missing, len(e.obs))
	if trailing > 0 {
		why += fmt.Sprintf("; the last %d ended without data (has %s stopped reporting?)", trailing, e.target)
	}
	return why
}
