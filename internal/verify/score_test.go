package verify_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"gitlab.com/platform/bluegreen/internal/outcome"
	"gitlab.com/platform/bluegreen/internal/verify"
	"gitlab.com/platform/bluegreen/internal/verify/scenario"
)

// weightedChecks is the scenario checks file with weights: error-rate 3,
// latency-p99 1, and the given top-level lines.
func weightedChecks(t *testing.T, top string) *verify.Checks {
	t.Helper()
	y := strings.Replace(scenario.ChecksYAML, "    max: 0.01\n", "    max: 0.01\n    weight: 3\n", 1)
	y = strings.Replace(y, "max-increase: 20%}\n", "max-increase: 20%}\n    weight: 1\n", 1)
	cs, err := verify.ParseChecks("checks.yaml", []byte(top+y))
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

func TestParseChecks_WeightsAndPassScore(t *testing.T) {
	t.Parallel()
	cs := weightedChecks(t, "")
	if cs.PassScore != verify.DefaultPassScore {
		t.Errorf("pass-score = %g, want the default %g", cs.PassScore, verify.DefaultPassScore)
	}
	for _, c := range cs.Checks {
		if c.Weight == 0 || c.Critical {
			t.Errorf("%s: weight %g critical %v, want weighted and not critical", c.Name, c.Weight, c.Critical)
		}
	}
	for _, top := range []string{"pass-score: 60%\n", "pass-score: 60\n", "pass-score: '60 %'\n"} {
		if cs := weightedChecks(t, top); cs.PassScore != 0.6 {
			t.Errorf("%q: pass-score = %g, want 0.6", top, cs.PassScore)
		}
	}
	y := strings.Replace(scenario.ChecksYAML, "    max: 0.01\n", "    max: 0.01\n    weight: 2\n    critical: true\n", 1)
	cs, err := verify.ParseChecks("c.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	if e, l := cs.Checks[0], cs.Checks[1]; !e.Critical || e.Weight != 2 || !l.Critical || l.Weight != 0 {
		t.Errorf("critical and weighted: %+v; unweighted stays critical: %+v", e, l)
	}

	check := "checks:\n- name: errs\n  query: '" + okQuery + "'\n  max: 1\n"
	for _, tt := range []struct{ file, want string }{
		{check + "  weight: 0\n", `check "errs": weight: 0: want a number > 0`},
		{check + "  weight: -2\n", `check "errs": weight: -2: want a number > 0`},
		{check + "  weight: heavy\n", `check "errs": weight: want a float64`},
		{"pass-score: 75%\n" + check, "pass-score: no check has a weight"},
		{"pass-score: 0.75\n" + check + "  weight: 1\n", "pass-score: 0.75 is read as 0.75%"},
		{"pass-score: 120%\n" + check + "  weight: 1\n", `pass-score: "120%": want a percentage above 0 and at most 100`},
		{"pass-score: most\n" + check + "  weight: 1\n", `pass-score: "most": want a percentage`},
	} {
		_, err := verify.ParseChecks("c.yaml", []byte(tt.file))
		if err == nil || outcome.KindOf(err) != outcome.Usage || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q:\nerr = %v\nwant a usage error containing %q", tt.file, err, tt.want)
		}
	}
}

func TestVerify_WeightedScoreDecidesTheRun(t *testing.T) {
	t.Parallel()
	tests := []struct {
		family, top string
		want        verify.Verdict
		reason      string
		decidedBy   time.Duration
	}{
		// latency-p99 (weight 1) fails, error-rate (3) passes: 75% reaches 75%.
		{"latency-regression", "", verify.Pass, "score 75% of weight 4 (pass-score 75%)", 10 * time.Minute},
		// The same run fails a stricter pass-score, as soon as latency fails.
		{"latency-regression", "pass-score: 80%\n", verify.Fail, "failed: latency-p99 (weight 1)", 3 * time.Minute},
		// error-rate (3) fails: 25% can never reach 75%, so the run ends then.
		{"bad-error-rate", "", verify.Fail, "failed: error-rate (weight 3)", 2 * time.Minute},
		{"good", "pass-score: 100%\n", verify.Pass, "score 100% of weight 4", 10 * time.Minute},
		// No data is never a pass: error-rate has no series.
		{"no-series", "pass-score: 25%\n", verify.Fail, "error-rate (weight 3)", 3 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.family+" "+strings.TrimSpace(tt.top), func(t *testing.T) {
			t.Parallel()
			st, _, _, _ := stageFor(t, tt.family, 1, replayed)
			st.Checks = weightedChecks(t, tt.top)
			rep, err := st.Verify(context.Background(), target)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Verdict != tt.want || !strings.Contains(rep.Reason, tt.reason) {
				t.Fatalf("verdict %s (%s), want %s containing %q", rep.Verdict, rep.Reason, tt.want, tt.reason)
			}
			if rep.DecidedAt.After(benchSince.Add(tt.decidedBy)) {
				t.Errorf("decided at +%s, want by +%s", rep.DecidedAt.Sub(benchSince), tt.decidedBy)
			}
			rec := rep.Record()
			if rec.Score == nil || rec.PassScore != st.Checks.PassScore || rec.Checks[0].Weight != 3 {
				t.Errorf("plan record: score %v pass-score %g weight %g", rec.Score, rec.PassScore, rec.Checks[0].Weight)
			}
			if (rep.Verdict == verify.Pass) != (rep.Err() == nil) {
				t.Errorf("Err() = %v for %s", rep.Err(), rep.Verdict)
			}
		})
	}
}

func TestVerify_ScoreLineInTheTable(t *testing.T) {
	t.Parallel()
	st, _, _, _ := stageFor(t, "latency-regression", 1, replayed)
	st.Checks = weightedChecks(t, "")
	rep, err := st.Verify(context.Background(), target)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	rep.PrintTable(&b)
	data, err := rep.JUnit()
	if err != nil || !strings.Contains(string(data), `<property name="score" value="75%"></property>`) {
		t.Errorf("JUnit lacks the score property: %v\n%s", err, data)
	}
	for _, want := range []string{"fail (weight 1)", "pass (weight 3)", "score: 3 passed, 1 failed, 0 not judged, of weight 4: 75%, pass-score 75%"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
}
