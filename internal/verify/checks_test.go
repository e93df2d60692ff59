package verify_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gitlab.com/platform/bluegreen/internal/outcome"
	"gitlab.com/platform/bluegreen/internal/plan"
	"gitlab.com/platform/bluegreen/internal/verify"
)

const okQuery = `sum(rate(errors{app="{{.App}}",color="{{.Color}}"}[{{.Window}}]))`

func TestParseChecks_ReadsAFullFile(t *testing.T) {
	t.Parallel()
	cs, err := verify.ParseChecks("c.yaml", []byte(`
window: 5m
interval: 30s
no-data: inconclusive
checks:
  - name: errors
    query: '`+okQuery+`'
    max: 0.01
    critical: false
  - name: latency
    query: '`+okQuery+`'
    min: 0.1
    max: 2
    window: 20m
    interval: 2m
    no-data: fail
    compare: {with: live, max-increase: 20%, max-decrease: 0.05}
`))
	if err != nil {
		t.Fatal(err)
	}
	e, l := cs.Checks[0], cs.Checks[1]
	if e.Window != 5*time.Minute || e.Interval != 30*time.Second || e.Intervals() != 10 || e.NoData != verify.Inconclusive || e.Critical || *e.Max != 0.01 {
		t.Errorf("errors: %+v", e)
	}
	if l.Window != 20*time.Minute || l.Interval != 2*time.Minute || l.NoData != verify.Fail || !l.Critical ||
		*l.Compare.MaxIncrease != (verify.Delta{Value: 0.2, Relative: true}) || *l.Compare.MaxDecrease != (verify.Delta{Value: 0.05}) {
		t.Errorf("latency: %+v %+v", l, l.Compare)
	}
	q, err := l.Render("shop", "prod", plan.Blue, 90*time.Second)
	if err != nil || q != `sum(rate(errors{app="shop",color="blue"}[1m30s]))` {
		t.Errorf("Render = %q, %v", q, err)
	}
}

func TestParseChecks_DefaultsWindowAndInterval(t *testing.T) {
	t.Parallel()
	cs, err := verify.ParseChecks("c.yaml", []byte("checks:\n- name: e\n  query: '"+okQuery+"'\n  max: 1\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c := cs.Checks[0]; c.Window != verify.DefaultWindow || c.Interval != verify.DefaultInterval || c.NoData != verify.Fail || !c.Critical {
		t.Errorf("defaults: %+v", c)
	}
}

func TestParseChecks_NamesTheCheckAndTheField(t *testing.T) {
	t.Parallel()
	check := func(fields string) string {
		return "checks:\n- name: errs\n  query: '" + okQuery + "'\n" + fields
	}
	tests := []struct {
		name string
		file string
		want []string
	}{
		{"not YAML", "checks: [", []string{"c.yaml"}},
		{"no checks", "window: 5m\n", []string{"checks: the file has no checks"}},
		{"unknown top-level field", "windw: 5m\n" + strings.TrimPrefix(check("  max: 1\n"), ""), []string{`unknown field "windw"`}},
		{"unknown field", check("  maxx: 1\n"), []string{`check "errs": unknown field "maxx"`}},
		{"wrong type", check("  max: lots\n"), []string{`check "errs": max: want a float64`}},
		{"no name", "checks:\n- query: '" + okQuery + "'\n  max: 1\n", []string{`check "#1": name: required`}},
		{"bad name", "checks:\n- name: 'a b'\n  query: '" + okQuery + "'\n  max: 1\n", []string{`check "a b": name: "a b": use letters`}},
		{"duplicate", check("  max: 1\n") + "- name: errs\n  query: '" + okQuery + "'\n  max: 2\n", []string{`check "errs": name: another check has this name`}},
		{"no query", "checks:\n- name: errs\n  max: 1\n", []string{`check "errs": query: required`}},
		{"template error", "checks:\n- name: errs\n  query: 'up{color=\"{{.Color}\"}'\n  max: 1\n", []string{`check "errs": query: template:`}},
		{"unknown variable", "checks:\n- name: errs\n  query: 'up{color=\"{{.Colour}}\"}'\n  max: 1\n", []string{`check "errs": query: template:`, "Colour"}},
		{"unbalanced", "checks:\n- name: errs\n  query: 'sum(rate(up{color=\"{{.Color}}\"}[5m])'\n  max: 1\n", []string{`check "errs": query: ( at column 4 is never closed`}},
		{"unclosed string", "checks:\n- name: errs\n  query: 'up{color=\"{{.Color}}}'\n  max: 1\n", []string{`check "errs": query: string opened with " at column 10 is never closed`}},
		{"no colour", "checks:\n- name: errs\n  query: 'sum(up)'\n  max: 1\n", []string{`check "errs": query: does not use {{.Color}}`}},
		{"no limit", check(""), []string{`check "errs": max: set max, min or compare`}},
		{"min above max", check("  max: 1\n  min: 2\n"), []string{`check "errs": min: 2 is above max 1`}},
		{"bad window", check("  max: 1\n  window: soon\n"), []string{`check "errs": window: "soon" is not a duration`}},
		{"negative interval", check("  max: 1\n  interval: -1m\n"), []string{`check "errs": interval: "-1m" must be positive`}},
		{"interval beyond window", check("  max: 1\n  window: 1m\n  interval: 2m\n"), []string{`check "errs": interval: 2m0s is longer than the window 1m0s`}},
		{"ragged window", check("  max: 1\n  window: 10m\n  interval: 3m\n"), []string{`check "errs": window: 10m0s is not a whole number of intervals of 3m0s`}},
		{"bad no-data", check("  max: 1\n  no-data: pass\n"), []string{`check "errs": no-data: "pass": want fail or inconclusive (no data is never a pass)`}},
		{"compare without with", check("  compare: {max-increase: 10%}\n"), []string{`check "errs": compare.with: required: live`}},
		{"compare with blue", check("  compare: {with: blue, max-increase: 10%}\n"), []string{`check "errs": compare.with: "blue": only live is supported`}},
		{"compare without limit", check("  compare: {with: live}\n"), []string{`check "errs": compare: set max-increase`}},
		{"bad increase", check("  compare: {with: live, max-increase: lots}\n"), []string{`check "errs": compare.max-increase: "lots": want a percentage`}},
		{"negative increase", check("  compare: {with: live, max-increase: -0.1}\n"), []string{`check "errs": compare.max-increase: -0.1: want a finite number ≥ 0`}},
		{"every problem at once", check("  window: x\n") + "- name: errs\n  max: 1\n", []string{`window: "x"`, "max: set max", "another check has this name", "query: required"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := verify.ParseChecks("c.yaml", []byte(tt.file))
			if err == nil {
				t.Fatal("no error")
			}
			if outcome.KindOf(err) != outcome.Usage {
				t.Errorf("kind %s, want usage (exit 2)", outcome.KindOf(err))
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\nwant it to contain %q", err, w)
				}
			}
		})
	}
}

func TestLoadChecks_MissingFileIsUsage(t *testing.T) {
	t.Parallel()
	_, err := verify.LoadChecks(filepath.Join(t.TempDir(), "nope.yaml"))
	if outcome.KindOf(err) != outcome.Usage || !strings.Contains(err.Error(), "checks file") {
		t.Fatalf("err = %v", err)
	}
	p := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(p, []byte("checks:\n- name: e\n  query: '"+okQuery+"'\n  max: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if cs, err := verify.LoadChecks(p); err != nil || cs.Path != p {
		t.Fatalf("LoadChecks = %v, %v", cs, err)
	}
}
