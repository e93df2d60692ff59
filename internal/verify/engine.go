package verify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"strings"
	"time"

	"gitlab.com/platform/bluegreen/internal/backoff"

	"gitlab.com/platform/bluegreen/internal/outcome"
	"gitlab.com/platform/bluegreen/internal/plan"
	"gitlab.com/platform/bluegreen/internal/prom"
)

// Querier is what verification needs from Prometheus. *prom.Client is one;
// the benchmark's in-memory scenario source is another, so both drive the
// same decision code.
type Querier interface {
	Query(ctx context.Context, q string, t time.Time) (prom.Result, error)
	QueryRange(ctx context.Context, q string, r prom.Range) (prom.Result, error)
}

// Stage is one run of `bluegreen verify`.
type Stage struct {
	Checks *Checks
	Prom   Querier
	Source string    // names Prometheus in reports, without credentials
	Since  time.Time // the start of the target colour's observation window
	// Settle is how long after an interval ends its data is trusted
	// (scrape and ingestion delay). Past intervals are not waited for.
	Settle time.Duration
	Rule   Rule   // zero value: DefaultRule
	OutDir string // verify.junit.xml goes here; "" writes none
	JobURL string // the CI job, for the ledger
	Out    io.Writer
	Log    *slog.Logger
	Now    func() time.Time
	// Wait sleeps for d or until ctx ends; nil means a real timer. Only
	// intervals still in the future are waited for.
	Wait func(ctx context.Context, d time.Duration) error
	// Baseline, when set, is the switch: comparisons with the live colour
	// (then the previous colour, which has no traffic any more) use its
	// baseline, the same query over an equal window that ended at the
	// switch, instead of its values now. Monitor sets it; verify does not.
	Baseline time.Time
	// Name is the stage in the ledger and the reports: plan.Verify (the
	// default) or plan.Monitor.
	Name plan.Stage
}

// checkRun is one check's progress through its window.
type checkRun struct {
	check    *Check
	ev       evidence
	times    []time.Time // the end of each interval
	next     int         // the next interval to observe (0-based)
	fetched  map[int]observation
	query    string // per-interval query, target colour, as sent
	live     string // per-interval query, live colour; "" without compare
	decided  bool
	decision decision
	at       time.Time // the data time of the decision
	warnings []string
	note     string     // what the preflight found
	shown    *aggregate // the aggregate the verdict rests on, for the report
	start    time.Time  // the start of the window judged (see windowStart)
	baseline *value     // the live colour's baseline, with Stage.Baseline
}

// Verify evaluates every check and decides the run. It prints one line per
// action to Out. A target that Target.Validate refuses is outcome.Usage,
// before any query. Errors are classified: a bad query or bad credentials are
// outcome.Usage, an unreachable Prometheus outcome.External; then the
// report holds what was learnt before the error.
func (s *Stage) Verify(ctx context.Context, t Target) (*Report, error) {
	rule := s.Rule
	if rule == (Rule{}) {
		rule = DefaultRule
	}
	if err := t.Validate(); err != nil {
		return nil, outcome.As(outcome.Usage, err)
	}
	if err := s.Checks.fit(t); err != nil {
		return nil, err
	}
	rep := &Report{Stage: s.stage(), Target: t, Since: s.Since.UTC(), Source: s.Source, Started: s.Now().UTC(), PassScore: s.Checks.PassScore}
	runs, err := s.plan(t)
	if err != nil {
		return nil, err
	}
	err = s.preflight(ctx, t, runs)
	if err == nil {
		err = s.evaluate(ctx, t, runs, rule)
	}
	rep.Finished = s.Now().UTC()
	rep.fill(runs, err)
	return rep, err
}

// plan renders every check's queries and the times of its intervals.
func (s *Stage) plan(t Target) ([]*checkRun, error) {
	var runs []*checkRun
	for _, c := range s.Checks.Checks {
		r := &checkRun{check: c, fetched: map[int]observation{}}
		r.ev = evidence{check: c, target: t.Name(), live: t.LiveName(), compare: c.Compare != nil && t.HasLive()}
		var err error
		if r.query, err = c.RenderSide(t.side(false), c.Interval); err != nil {
			return nil, outcome.Usagef("checks file %s: %w", s.Checks.Path, err)
		}
		if r.ev.compare {
			if r.live, err = c.RenderSide(t.side(true), c.Interval); err != nil {
				return nil, outcome.Usagef("checks file %s: %w", s.Checks.Path, err)
			}
		}
		r.start = s.windowStart(c)
		for i := 1; i <= c.Intervals(); i++ {
			r.times = append(r.times, r.start.Add(time.Duration(i)*c.Interval))
		}
		if c.Compare != nil && !r.ev.compare && c.Max == nil && c.Min == nil {
			r.decide(decision{Verdict: Skipped, Reason: "first release: there is no live colour to compare with"}, s.Since)
		}
		runs = append(runs, r)
	}
	return runs, nil
}

// preflight sends every query once, at the start of the window, before any
// interval is judged. Prometheus rejects bad syntax here (exit 2, naming
// the check), an unreachable Prometheus ends the run here (exit 3), and a
// colour without samples is reported as such.
func (s *Stage) preflight(ctx context.Context, t Target, runs []*checkRun) error {
	for _, r := range runs {
		if r.decided {
			continue
		}
		at := r.start
		if now := s.Now(); at.After(now) {
			at = now
		}
		if r.start != s.Since {
			fmt.Fprintf(s.Out, "%s: the window from %s ended %s ago; judging the most recent complete window instead, %s to %s\n", r.check.Name,
				s.Since.UTC().Format(time.RFC3339), shortDuration(s.Now().Sub(s.Since.Add(r.check.Window)).Round(time.Second)),
				r.start.UTC().Format(time.RFC3339), r.times[len(r.times)-1].UTC().Format(time.RFC3339))
		}
		var notes []string
		live := r.live
		if !s.Baseline.IsZero() && r.live != "" {
			b, note, err := s.baseline(ctx, t, r)
			if err != nil {
				return err
			}
			r.baseline, live = &b, ""
			notes = append(notes, note)
		}
		for _, q := range []struct {
			color string
			query string
		}{{t.Name(), r.query}, {t.LiveName(), live}} {
			if q.query == "" {
				continue
			}
			res, err := s.Prom.Query(ctx, q.query, at)
			r.warn(res.Warnings)
			v, err := s.single(r, q.query, res, err)
			if err != nil {
				return err
			}
			switch v.State {
			case absent:
				notes = append(notes, fmt.Sprintf("%s has no samples yet", q.color))
			case isNaN:
				notes = append(notes, fmt.Sprintf("%s gives NaN (no traffic yet?)", q.color))
			default:
				notes = append(notes, fmt.Sprintf("%s %s", q.color, v))
			}
		}
		r.note = strings.Join(notes, ", ")
		fmt.Fprintf(s.Out, "preflight %s: %s at %s\n", r.check.Name, r.note, at.UTC().Format(time.RFC3339))
	}
	return nil
}

// evaluate walks every check's intervals in time order, deciding each check
// as soon as the rule can, until the run's verdict is known.
func (s *Stage) evaluate(ctx context.Context, t Target, runs []*checkRun, rule Rule) error {
	for {
		r := nextRun(runs)
		if r == nil {
			return nil
		}
		end := r.times[r.next]
		if wait := end.Add(s.Settle).Sub(s.Now()); wait > 0 {
			fmt.Fprintf(s.Out, "waiting %s for %s's interval %d of %d (ends %s)\n",
				wait.Round(time.Second), r.check.Name, r.next+1, len(r.times), end.UTC().Format(time.RFC3339))
			if err := s.wait(ctx, wait); err != nil {
				return outcome.Externalf("verification interrupted while waiting: %w", err)
			}
			continue
		}
		if err := s.observe(ctx, t, r, rule); err != nil {
			return err
		}
		if d, ok := rule.decide(&r.ev, r.next == len(r.times)); ok {
			if err := s.conclude(ctx, t, r, d, end); err != nil {
				return err
			}
		}
		if stop, why := ended(runs, s.Checks.PassScore); stop {
			for _, o := range runs {
				if !o.decided {
					if err := s.conclude(ctx, t, o, decision{Verdict: Undecided, Reason: why}, end); err != nil {
						return err
					}
				}
			}
			return nil
		}
	}
}

