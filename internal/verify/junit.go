package verify

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"strings"
	"time"
)

// JUnitName is the report's file name in the output folder; GitLab reads it
// as `artifacts:reports:junit`.
const JUnitName = "verify.junit.xml"

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitProblem `xml:"failure,omitempty"`
	Error     *junitProblem `xml:"error,omitempty"`
	Skipped   *junitProblem `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitProblem struct {
	Type    string `xml:"type,attr,omitempty"`
	Message string `xml:"message,attr"`
	Body    string `xml:",chardata"`
}

// JUnit renders the report as JUnit XML: one testcase per check. A failed
// check is a <failure>, an inconclusive one an <error>, an undecided or
// skipped one <skipped>; every message carries the numbers.
func (rep *Report) JUnit() ([]byte, error) {
	took := seconds(rep.Finished.Sub(rep.Started))
	s := junitSuite{
		Name: fmt.Sprintf("verify %s/%s %s", rep.Target.Namespace, rep.Target.App, rep.Target.Color),
		Time: took, Timestamp: rep.Started.UTC().Format(time.RFC3339),
		Properties: []junitProperty{
			{"verdict", verdictOrError(rep.Verdict)}, {"reason", rep.Reason},
			{"target", string(rep.Target.Color)}, {"live", string(rep.Target.Live)},
			{"since", rep.Since.UTC().Format(time.RFC3339)}, {"prometheus", rep.Source},
		},
	}
	for _, c := range rep.Checks {
		jc := junitCase{Name: c.Check.Name, Classname: "bluegreen.verify." + rep.Target.App, Time: "0", SystemOut: c.systemOut()}
		p := &junitProblem{Type: string(c.Verdict), Message: c.message(rep), Body: c.Reason}
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
	all := junitSuites{Name: "bluegreen verify", Tests: s.Tests, Failures: s.Failures, Errors: s.Errors, Skipped: s.Skipped, Time: took, Suites: []junitSuite{s}}
	var b bytes.Buffer
	b.WriteString(xml.Header)
	enc := xml.NewEncoder(&b)
	enc.Indent("", "  ")
	if err := enc.Encode(all); err != nil {
		return nil, fmt.Errorf("junit: %w", err)
	}
	b.WriteString("\n")
	return b.Bytes(), nil
}

// message is the one line a reader sees first: the verdict with its numbers.
func (c CheckReport) message(rep *Report) string {
	live := ""
	if c.Compared {
		live = fmt.Sprintf(", %s %s", rep.Target.Live, c.Live)
	}
	return fmt.Sprintf("%s: %s: %s %s%s against %s over %s of %s (%d/%d samples, %d breached): %s",
		c.Check.Name, c.Verdict, rep.Target.Color, c.Target, live, c.Threshold,
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
