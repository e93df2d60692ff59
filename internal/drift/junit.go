package drift

import (
	"fmt"
	"strings"

	"gitlab.com/platform/bluegreen/internal/junit"
	"gitlab.com/platform/bluegreen/internal/plan"
)

// junitReport renders the report: one suite per environment, one testcase per
// check per app ("<app>: <check>"). A dangerous finding fails its case; a
// check that could not run is an error; the expected and benign findings
// go to system-out.
func junitReport(r *Report) ([]byte, error) {
	suite := junit.Suite{Name: "drift " + r.Environment, Timestamp: r.CheckedAt.UTC().Format("2006-01-02T15:04:05")}
	for _, a := range r.Apps {
		for _, c := range a.Checks {
			tc := junit.Case{Name: a.App + ": " + c.Name, Classname: "drift." + r.Environment + "." + a.App}
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
				tc.Failure = &junit.Problem{Type: "dangerous", Message: fmt.Sprintf("%d dangerous: %s", len(bad), bad[0].line()), Body: strings.Join(lines, "\n")}
				suite.Failures++
			case Errored:
				tc.Error = &junit.Problem{Type: "incomplete", Message: c.Error}
				suite.Errors++
			case Skipped:
				tc.Skipped = &junit.Problem{Message: c.Summary}
				suite.Skipped++
			}
			suite.Cases = append(suite.Cases, tc)
			suite.Tests++
		}
	}
	return junit.Encode(junit.Single("bluegreen drift", suite))
}

func writeJUnit(path string, r *Report) error {
	b, err := junitReport(r)
	if err != nil {
		return err
	}
	return plan.WriteFileAtomic(path, b)
}