// nextRun is the undecided check whose next interval ends first.
func nextRun(runs []*checkRun) *checkRun {
	var best *checkRun
	for _, r := range runs {
		if r.decided || r.next >= len(r.times) {
			continue
		}
		if best == nil || r.times[r.next].Before(best.times[best.next]) {
			best = r
		}
	}
	return best
}

// ended reports whether the run's verdict is known before every check is:
// a critical check that failed, or that can no longer pass, or weighted
// checks that can no longer reach the pass-score.
func ended(runs []*checkRun, passScore float64) (bool, string) {
	for _, r := range runs {
		if r.decided && r.check.Critical && (r.decision.Verdict == Fail || r.decision.Verdict == Inconclusive) {
			return true, fmt.Sprintf("not decided: the run ended when %s was %s", r.check.Name, r.decision.Verdict)
		}
	}
	return scoreLost(runs, passScore)
}

func (r *checkRun) decide(d decision, at time.Time) {
	r.decided, r.decision, r.at = true, d, at
}

// conclude records a check's decision, with the aggregate it rests on: the
// breach run's for an early failure, else the whole span observed.
func (s *Stage) conclude(ctx context.Context, t Target, r *checkRun, d decision, at time.Time) error {
	r.decide(d, at)
	switch {
	case d.OnRun && r.ev.run != nil:
		r.shown = r.ev.run
	case r.ev.whole != nil:
		r.shown = r.ev.whole
	case len(r.ev.obs) > 0:
		a, err := s.aggregate(ctx, t, r, r.ev.obs[len(r.ev.obs)-1].At, time.Duration(len(r.ev.obs))*r.check.Interval, len(r.ev.data()))
		if err != nil {
			return err
		}
		r.shown = a
	}
	span, numbers := time.Duration(0), ""
	if a := r.shown; a != nil {
		span = a.Span
		numbers = fmt.Sprintf(" %s %s", t.Name(), a.Green)
		if r.ev.compare {
			numbers += fmt.Sprintf(", %s %s", t.LiveName(), a.Live)
		}
		numbers += fmt.Sprintf(" over %s against %s (%d/%d samples) [%s]", shortDuration(a.Span), threshold(r.check, t.LiveName(), a.Live, r.ev.compare), len(r.ev.data()), len(r.times), oneLine(a.Query))
	}
	if d.Verdict != Undecided {
		fmt.Fprintf(s.Out, "%s: %s after %s of %s:%s: %s\n", r.check.Name, d.Verdict, shortDuration(time.Duration(len(r.ev.obs))*r.check.Interval), shortDuration(r.check.Window), numbers, d.Reason)
	}
	s.Log.Info("check decided", "check", r.check.Name, "verdict", string(d.Verdict), "at", at, "intervals", len(r.ev.obs), "span", span)
	return nil
}

func (r *checkRun) warn(ws []string) {
	for _, w := range ws {
		dup := false
		for _, have := range r.warnings {
			dup = dup || have == w
		}
		if !dup {
			r.warnings = append(r.warnings, w)
		}
	}
}

// observe adds the next interval to the check's evidence, with the
// aggregates the rule needs: over the current breach run once it is long
// enough to judge, and over the whole window at its end. Intervals already
// in the past are fetched together, with one range query per colour.
func (s *Stage) observe(ctx context.Context, t Target, r *checkRun, rule Rule) error {
	i := r.next
	o, ok := r.fetched[i]
	if !ok {
		last := i
		now := s.Now()
		for last+1 < len(r.times) && !r.times[last+1].Add(s.Settle).After(now) {
			last++
		}
		if err := s.fetch(ctx, r, i, last); err != nil {
			return err
		}
		o = r.fetched[i]
	}
	delete(r.fetched, i)
	r.ev.add(o)
	r.next++
	r.ev.run, r.ev.sofar, r.ev.runNoise = nil, nil, math.NaN()
	if k, span := r.ev.runLength(); k >= rule.MinIntervals && r.ev.obs[len(r.ev.obs)-1].Breach {
		a, err := s.aggregate(ctx, t, r, o.At, span, k)
		if err != nil {
			return err
		}
		r.ev.run = a
		if r.ev.runNoise, err = s.halfNoise(ctx, t, r, o.At.Add(-span), o.At); err != nil {
			return err
		}
		r.ev.sofar = a
		if n := time.Duration(r.next) * r.check.Interval; n != span {
			if r.ev.sofar, err = s.aggregate(ctx, t, r, o.At, n, len(r.ev.data())); err != nil {
				return err
			}
		}
	}
	if r.next == len(r.times) {
		a, err := s.aggregate(ctx, t, r, o.At, r.check.Window, len(r.ev.data()))
		if err != nil {
			return err
		}
		r.ev.whole = a
	}
	return nil
}

// fetch gets intervals first..last (0-based) for both colours.
func (s *Stage) fetch(ctx context.Context, r *checkRun, first, last int) error {
	green, err := s.series(ctx, r, r.query, first, last)
	if err != nil {
		return err
	}
	live := map[int]value{}
	switch {
	case r.baseline != nil:
		for i := first; i <= last; i++ {
			live[i] = *r.baseline
		}
	case r.live != "":
		if live, err = s.series(ctx, r, r.live, first, last); err != nil {
			return err
		}
	}
	for i := first; i <= last; i++ {
		r.fetched[i] = observation{Index: i + 1, At: r.times[i], Green: green[i], Live: live[i]}
	}
	return nil
}

// series evaluates q at the end of intervals first..last: an instant query
// for one, a range query for several. Missing steps are absent values.
func (s *Stage) series(ctx context.Context, r *checkRun, q string, first, last int) (map[int]value, error) {
	out := map[int]value{}
	step := r.check.Interval
	var res prom.Result
	var err error
	if first == last {
		res, err = s.Prom.Query(ctx, q, r.times[first])
	} else {
		res, err = s.Prom.QueryRange(ctx, q, prom.Range{Start: r.times[first], End: r.times[last], Step: step})
	}
	r.warn(res.Warnings)
	if err != nil && !errors.Is(err, prom.ErrNoData) {
		return nil, s.queryError(r, q, err)
	}
	if len(res.Series) > 1 {
		return nil, s.manySeries(r, q, res)
	}
	if len(res.Series) == 1 {
		for _, p := range res.Series[0].Points {
			k := first + int(math.Round(float64(p.T.Sub(r.times[first]))/float64(step)))
			if k >= first && k <= last {
				out[k] = newValue(p.V)
			}
		}
	}
	return out, nil
}

// aggregate evaluates the query over span, ending at at, for both colours,
// and judges it; k is the number of intervals with data it covers. A query
// without {{.Window}} cannot be widened: then the aggregate is the mean of
// those intervals.
func (s *Stage) aggregate(ctx context.Context, t Target, r *checkRun, at time.Time, span time.Duration, k int) (*aggregate, error) {
	a := aggregate{Span: span, Query: r.query, LiveQuery: r.live}
	if !r.check.usesRange {
		a.Green = r.ev.mean(k, func(o observation) value { return o.Green })
		a.Live = r.ev.mean(k, func(o observation) value { return o.Live })
		return r.ev.judged(a, k), nil
	}
	var err error
	if a.Query, err = r.check.RenderSide(t.side(false), span); err != nil {
		return nil, outcome.Usagef("checks file %s: %w", s.Checks.Path, err)
	}
	res, err := s.Prom.Query(ctx, a.Query, at)
	r.warn(res.Warnings)
	if a.Green, err = s.single(r, a.Query, res, err); err != nil {
		return nil, err
	}
	switch {
	case r.baseline != nil:
		a.Live = *r.baseline
	case r.live != "":
		if a.LiveQuery, err = r.check.RenderSide(t.side(true), span); err != nil {
			return nil, outcome.Usagef("checks file %s: %w", s.Checks.Path, err)
		}
		res, err = s.Prom.Query(ctx, a.LiveQuery, at)
		r.warn(res.Warnings)
		if a.Live, err = s.single(r, a.LiveQuery, res, err); err != nil {
			return nil, err
		}
	}
	return r.ev.judged(a, k), nil
}

