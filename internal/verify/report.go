package verify

import (
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
	"time"

	"gitlab.com/platform/bluegreen/internal/outcome"
	"gitlab.com/platform/bluegreen/internal/plan"
)

// Report is a run's outcome: the verdict and every check's numbers.
type Report struct {
	Stage    plan.Stage // plan.Verify or plan.Monitor
	Target   Target
	Source   string // the Prometheus, without credentials
	Since    time.Time
	Started  time.Time // wall clock
	Finished time.Time
	Verdict  Verdict // "" when an error stopped the run before a verdict
	Reason   string
	// DecidedAt is the data time that decided the run: the end of the
	// interval after which the verdict was known.
	DecidedAt time.Time
	Checks    []CheckReport
	// PassScore is the checks file's pass-score; 0 when no check has a
	// weight.
	PassScore float64
}

// CheckReport is one check's outcome.
type CheckReport struct {
	Check     *Check
	Verdict   Verdict
	Reason    string
	Query     string // as sent for the target colour, over the observed span
	LiveQuery string // as sent for the live colour; "" without compare
	Target    value  // the target colour over the observed span
	Live      value
	Compared  bool
	Threshold string
	Observed  time.Duration // the span the verdict rests on
	Samples   int           // intervals with a value
	Breaches  int
	Values    []observation
	Warnings  []string
	Note      string    // what the preflight found
	DecidedAt time.Time // data time; zero when undecided by an error
}

// fill builds the report from the runs. err is the error that stopped the
// run, if any: then there is no verdict.
func (rep *Report) fill(runs []*checkRun, err error) {
	for _, r := range runs {
		cr := CheckReport{
			Check: r.check, Verdict: r.decision.Verdict, Reason: r.decision.Reason,
			Query: r.query, LiveQuery: r.live, Compared: r.ev.compare, Samples: len(r.ev.data()), Breaches: r.ev.breaches(),
			Values: r.ev.obs, Warnings: r.warnings, Note: r.note, DecidedAt: r.at,
		}
		live := value{State: absent}
		if a := r.shown; a != nil {
			cr.Query, cr.LiveQuery, cr.Target, cr.Live, cr.Observed, live = a.Query, a.LiveQuery, a.Green, a.Live, a.Span, a.Live
		}
		if !r.decided {
			cr.Verdict = Undecided
			cr.Reason = "not decided: the run stopped on an error"
		}
		cr.Threshold = threshold(r.check, rep.Target.LiveName(), live, r.ev.compare)
		rep.Checks = append(rep.Checks, cr)
	}
	if err != nil {
		rep.Reason = err.Error()
		return
	}
	rep.decide()
}

// decide sets the run's verdict from its critical checks and the score of
// its weighted checks: any critical failure, or a score that can no longer
// reach the pass-score, fails it; otherwise anything short of a pass makes
// it inconclusive; and a pass needs at least one check that passed.
func (rep *Report) decide() {
	var fails, others, passes []string
	for _, c := range rep.Checks {
		if !c.Check.Critical {
			continue
		}
		switch c.Verdict {
		case Fail:
			fails = append(fails, c.Check.Name)
			if rep.DecidedAt.IsZero() || c.DecidedAt.Before(rep.DecidedAt) {
				rep.DecidedAt = c.DecidedAt
			}
		case Pass:
			passes = append(passes, c.Check.Name)
		case Skipped:
		default:
			others = append(others, fmt.Sprintf("%s %s", c.Check.Name, c.Verdict))
		}
	}
	scored, score := scoreVerdict(rep.Checks, rep.PassScore)
	switch scored {
	case Fail:
		fails = append(fails, score)
		if at := scoreDecidedAt(rep.Checks, rep.PassScore); rep.DecidedAt.IsZero() || at.Before(rep.DecidedAt) {
			rep.DecidedAt = at
		}
	case Inconclusive:
		others = append(others, score)
	case Pass:
		passes = append(passes, score)
	}
	switch {
	case len(fails) > 0:
		rep.Verdict, rep.Reason = Fail, "failed: "+strings.Join(fails, ", ")
		return
	case len(others) > 0:
		rep.Verdict, rep.Reason = Inconclusive, "inconclusive: "+strings.Join(others, ", ")+"; nothing failed, but nothing may pass on missing evidence"
	case len(passes) == 0:
		rep.Verdict, rep.Reason = Inconclusive, "inconclusive: no critical or weighted check could be judged"
	default:
		rep.Verdict, rep.Reason = Pass, "passed: "+strings.Join(passes, ", ")
	}
	for _, c := range rep.Checks {
		if c.Check.decides() && c.DecidedAt.After(rep.DecidedAt) {
			rep.DecidedAt = c.DecidedAt
		}
	}
}

