// Package report renders a verification run as one self-contained HTML
// page for people: a chart per check with the target colour and the
// compared colour per interval over the window, the limit, the interval
// that decided it, and the verdict with its numbers. The page loads
// nothing: no scripts, fonts or images, and its Content-Security-Policy
// forbids them. Everything in it that came from a checks file or from
// Prometheus is escaped by html/template.
package report

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"gitlab.com/platform/bluegreen/internal/plan"
	"gitlab.com/platform/bluegreen/internal/verify"
)

//go:embed page.html
var pageHTML string

var page = template.Must(template.New("page").Parse(pageHTML))

// FileName is the report's file name for a stage: verification.html for
// verify, monitor.html for monitor.
func FileName(stage plan.Stage) string {
	if stage == plan.Monitor {
		return "monitor.html"
	}
	return "verification.html"
}

// Render writes the report's page to w.
func Render(w io.Writer, rep *verify.Report) error {
	if err := page.Execute(w, newView(rep)); err != nil {
		return fmt.Errorf("verification report: %w", err)
	}
	return nil
}

// Write renders the report to path, atomically: into a temporary file
// beside it, renamed over path once complete, so a reader never sees half
// a page.
func Write(path string, rep *verify.Report) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("verification report: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := Render(f, rep); err != nil {
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		return fmt.Errorf("verification report: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("verification report: %w", err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("verification report: %w", err)
	}
	return nil
}

// view is what the page shows.
type view struct {
	Title     string
	Stage     string
	App       string
	Namespace string
	Target    string
	Live      string // "" on a first release
	Compared  string // what the live colour's values are: live or baseline
	Verdict   string
	Reason    string
	Decided   string
	Window    string
	Source    string
	Ran       string
	Score     string
	Checks    []checkView
}

type checkView struct {
	Name      string
	Verdict   string
	Role      string // critical, weight, or only reported
	Decisive  bool   // this check decided the run
	Reason    string
	Query     string
	LiveQuery string
	Threshold string
	Values    string // both colours over the span judged
	Compared  bool
	Observed  string // the span judged
	Samples   string
	Breaches  int
	Note      string
	Warnings  []string
	Chart     chart
	Rows      []row
}

// row is one interval in the table under the chart.
type row struct {
	Index      int
	Start, End string
	Target     string
	Live       string
	Limit      string
	Breach     bool
	Decisive   bool
}

func newView(rep *verify.Report) view {
	t := rep.Target
	v := view{
		Stage: string(rep.Stage), App: t.App, Namespace: t.Namespace, Target: t.Name(), Verdict: string(rep.Verdict),
		Reason: rep.Reason, Source: rep.Source, Compared: "live",
	}
	if rep.Stage == plan.Monitor {
		v.Compared = "baseline before the switch"
	}
	if t.HasLive() {
		v.Live = t.LiveName()
	}
	if v.Verdict == "" {
		v.Verdict = "error"
	}
	v.Title = fmt.Sprintf("%s of %s in %s: %s", stageTitle(rep.Stage), t.App, t.Namespace, strings.ToUpper(v.Verdict))
	if !rep.DecidedAt.IsZero() {
		v.Decided = fmt.Sprintf("%s, %s into the window", stamp(rep.DecidedAt), short(rep.DecidedAt.Sub(rep.Since)))
	}
	if !rep.Since.IsZero() {
		v.Window = "from " + stamp(rep.Since)
	}
	if !rep.Started.IsZero() {
		v.Ran = stamp(rep.Started)
		if d := rep.Finished.Sub(rep.Started); d > 0 {
			v.Ran += fmt.Sprintf(", for %s", d.Round(time.Millisecond))
		}
	}
	if rep.PassScore > 0 {
		v.Score = "pass-score " + strconv.FormatFloat(rep.PassScore*100, 'g', 4, 64) + "%"
	}
	for _, c := range rep.Checks {
		v.Checks = append(v.Checks, newCheckView(rep, c, v))
	}
	return v
}

func newCheckView(rep *verify.Report, c verify.CheckReport, v view) checkView {
	ivs := c.Intervals()
	start := rep.Since
	if len(ivs) > 0 {
		start = ivs[0].Start.Add(-time.Duration(ivs[0].Index-1) * c.Check.Interval)
	}
	live := v.Live
	if live == "" {
		live = "live"
	}
	cv := checkView{
		Name: c.Check.Name, Verdict: string(c.Verdict), Role: role(c.Check), Reason: c.Reason,
		Query: c.Query, LiveQuery: c.LiveQuery, Threshold: c.Threshold, Values: v.Target + " " + shown(c.Target),
		Observed: fmt.Sprintf("%s of the %s window, in intervals of %s", short(c.Observed), short(c.Check.Window), short(c.Check.Interval)),
		Samples:  fmt.Sprintf("%d of %d intervals", c.Samples, c.Check.Intervals()),
		Breaches: c.Breaches, Note: c.Note, Warnings: c.Warnings,
		Decisive: c.Verdict == verify.Fail && c.Check.Critical && !rep.DecidedAt.IsZero() && c.DecidedAt.Equal(rep.DecidedAt),
		Chart:    newChart(c, ivs, start, v.Target, live, v.Compared),
	}
	if c.Compared {
		cv.Compared = true
		cv.Values += ", " + live + " " + shown(c.Live)
	}
	for _, iv := range ivs {
		cv.Rows = append(cv.Rows, row{
			Index: iv.Index, Start: iv.Start.UTC().Format("15:04:05"), End: iv.End.UTC().Format("15:04:05"),
			Target: show(iv.Target), Live: show(iv.Live), Limit: limits(iv), Breach: iv.Breach, Decisive: decisive(c, iv),
		})
	}
	return cv
}

func role(c *verify.Check) string {
	w := strconv.FormatFloat(c.Weight, 'g', 4, 64)
	switch {
	case c.Critical && c.Weight > 0:
		return "critical, weight " + w
	case c.Critical:
		return "critical"
	case c.Weight > 0:
		return "weight " + w
	}
	return "reported only"
}

func limits(iv verify.Interval) string {
	var parts []string
	if iv.Upper != nil {
		parts = append(parts, "≤ "+show(iv.Upper))
	}
	if iv.Lower != nil {
		parts = append(parts, "≥ "+show(iv.Lower))
	}
	return strings.Join(parts, " and ")
}

// show prints a value for people; nil is no series.
func show(v *float64) string {
	if v == nil {
		return "no data"
	}
	return strconv.FormatFloat(*v, 'g', 4, 64)
}

// shown prints an aggregate's value, "no data" for no series.
func shown(v fmt.Stringer) string {
	if s := v.String(); s != "-" {
		return s
	}
	return "no data"
}

func stageTitle(s plan.Stage) string {
	if s == plan.Monitor {
		return "Monitoring"
	}
	return "Verification"
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") }
