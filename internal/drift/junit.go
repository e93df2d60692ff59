package drift

import (
	"encoding/xml"
	"fmt"
	"strings"

	"gitlab.com/platform/bluegreen/internal/plan"
)

// The JUnit schema GitLab's test report reads.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name      string      `xml:"name,attr"`
	Tests     int         `xml:"tests,attr"`
	Failures  int         `xml:"failures,attr"`
	Errors    int         `xml:"errors,attr"`
	Skipped   int         `xml:"skipped,attr"`
	Timestamp string      `xml:"timestamp,attr"`
	Cases     []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Failure   *junitMessage `xml:"failure,omitempty"`
	Error     *junitMessage `xml:"error,omitempty"`
	Skipped   *junitMessage `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Body    string `xml:",chardata"`
}

// junit renders the report: one suite per environment, one testcase per
// check per app ("<app>: <check>"). A dangerous finding fails its case; a
// check that could not run is an error; the expected and benign findings
// go to system-out.
func junit(r *Report) ([]byte, error) {
	suite := junitSuite{Name: "drift " + r.Environment, Timestamp: r.CheckedAt.UTC().Format("2006-01-02T15:04:05")}
	for _, a := range r.Apps {
		for _, c := range a.Checks {
			tc := junitCase{Name: a.App + ": " + c.Name, Classname: "drift." + r.Environment + "." + a.App}
			var out []string
			for _, f := range c.Findings {
				if f.Severity != Dangerous {
					out = append(out, fmt.Sprintf("[%s] %s", f.Severity, f.line()))
				}
			}
			tc.SystemOut = strings.Join(out, "\n")
			switch c.Status {
			case Fail:
				bad := c.Dangerous()
				var lines []string
				for _, f := range bad {
					lines = append(lines, f.line())
				}
				tc.Failure = &junitMessage{Type: "dangerous", Message: fmt.Sprintf("%d dangerous: %s", len(bad), bad[0].line()), Body: strings.Join(lines, "\n")}
				suite.Failures++
			case Errored:
				tc.Error = &junitMessage{Type: "incomplete", Message: c.Error}
				suite.Errors++
			case Skipped:
				tc.Skipped = &junitMessage{Message: c.Summary}
				suite.Skipped++
			}
			suite.Cases = append(suite.Cases, tc)
			suite.Tests++
		}
	}
	all := junitSuites{Name: "bluegreen drift", Tests: suite.Tests, Failures: suite.Failures, Errors: suite.Errors, Skipped: suite.Skipped, Suites: []junitSuite{suite}}
	b, err := xml.MarshalIndent(all, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode drift JUnit: %w", err)
	}
	return append([]byte(xml.Header), append(b, '\n')...), nil
}

func writeJUnit(path string, r *Report) error {
	b, err := junit(r)
	if err != nil {
		return err
	}
	return plan.WriteFileAtomic(path, b)
}