// halfNoise measures the sampling noise of the span (from, to]: the query
// over half-interval windows at half-interval steps, normalised like the
// intervals, and their variance scaled to a whole interval (half the data,
// twice the variance). It is NaN when the query has no {{.Window}}, when the
// half windows are too short to hold data (rate() needs two scrapes), or when
// fewer than three half values exist.
func (s *Stage) halfNoise(ctx context.Context, t Target, r *checkRun, from, to time.Time) (float64, error) {
	half := r.check.Interval / 2
	if !r.check.usesRange || half < time.Second {
		return math.NaN(), nil
	}
	rng := prom.Range{Start: from.Add(half), End: to, Step: half}
	get := func(live bool) (map[time.Time]value, error) {
		q, err := r.check.RenderSide(t.side(live), half)
		if err != nil {
			return nil, outcome.Usagef("checks file %s: %w", s.Checks.Path, err)
		}
		res, err := s.Prom.QueryRange(ctx, q, rng)
		r.warn(res.Warnings)
		if err != nil && !errors.Is(err, prom.ErrNoData) {
			return nil, s.queryError(r, q, err)
		}
		out := map[time.Time]value{}
		if len(res.Series) == 1 {
			for _, p := range res.Series[0].Points {
				out[p.T.Truncate(time.Millisecond)] = newValue(p.V)
			}
		}
		return out, nil
	}
	green, err := get(false)
	if err != nil {
		return math.NaN(), err
	}
	live := map[time.Time]value{}
	if r.ev.compare && r.baseline == nil {
		if live, err = get(true); err != nil {
			return math.NaN(), err
		}
	}
	var rs []float64
	for at, g := range green {
		b := live[at]
		if r.baseline != nil {
			b = *r.baseline
		}
		if x, _ := r.check.judge(g, b, r.ev.compare); !math.IsNaN(x) {
			rs = append(rs, x)
		}
	}
	ss, dof := sumSquares(rs)
	if dof < 2 {
		return math.NaN(), nil
	}
	return ss / dof / 2, nil
}

// single turns an instant query's answer into one value.
func (s *Stage) single(r *checkRun, q string, res prom.Result, err error) (value, error) {
	switch {
	case errors.Is(err, prom.ErrNoData):
		return value{State: absent}, nil
	case err != nil:
		return value{}, s.queryError(r, q, err)
	case len(res.Series) > 1:
		return value{}, s.manySeries(r, q, res)
	}
	return newValue(res.Series[0].Points[0].V), nil
}

// mean is the mean of the values get picks from the last k intervals with
// data.
func (e *evidence) mean(k int, get func(observation) value) value {
	sum, n, seen := 0.0, 0, 0
	for i := len(e.obs) - 1; i >= 0 && seen < k; i-- {
		o := e.obs[i]
		if !o.Green.ok() {
			continue
		}
		seen++
		if v := get(o); v.ok() {
			sum += v.V
			n++
		}
	}
	if n == 0 {
		return value{State: absent}
	}
	return value{V: sum / float64(n), State: ok}
}

// queryError classifies a failed query: the query's fault and bad
// credentials are usage errors (exit 2), anything else is Prometheus's
// (exit 3). It never turns into a verdict.
func (s *Stage) queryError(r *checkRun, q string, err error) error {
	switch {
	case errors.Is(err, prom.ErrBadQuery):
		return outcome.Usagef("checks file %s: check %q: query: Prometheus rejected %s: %w", s.Checks.Path, r.check.Name, oneLine(q), err)
	case errors.Is(err, prom.ErrUnauthorized):
		return outcome.Usagef("check %q: %w", r.check.Name, err)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return outcome.Externalf("verification interrupted: %w", err)
	}
	return outcome.Externalf("check %q: %w; no verdict was reached (retry the job)", r.check.Name, err)
}

func (s *Stage) manySeries(r *checkRun, q string, res prom.Result) error {
	labels := make([]string, 0, 3)
	for i, ser := range res.Series {
		if i == 3 {
			labels = append(labels, "…")
			break
		}
		labels = append(labels, ser.Labels)
	}
	return outcome.Usagef("checks file %s: check %q: query: %s returns %d series (%s), want one number: aggregate it, e.g. with sum(...) or max(...)",
		s.Checks.Path, r.check.Name, oneLine(q), len(res.Series), strings.Join(labels, ", "))
}

func (s *Stage) wait(ctx context.Context, d time.Duration) error {
	if s.Wait != nil {
		return s.Wait(ctx, d)
	}
	return backoff.Sleep(ctx, d)
}

// oneLine folds a multi-line query onto one line, for logs and tables.
func oneLine(q string) string { return strings.Join(strings.Fields(q), " ") }