// decides reports whether the check takes part in the run's verdict.
func (c *Check) decides() bool { return c.Critical || c.Weight > 0 }

// Err is the run's outcome as an error for the exit code: nil for a pass,
// outcome.Negative for a failure and for an inconclusive run.
func (rep *Report) Err() error {
	switch rep.Verdict {
	case Pass:
		return nil
	case Fail:
		return outcome.Negativef("verification failed: %s", rep.detail(Fail))
	}
	return outcome.Negativef("verification inconclusive (not a pass): %s", rep.detail(Inconclusive, Undecided))
}

func (rep *Report) detail(vs ...Verdict) string {
	var parts []string
	for _, c := range rep.Checks {
		for _, v := range vs {
			if c.Check.decides() && c.Verdict == v {
				parts = append(parts, c.Check.Name+": "+c.Reason)
			}
		}
	}
	if len(parts) == 0 {
		return rep.Reason
	}
	return strings.Join(parts, "; ")
}

// threshold describes a check's limits; a comparison shows the limit it
// works out to against the live colour's value.
func threshold(c *Check, live string, lv value, compare bool) string {
	var parts []string
	if c.Max != nil {
		parts = append(parts, "≤ "+formatFloat(*c.Max))
	}
	if c.Min != nil {
		parts = append(parts, "≥ "+formatFloat(*c.Min))
	}
	if c.Compare != nil {
		name := live
		if !compare {
			name = "live (none)"
		}
		for _, l := range []struct {
			d    *Delta
			sign string
			op   string
			lim  func(Delta, float64) (float64, bool)
		}{{c.Compare.MaxIncrease, "+", "≤", Delta.upper}, {c.Compare.MaxDecrease, "−", "≥", Delta.lower}} {
			if l.d == nil {
				continue
			}
			s := fmt.Sprintf("%s %s %s%s", l.op, name, l.sign, l.d)
			if v, ok := l.lim(*l.d, lv.V); ok && lv.ok() && compare {
				s += " (" + formatFloat(v) + ")"
			}
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, " and ")
}

// PrintTable writes the summary table for the job log: one line per check
// with the query as sent, both colours' values, the threshold, the window,
// the samples and the verdict, then why each check ended as it did.
func (rep *Report) PrintTable(w io.Writer) {
	t := rep.Target
	fmt.Fprintf(w, "\nverification of %s in %s: %s (target) against %s (live), window from %s, Prometheus %s\n",
		t.App, t.Namespace, t.Name(), t.LiveName(), rep.Since.Format(time.RFC3339), rep.Source)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "CHECK\tVERDICT\t%s\t%s\tTHRESHOLD\tWINDOW\tSAMPLES\tQUERY\n", strings.ToUpper(t.Name()), strings.ToUpper(t.LiveName()))
	for _, c := range rep.Checks {
		live := "-"
		if c.Compared {
			live = c.Live.String()
		}
		verdict := string(c.Verdict)
		switch {
		case c.Check.Weight > 0 && c.Check.Critical:
			verdict += fmt.Sprintf(" (critical, weight %s)", formatFloat(c.Check.Weight))
		case c.Check.Weight > 0:
			verdict += fmt.Sprintf(" (weight %s)", formatFloat(c.Check.Weight))
		case !c.Check.Critical:
			verdict += " (non-critical)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s of %s\t%d/%d, %d breached\t%s\n",
			c.Check.Name, verdict, c.Target, live, c.Threshold, shortDuration(c.Observed), shortDuration(c.Check.Window),
			c.Samples, c.Check.Intervals(), c.Breaches, oneLine(c.Query))
	}
	tw.Flush()
	for _, c := range rep.Checks {
		fmt.Fprintf(w, "  %s: %s\n", c.Check.Name, c.Reason)
		for _, warn := range c.Warnings {
			fmt.Fprintf(w, "  %s: Prometheus warning (not data): %s\n", c.Check.Name, warn)
		}
	}
	if t := tallyOf(rep.Checks); t.total > 0 {
		fmt.Fprintf(w, "score: %s passed, %s failed, %s not judged, of weight %s: %s, pass-score %s\n",
			formatFloat(t.passed), formatFloat(t.failed), formatFloat(t.short), formatFloat(t.total), percent(t.passed/t.total), percent(rep.PassScore))
	}
	switch rep.Verdict {
	case "":
		fmt.Fprintf(w, "verdict: none, %s\n", rep.Reason)
	default:
		fmt.Fprintf(w, "verdict: %s (%s), decided by the data up to %s (%s into the window), in %s\n",
			strings.ToUpper(string(rep.Verdict)), rep.Reason, rep.DecidedAt.UTC().Format(time.RFC3339),
			shortDuration(rep.DecidedAt.Sub(rep.Since)), rep.Finished.Sub(rep.Started).Round(time.Millisecond))
	}
}

// Record is the report as plan.json keeps it.
func (rep *Report) Record() *plan.Verification {
	v := &plan.Verification{
		Result: string(rep.Verdict), Reason: rep.Reason, Target: rep.Target.Color, Live: rep.Target.Live,
		Prometheus: rep.Source, Since: rep.Since.UTC(), Started: rep.Started, Finished: rep.Finished,
	}
	if v.Result == "" {
		v.Result = "error"
	}
	if !rep.DecidedAt.IsZero() {
		at := rep.DecidedAt.UTC()
		v.DecidedAt = &at
	}
	if t := tallyOf(rep.Checks); t.total > 0 {
		score := plan.Number(t.passed / t.total)
		v.Score, v.PassScore = &score, rep.PassScore
	}
	for _, c := range rep.Checks {
		cr := plan.CheckResult{
			Name: c.Check.Name, Verdict: string(c.Verdict), Critical: c.Check.Critical, Weight: c.Check.Weight, Reason: c.Reason,
			Query: c.Query, LiveQuery: c.LiveQuery, Target: number(c.Target), Threshold: c.Threshold,
			Window: c.Check.Window.String(), Interval: c.Check.Interval.String(), Observed: c.Observed.String(),
			Samples: c.Samples, Intervals: c.Check.Intervals(), Breaches: c.Breaches, Warnings: c.Warnings,
		}
		if c.Compared {
			cr.Live = number(c.Live)
		}
		for _, o := range c.Values {
			iv := plan.IntervalValue{At: o.At.UTC(), Target: number(o.Green), Breach: o.Breach}
			if c.Compared {
				iv.Live = number(o.Live)
			}
			cr.Values = append(cr.Values, iv)
		}
		v.Checks = append(v.Checks, cr)
	}
	return v
}

func number(v value) *plan.Number {
	switch v.State {
	case ok:
		n := plan.Number(v.V)
		return &n
	case isNaN:
		n := plan.Number(math.NaN())
		return &n
	}
	return nil
}

// shortDuration prints 10m rather than 10m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}
