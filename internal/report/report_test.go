package report_test

import (
	"bytes"
	"html"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gitlab.com/platform/bluegreen/internal/plan"
	"gitlab.com/platform/bluegreen/internal/report"
	"gitlab.com/platform/bluegreen/internal/verify"
)

var (
	goodErrors  = []float64{0.002, 0.0025, 0.0018, 0.003, 0.0022, 0.0019, 0.0021, 0.0024, 0.002, 0.0023}
	blueErrors  = repeat(0.002, 10)
	goodLatency = []float64{0.25, 0.26, 0.24, 0.255, 0.25, 0.245, 0.26, 0.25, 0.252, 0.248}
	blueLatency = []float64{0.24, 0.25, 0.245, 0.25, 0.24, 0.25, 0.245, 0.24, 0.25, 0.245}
)

// good is a release as good as the live colour.
func good() script {
	return script{"errors/green": goodErrors, "errors/blue": blueErrors, "latency/green": goodLatency, "latency/blue": blueLatency}
}

func checkOf(t *testing.T, rep *verify.Report, name string) verify.CheckReport {
	t.Helper()
	for _, c := range rep.Checks {
		if c.Check.Name == name {
			return c
		}
	}
	t.Fatalf("no check %s", name)
	return verify.CheckReport{}
}

func liveValue(iv verify.Interval) *float64   { return iv.Live }
func targetValue(iv verify.Interval) *float64 { return iv.Target }

// decisiveBands are the charts' marks of the deciding interval, per check.
func decisiveBands(es []element) map[string]int {
	out, check := map[string]int{}, ""
	for _, e := range es {
		if e.Name == "section" {
			check = e.Attrs["data-check"]
		}
		if e.Attrs["data-decisive"] == "true" {
			out[check]++
		}
	}
	return out
}

