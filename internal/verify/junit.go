package verify

import (
	"fmt"
	"strings"
	"time"

	"gitlab.com/platform/bluegreen/internal/junit"
	"gitlab.com/platform/bluegreen/internal/plan"
)

// JUnitName is the report's file name in the output folder; GitLab reads it
// as `artifacts:reports:junit`.
const JUnitName = "verify.junit.xml"

// JUnitFile is the JUnit report's file name for a stage: verify.junit.xml,
// monitor.junit.xml.
func JUnitFile(stage plan.Stage) string {
	if stage == "" || stage == plan.Verify {
		return JUnitName
	}
	return string(stage) + ".junit.xml"
}

func (rep *Report) stage() string {
	if rep.Stage == "" {
		return string(plan.Verify)
	}
	return string(rep.Stage)
}

// JUnit renders the report as JUnit XML: one testcase per check. A failed
// check is a <failure>, an inconclusive one an <error>, an undecided or
// skipped one <skipped>; every message carries the numbers.
func (rep *Report) JUnit() ([]byte, error) {
	took := seconds(rep.Finished.Sub(rep.Started))
	s := junit.Suite{
		Name: fmt.Sprintf("%s %s/%s %s", rep.stage(), rep.Target.Namespace, rep.Target.App, rep.Target.Name()),
		Time: took, Timestamp: rep.Started.UTC().Format(time.RFC3339),
		Properties: &junit.Properties{List: []junit.Property{
			{Name: "verdict", Value: verdictOrError(rep.Verdict)}, {Name: "reason", Value: rep.Reason},
			{Name: "target", Value: rep.Target.Name()}, {Name: "live", Value: rep.Target.LiveName()},
			{Name: "since", Value: rep.Since.UTC().Format(time.RFC3339)}, {Name: "prometheus", Value: rep.Source},
		}},
	}
	if t := tallyOf(rep.Checks); t.total > 0 {
		s.Properties.List = append(s.Properties.List, junit.Property{Name: "score", Value: percent(t.passed / t.total)},
			junit.Property{Name: "pass-score", Value: percent(rep.PassScore)})
	}
	for _, c := range rep.Checks {
		jc := junit.Case{Name: c.Check.Name, Classname: "bluegreen." + rep.stage() + "." + rep.Target.App, Time: "0", SystemOut: c.systemOut()}
		p := &junit.Problem{Type: string(c.Verdict), Message: c.message(rep), Body: c.Reason}
		switch {
		case c.Verdict == Fail:
			jc.Failure = p
			s.Failures++
		case c.Verdict == Inconclusive, rep.Verdict == "" && c.Verdict == Undecided:
			if rep.Verdict == "" {
				p.Type, p.Body = "error", rep.Reason
			}
			jc.Error = p
			s.Errors++
		case c.Verdict == Undecided, c.Verdict == Skipped:
			jc.Skipped = p
			s.Skipped++
		}
		s.Cases = append(s.Cases, jc)
		s.Tests++
	}
	return junit.Encode(junit.Single("bluegreen "+rep.stage(), s))
}

// message is the one line a reader sees first: the verdict with its numbers.
func (c CheckReport) message(rep *Report) string {
	live := ""
	if c.Compared {
		live = fmt.Sprintf(", %s %s", rep.Target.LiveName(), c.Live)
	}
	return fmt.Sprintf("%s: %s: %s %s%s against %s over %s of %s (%d/%d samples, %d breached): %s",
		c.Check.Name, c.Verdict, rep.Target.Name(), c.Target, live, c.Threshold,
		shortDuration(c.Observed), shortDuration(c.Check.Window), c.Samples, c.Check.Intervals(), c.Breaches, c.Reason)
}

// systemOut lists the queries as sent and every interval's values.
func (c CheckReport) systemOut() string {
	var b strings.Builder
	fmt.Fprintf(&b, "query: %s\n", c.Query)
	if c.LiveQuery != "" {
		fmt.Fprintf(&b, "live query: %s\n", c.LiveQuery)
	}
	if c.Note != "" {
		fmt.Fprintf(&b, "preflight: %s\n", c.Note)
	}
	for _, w := range c.Warnings {
		fmt.Fprintf(&b, "prometheus warning: %s\n", w)
	}
	for _, o := range c.Values {
		mark := ""
		if o.Breach {
			mark = " breach"
		}
		live := ""
		if c.Compared {
			live = " live=" + o.Live.String()
		}
		fmt.Fprintf(&b, "interval %d ending %s: target=%s%s r=%s%s\n", o.Index, o.At.UTC().Format(time.RFC3339), o.Green, live, formatFloat(o.R), mark)
	}
	return b.String()
}

func verdictOrError(v Verdict) string {
	if v == "" {
		return "error"
	}
	return string(v)
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }
