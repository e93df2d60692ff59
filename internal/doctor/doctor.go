// Package doctor owns `bluegreen doctor`: a preflight of every system a
// release needs (Kubernetes, GitLab, Argo CD, Prometheus, Slack), checked
// with the pipeline's own configuration against the real systems, and
// printed as a checklist with a verdict and a fix for each item. It only
// reads: no object, commit, sync or message is ever made.
package doctor

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gitlab.com/platform/bluegreen/internal/junit"
	"gitlab.com/platform/bluegreen/internal/outcome"
	"gitlab.com/platform/bluegreen/internal/plan"
)

// Verdict is one checklist item's outcome.
type Verdict string

// The verdicts. Only Fix and Down fail the run.
const (
	OK   Verdict = "ok"
	Warn Verdict = "warn" // works, but worth knowing (a first release, an expiring token)
	Fix  Verdict = "fix"  // a prerequisite is missing: the release would fail
	Skip Verdict = "skip" // not configured, or not checkable
	Down Verdict = "down" // the system could not be reached: nothing is known
)

// Result is one checklist item.
type Result struct {
	System  string // kubernetes, gitlab, argocd, prometheus, slack
	Name    string // what was checked, e.g. "services: get, list, patch"
	Verdict Verdict
	Detail  string // what was found
	Fix     string // what to do, for Fix, Warn and Down
}

// System is one system's checks; nil Run with a Skipped reason is a system
// that is not configured.
type System struct {
	Name    string
	Skipped string // why the system is not checked ("no BG_SLACK_TOKEN")
	Run     func(ctx context.Context, s *State) []Result
}

// State is what the checks of one system learn for those of the next:
// the live colour, read from the cluster, for the Prometheus queries.
type State struct {
	App, Namespace string
	Live           plan.Color // "" until read; plan.None on a first release
	// LiveHash is, for an Argo Rollouts app, the ReplicaSet hash its
	// active Service selects (then Live is ""); "" for a Deployment app.
	LiveHash string
}

// Doctor runs the systems' checks in order and reports them.
type Doctor struct {
	App, Namespace string
	Systems        []System
	OutDir         string // doctor.junit.xml goes here
	Out            io.Writer
	Now            func() time.Time
	// Scrub masks the configured secrets in every text printed or written.
	Scrub func(string) string
}

// Report is every result of a run.
type Report struct {
	Results []Result
}

// Count is the number of results with verdict v.
func (r *Report) Count(v Verdict) int {
	n := 0
	for _, x := range r.Results {
		if x.Verdict == v {
			n++
		}
	}
	return n
}

// Err is the run's outcome: a system down is exit 3 (nothing is known of
// it), else something to fix is exit 1, else nil.
func (r *Report) Err() error {
	switch {
	case r.Count(Down) > 0:
		return outcome.Externalf("doctor: %d system(s) could not be reached, %d item(s) to fix", r.systemsDown(), r.Count(Fix))
	case r.Count(Fix) > 0:
		return outcome.Negativef("doctor: %d item(s) to fix", r.Count(Fix))
	}
	return nil
}

func (r *Report) systemsDown() int {
	seen := map[string]bool{}
	for _, x := range r.Results {
		if x.Verdict == Down {
			seen[x.System] = true
		}
	}
	return len(seen)
}

// Run checks every system, prints the checklist and writes the JUnit
// report. Its error carries the exit kind (see Report.Err).
func (d *Doctor) Run(ctx context.Context) (*Report, error) {
	start := d.Now()
	st := &State{App: d.App, Namespace: d.Namespace}
	rep := &Report{}
	fmt.Fprintf(d.Out, "doctor: app %s in namespace %s\n", d.App, d.Namespace)
	for _, s := range d.Systems {
		t0 := d.Now()
		var rs []Result
		if s.Run == nil {
			rs = []Result{{System: s.Name, Name: s.Name, Verdict: Skip, Detail: s.Skipped}}
		} else {
			rs = s.Run(ctx, st)
		}
		for i := range rs {
			rs[i].System = s.Name
			if d.Scrub != nil {
				rs[i].Name, rs[i].Detail, rs[i].Fix = d.Scrub(rs[i].Name), d.Scrub(rs[i].Detail), d.Scrub(rs[i].Fix)
			}
		}
		rep.Results = append(rep.Results, rs...)
		printSystem(d.Out, s.Name, rs, d.Now().Sub(t0))
	}
	fmt.Fprintf(d.Out, "\ndoctor: %d ok, %d to fix, %d warning(s), %d skipped, %d unreachable, in %s\n",
		rep.Count(OK), rep.Count(Fix), rep.Count(Warn), rep.Count(Skip), rep.Count(Down), d.Now().Sub(start).Round(time.Millisecond))
	if err := d.writeJUnit(rep, d.Now().Sub(start)); err != nil {
		return rep, outcome.Local(fmt.Errorf("write %s: %w", JUnitName, err))
	}
	return rep, rep.Err()
}

// marks are the verdicts as the checklist shows them.
var marks = map[Verdict]string{OK: "ok", Warn: "warn", Fix: "FIX", Skip: "skip", Down: "DOWN"}

func printSystem(w io.Writer, name string, rs []Result, took time.Duration) {
	fmt.Fprintf(w, "\n%s (%s)\n", name, took.Round(time.Millisecond))
	for _, r := range rs {
		line := fmt.Sprintf("  %-4s  %s", marks[r.Verdict], r.Name)
		if r.Detail != "" {
			line += ": " + r.Detail
		}
		fmt.Fprintln(w, line)
		if r.Fix != "" && r.Verdict != OK && r.Verdict != Skip {
			fmt.Fprintf(w, "        fix: %s\n", r.Fix)
		}
	}
}

// JUnitName is the report's file name in the out folder.
const JUnitName = "doctor.junit.xml"

func (d *Doctor) writeJUnit(rep *Report, took time.Duration) error {
	s := junit.Suite{Name: "doctor", Timestamp: d.Now().UTC().Format(time.RFC3339), Time: fmt.Sprintf("%.3f", took.Seconds())}
	for _, r := range rep.Results {
		c := junit.Case{Name: r.Name, Classname: "doctor." + r.System}
		body := strings.TrimSpace(r.Detail + "\nfix: " + r.Fix)
		switch r.Verdict {
		case Fix:
			c.Failure = &junit.Problem{Type: "fix", Message: r.Detail, Body: body}
			s.Failures++
		case Down:
			c.Error = &junit.Problem{Type: "unreachable", Message: r.Detail, Body: body}
			s.Errors++
		case Skip:
			c.Skipped = &junit.Problem{Message: r.Detail}
			s.Skipped++
		case Warn:
			c.SystemOut = body
		}
		s.Cases = append(s.Cases, c)
		s.Tests++
	}
	b, err := junit.Encode(junit.Single("bluegreen doctor", s))
	if err != nil {
		return err
	}
	if err := os.MkdirAll(d.OutDir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(d.OutDir, JUnitName), b, 0o644)
}