func TestRender_PassShowsBothColoursPerIntervalAndTheLimit(t *testing.T) {
	t.Parallel()
	rep := run(t, checksYAML, good(), target)
	if rep.Verdict != verify.Pass {
		t.Fatalf("verdict %s (%s), want pass", rep.Verdict, rep.Reason)
	}
	page := render(t, rep)
	es := elements(t, page)
	text := html.UnescapeString(page)
	for _, name := range []string{"error-rate", "latency-p99"} {
		c := checkOf(t, rep, name)
		ivs := c.Intervals()
		if len(ivs) != 10 {
			t.Fatalf("%s: %d intervals, want the whole window's 10", name, len(ivs))
		}
		assertPoints(t, es, name, "green", ivs, targetValue)
		if c.Compared {
			assertPoints(t, es, name, "blue", ivs, liveValue)
		} else if n := len(points(es, name, "blue")); n != 0 {
			t.Errorf("%s is not compared, yet the chart has %d blue points", name, n)
		}
	}
	// latency-p99's limit is 20% above blue's value in each interval.
	lat := checkOf(t, rep, "latency-p99").Intervals()
	if up := lat[0].Upper; up == nil || math.Abs(*up-blueLatency[0]*1.2) > 1e-12 {
		t.Errorf("latency-p99 interval 1: upper limit %v, want blue's %v + 20%%", up, blueLatency[0])
	}
	limits := 0
	for _, e := range es {
		if e.Attrs["data-limit"] == "upper limit" && strings.HasPrefix(e.Attrs["d"], "M") {
			limits++
		}
	}
	if limits != 2 {
		t.Errorf("%d upper-limit lines, want one per check", limits)
	}
	if got := decisiveBands(es); got["error-rate"] != 1 || got["latency-p99"] != 1 {
		t.Errorf("decisive intervals marked %v, want the last interval of each check", got)
	}
	for _, want := range []string{`data-verdict="pass"`, "green (target) against blue (live)", "≤ 0.01", "≤ blue +20%", "10 of 10 intervals"} {
		if !strings.Contains(text, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
}

func TestRender_FailMarksTheIntervalThatDecidedIt(t *testing.T) {
	t.Parallel()
	bad := []float64{0.002, 0.003, 0.06, 0.07, 0.065, 0.07, 0.06, 0.07, 0.06, 0.07}
	rep := run(t, checksYAML, script{"errors/green": bad, "errors/blue": blueErrors, "latency/green": goodLatency, "latency/blue": blueLatency}, target)
	if rep.Verdict != verify.Fail {
		t.Fatalf("verdict %s (%s), want fail", rep.Verdict, rep.Reason)
	}
	c := checkOf(t, rep, "error-rate")
	ivs := c.Intervals()
	if len(ivs) == 0 || len(ivs) == 10 || !ivs[len(ivs)-1].End.Equal(c.DecidedAt) {
		t.Fatalf("error-rate: %d intervals, decided at %s: want a failure before the window's end, on the last interval observed", len(ivs), c.DecidedAt)
	}
	page := render(t, rep)
	es := elements(t, page)
	text := html.UnescapeString(page)
	assertPoints(t, es, "error-rate", "green", ivs, targetValue)
	if got := decisiveBands(es); got["error-rate"] != 1 {
		t.Errorf("decisive intervals marked %v, want one on error-rate", got)
	}
	breaches := 0
	for _, p := range points(es, "error-rate", "green") {
		if p.Attrs["data-breach"] == "true" {
			breaches++
		}
	}
	if breaches != c.Breaches || breaches == 0 {
		t.Errorf("%d breaching points, want the report's %d", breaches, c.Breaches)
	}
	var decidedRows []string
	for _, e := range es {
		if e.Name == "tr" && strings.Contains(e.Attrs["class"], "decided") {
			decidedRows = append(decidedRows, e.Attrs["class"])
		}
	}
	if len(decidedRows) != 1 {
		t.Errorf("%d interval rows marked decided, want 1", len(decidedRows))
	}
	for _, want := range []string{`data-verdict="fail"`, "decided the run", "not observed", c.Reason, rep.Reason} {
		if !strings.Contains(text, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
}

func TestRender_GapsAndMissingSeriesAreCrossesNotValues(t *testing.T) {
	t.Parallel()
	holes := append([]float64(nil), goodErrors...)
	holes[1], holes[4] = gap, math.NaN()
	yaml := checksYAML + `  - name: saturation
    query: saturation{app="{{.App}}",color="{{.Color}}"}
    max: 0.9
    critical: false
  - name: queue
    query: queue{app="{{.App}}",color="{{.Color}}"}
    max: 100
    critical: false
`
	queue := repeat(12, 10)
	queue[2] = math.Inf(1)
	rep := run(t, yaml, script{"errors/green": holes, "errors/blue": blueErrors, "latency/green": goodLatency, "latency/blue": blueLatency, "queue/green": queue}, target)
	es := elements(t, render(t, rep))

	c := checkOf(t, rep, "error-rate")
	ivs := c.Intervals()
	if len(ivs) != 10 || ivs[1].Target != nil || ivs[4].Target == nil || !math.IsNaN(*ivs[4].Target) {
		t.Fatalf("error-rate intervals %+v: want 10, the 2nd without a series and the 5th NaN", ivs)
	}
	assertPoints(t, es, "error-rate", "green", ivs, targetValue)
	ps := points(es, "error-rate", "green")
	if ps[1].Name != "path" || ps[4].Name != "path" || ps[0].Name != "circle" {
		t.Errorf("error-rate points are %s, %s, %s: want a circle for a value and a cross for none", ps[0].Name, ps[1].Name, ps[4].Name)
	}

	// saturation has no series for either colour at all.
	sat := checkOf(t, rep, "saturation")
	if len(sat.Intervals()) == 0 {
		t.Fatal("saturation: no intervals observed")
	}
	assertPoints(t, es, "saturation", "green", sat.Intervals(), targetValue)
	for _, p := range points(es, "saturation", "green") {
		if p.Attrs["data-state"] != "none" {
			t.Errorf("saturation point at %s: state %s, want none", p.Attrs["data-t"], p.Attrs["data-state"])
		}
	}

	// +Inf is a value, drawn at the chart's top edge.
	q := checkOf(t, rep, "queue")
	assertPoints(t, es, "queue", "green", q.Intervals(), targetValue)
	if p := points(es, "queue", "green")[2]; p.Attrs["data-state"] != "inf" || p.Attrs["data-v"] != "+Inf" || p.Attrs["data-breach"] != "true" {
		t.Errorf("queue's +Inf point: %v, want state inf, value +Inf, a breach", p.Attrs)
	}

	// blue has no series: latency-p99 cannot compare, and its blue points
	// are all crosses.
	noBlue := good()
	noBlue["latency/blue"] = repeat(gap, 10)
	rep = run(t, checksYAML, noBlue, target)
	lat := checkOf(t, rep, "latency-p99")
	if lat.Verdict != verify.Inconclusive || len(lat.Intervals()) == 0 {
		t.Fatalf("latency-p99 %s after %d intervals, want inconclusive without blue", lat.Verdict, len(lat.Intervals()))
	}
	assertPoints(t, elements(t, render(t, rep)), "latency-p99", "blue", lat.Intervals(), liveValue)
}

func TestRender_FirstReleaseCompareOnlyCheckHasAnEmptyChart(t *testing.T) {
	t.Parallel()
	first := target
	first.Live = plan.None
	rep := run(t, checksYAML, script{"errors/green": goodErrors, "latency/green": goodLatency}, first)
	page := render(t, rep)
	if c := checkOf(t, rep, "latency-p99"); c.Verdict != verify.Skipped {
		t.Fatalf("latency-p99 %s, want skipped on a first release", c.Verdict)
	}
	es, text := elements(t, page), html.UnescapeString(page)
	if n := len(points(es, "latency-p99", "green")); n != 0 {
		t.Errorf("latency-p99 has %d points, want none", n)
	}
	for _, want := range []string{"no interval was observed", "no live colour (first release)", `data-verdict="skipped"`} {
		if !strings.Contains(text, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
}

func TestRender_EscapesHostileInput(t *testing.T) {
	t.Parallel()
	rep := run(t, checksYAML, good(), target)
	const name = `<script>alert(1)</script>`
	const query = `errors{x="\"><img src=x onerror=alert(2)>"} </style><style>*{display:none}</style>`
	rep.Checks[0].Check.Name = name
	rep.Checks[0].Query = query
	rep.Checks[0].Reason = `</p><a href="javascript:alert(3)">click</a>`
	rep.Checks[0].Warnings = []string{`<iframe src="https://example.invalid/"></iframe>`}
	rep.Source = `http://x/"><script src=https://example.invalid/x.js></script>`
	rep.Target.App = `</title><script>alert(4)</script>`
	page := render(t, rep)
	for _, bad := range []string{"<script", "<img", "<iframe", "<a ", "<style><"} {
		if strings.Contains(page, bad) {
			t.Errorf("the page holds %q unescaped", bad)
		}
	}
	if !strings.Contains(page, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Error("the check's name is not in the page, escaped")
	}
	es := elements(t, page)
	if n := len(points(es, name, "green")); n != 10 {
		t.Errorf("%d points carry the hostile name in data-check, want 10 (the attribute escaped, not broken)", n)
	}
	for _, e := range es {
		if e.Name == "script" || e.Name == "img" || e.Name == "iframe" || e.Name == "a" || strings.HasPrefix(e.Attrs["href"], "javascript") {
			t.Errorf("the page has a <%s> element", e.Name)
		}
	}
}

func TestRender_LoadsNothing(t *testing.T) {
	t.Parallel()
	rep := run(t, checksYAML, good(), target)
	page := render(t, rep)
	const csp = `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`
	if !strings.Contains(page, csp) {
		t.Error("the page has no Content-Security-Policy that forbids loading")
	}
	for _, bad := range []string{"<script", "<link", "src=", "href=", "url(", "@import", "http://", "https://"} {
		if strings.Contains(page, bad) {
			t.Errorf("the page holds %q: it must load nothing", bad)
		}
	}
}

func TestRender_MonitorComparesWithTheBaseline(t *testing.T) {
	t.Parallel()
	rep := run(t, checksYAML, good(), target)
	rep.Stage = plan.Monitor
	text := html.UnescapeString(render(t, rep))
	for _, want := range []string{"<title>Monitoring of checkout in shop: PASS</title>", "green (target) against blue (baseline before the switch)", "stage monitor"} {
		if !strings.Contains(text, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
}

func TestFileName_PerStage(t *testing.T) {
	t.Parallel()
	for stage, want := range map[plan.Stage]string{plan.Verify: "verification.html", plan.Monitor: "monitor.html"} {
		if got := report.FileName(stage); got != want {
			t.Errorf("FileName(%s) = %s, want %s", stage, got, want)
		}
	}
}

func TestWrite_ReplacesTheFileWholeAndLeavesNoTemporary(t *testing.T) {
	t.Parallel()
	rep := run(t, checksYAML, good(), target)
	dir := t.TempDir()
	path := filepath.Join(dir, report.FileName(rep.Stage))
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := report.Write(path, rep); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	if err := report.Render(&want, rep); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Error("the file is not the rendered page")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("the folder holds %d files, want only %s", len(entries), filepath.Base(path))
	}
	if err := report.Write(filepath.Join(dir, "missing", "verification.html"), rep); err == nil {
		t.Error("writing into a missing folder succeeded")
	}
}
