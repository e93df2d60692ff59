package verify_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gitlab.com/platform/bluegreen/internal/outcome"
	"gitlab.com/platform/bluegreen/internal/plan"
	"gitlab.com/platform/bluegreen/internal/prom"
	"gitlab.com/platform/bluegreen/internal/testenv"
	"gitlab.com/platform/bluegreen/internal/verify"
	"gitlab.com/platform/bluegreen/internal/verify/scenario"
)

// These tests run the verify stage against a real Prometheus, its history
// generated for the test relative to now and backfilled with promtool. Each
// scenario's verdict must match the truth and, number for number, the
// in-memory source the benchmark uses.

// realSince puts the whole window in the past: verification replays it,
// as at the moment the window ended (replayAt).
func realSince() time.Time { return time.Now().Add(-time.Hour).Truncate(time.Minute) }

// replayAt is a clock stopped when the window from since ended and its last
// interval settled: the moment a verify that started with the window gives
// its verdict.
func replayAt(since time.Time) func() time.Time {
	return func() time.Time { return since.Add(10*time.Minute + 15*time.Second) }
}

func realPlan() *plan.Plan {
	return &plan.Plan{Schema: plan.SchemaVersion, App: scenario.App, Namespace: scenario.Namespace, TargetColor: plan.Green, LiveColor: plan.Blue}
}

func realStage(t *testing.T, checks *verify.Checks, url string, since time.Time, out *bytes.Buffer) *verify.Stage {
	t.Helper()
	client, err := prom.New(prom.Config{URL: url, Timeout: 10 * time.Second, Retry: prom.Retry{Attempts: 2, Base: 10 * time.Millisecond, Cap: 20 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	return &verify.Stage{
		Checks: checks, Prom: client, Source: client.String(), Since: since, Settle: 15 * time.Second,
		OutDir: t.TempDir(), Out: out, Log: slog.New(slog.DiscardHandler), Now: replayAt(since),
	}
}

func TestVerifyReal_ScenarioVerdicts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		family string
		want   verify.Verdict
		why    string // in the deciding check's reason
	}{
		{"good", verify.Pass, "within the limit over the whole window"},
		{"bad-error-rate", verify.Fail, "clear breach"},
		{"latency-regression", verify.Fail, "clear breach"},
		{"slow-leak", verify.Fail, "rising breach"},
		{"no-traffic", verify.Fail, "no data"},
		{"noisy-good", verify.Pass, "within the limit over the whole window"},
		{"blue-missing", verify.Inconclusive, "comparison impossible"},
	}
	checks := benchChecks(t)
	for _, tt := range tests {
		t.Run(tt.family, func(t *testing.T) {
			t.Parallel()
			since := realSince()
			f, _ := scenario.FamilyNamed(tt.family)
			h := f.Spec(1).History(since)
			p := testenv.NewPrometheus(t, testenv.PrometheusOptions{History: string(h.OpenMetrics())})
			var out bytes.Buffer
			st := realStage(t, checks, p.URL(), since, &out)
			pl := realPlan()
			rep, err := st.Run(context.Background(), pl)
			if rep == nil || rep.Verdict != tt.want {
				t.Fatalf("verdict %v, err %v, want %s\n%s", rep, err, tt.want, out.String())
			}
			if (tt.want == verify.Pass) != (err == nil) || err != nil && outcome.KindOf(err) != outcome.Negative {
				t.Errorf("err = %v for %s", err, tt.want)
			}
			if !strings.Contains(rep.Reason+out.String(), tt.why) {
				t.Errorf("the log should say %q:\n%s", tt.why, out.String())
			}

			// The same scenario through the in-memory source decides the same
			// way at the same time: the benchmark measures what Prometheus does.
			mem := &verify.Stage{Checks: checks, Prom: h.Memory(), Source: "memory", Since: since, Out: &bytes.Buffer{}, Log: slog.New(slog.DiscardHandler), Now: replayAt(since)}
			mrep, err := mem.Verify(context.Background(), target)
			if err != nil {
				t.Fatal(err)
			}
			if mrep.Verdict != rep.Verdict || !mrep.DecidedAt.Equal(rep.DecidedAt) {
				t.Errorf("memory says %s at %s, Prometheus %s at %s", mrep.Verdict, mrep.DecidedAt, rep.Verdict, rep.DecidedAt)
			}

			// Every check's numbers are in the log and in JUnit.
			data, err := os.ReadFile(filepath.Join(st.OutDir, verify.JUnitName))
			if err != nil {
				t.Fatal(err)
			}
			var doc junitDoc
			if err := xml.Unmarshal(data, &doc); err != nil {
				t.Fatalf("invalid JUnit: %v", err)
			}
			for i, c := range rep.Checks {
				for _, want := range []string{c.Query, c.Target.String(), c.Threshold} {
					if !strings.Contains(out.String(), want) {
						t.Errorf("%s: the log lacks %q", c.Check.Name, want)
					}
				}
				jc := doc.Suites[0].Cases[i]
				if c.Verdict == verify.Fail && (jc.Failure == nil || !strings.Contains(jc.Failure.Message, c.Target.String())) {
					t.Errorf("%s: JUnit failure lacks the value: %+v", c.Check.Name, jc.Failure)
				}
				if !strings.Contains(jc.Out, c.Query) {
					t.Errorf("%s: JUnit lacks the query", c.Check.Name)
				}
			}
			if pl.Verification == nil || pl.Verification.Result != string(tt.want) || len(pl.Ledger) != 1 || pl.Ledger[0].Stage != "verify" {
				t.Errorf("plan: %+v, ledger %+v", pl.Verification, pl.Ledger)
			}
		})
	}
}

func TestVerifyReal_PrometheusDownIsExternalNeverAVerdict(t *testing.T) {
	t.Parallel()
	url := "http://127.0.0.1:1" // nothing listens on port 1
	var out bytes.Buffer
	st := realStage(t, benchChecks(t), url, realSince(), &out)
	pl := realPlan()
	rep, err := st.Run(context.Background(), pl)
	if outcome.KindOf(err) != outcome.External || !strings.Contains(err.Error(), "prometheus unavailable") {
		t.Fatalf("err = %v, want exit 3 (prometheus unavailable)", err)
	}
	if rep.Verdict != "" || pl.Verification.Result != "error" {
		t.Errorf("verdict %q, recorded %q: want none", rep.Verdict, pl.Verification.Result)
	}
	data, err := os.ReadFile(filepath.Join(st.OutDir, verify.JUnitName))
	if err != nil || !strings.Contains(string(data), `<error type="error"`) {
		t.Errorf("JUnit should report errors, not failures: %s %v", data, err)
	}
}

func TestVerifyReal_QueryPrometheusRejectsIsUsageNamingTheCheck(t *testing.T) {
	t.Parallel()
	checks, err := verify.ParseChecks("checks.yaml", []byte(`checks:
  - name: error-rate
    query: sum(rate(http_requests_total{color="{{.Color}}"}[{{.Window}}]))
    max: 1
  - name: wrong-type
    query: rate(http_requests_total{color="{{.Color}}"})
    max: 1
`))
	if err != nil {
		t.Fatal(err)
	}
	since := realSince()
	f, _ := scenario.FamilyNamed("good")
	p := testenv.NewPrometheus(t, testenv.PrometheusOptions{History: string(f.Spec(1).History(since).OpenMetrics())})
	var out bytes.Buffer
	st := realStage(t, checks, p.URL(), since, &out)
	pl := realPlan()
	_, err = st.Run(context.Background(), pl)
	if outcome.KindOf(err) != outcome.Usage {
		t.Fatalf("err = %v (%s), want exit 2", err, outcome.KindOf(err))
	}
	for _, want := range []string{`check "wrong-type": query: Prometheus rejected`, "range vector"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("err %q lacks %q", err, want)
		}
	}
	if pl.Verification != nil || strings.Contains(out.String(), "verdict") {
		t.Errorf("a rejected query must stop the run before any verdict:\n%s", out.String())
	}
}

// A verify replayed long after its window (--since an hour ago) judges the
// newest complete window, not the old one: a slow leak that still looked
// fine in its first ten minutes has grown by the time of the verdict, and a
// green that stopped reporting since does not pass on its old data.
func TestVerifyReal_StaleWindowJudgesTheNewestData(t *testing.T) {
	t.Parallel()
	checks := benchChecks(t)
	t.Run("leak that grew since", func(t *testing.T) {
		t.Parallel()
		f, _ := scenario.FamilyNamed("slow-leak")
		spec := f.Spec(5) // passes on its first ten minutes (see the benchmark)
		now := time.Now().Truncate(time.Minute)
		since := now.Add(-30 * time.Minute)
		first := spec.History(since).Memory()
		old := &verify.Stage{Checks: checks, Prom: first, Source: "memory", Since: since, Out: &bytes.Buffer{}, Log: slog.New(slog.DiscardHandler), Now: replayAt(since)}
		if rep, err := old.Verify(context.Background(), target); err != nil || rep.Verdict != verify.Pass {
			t.Fatalf("the first ten minutes should pass (the premise): %v %v", rep, err)
		}
		spec.Window = 30 * time.Minute // the history goes on up to now
		h := spec.History(since)
		p := testenv.NewPrometheus(t, testenv.PrometheusOptions{History: string(h.OpenMetrics())})
		var out bytes.Buffer
		st := realStage(t, checks, p.URL(), since, &out)
		st.Now = func() time.Time { return now.Add(15 * time.Second) }
		rep, err := st.Run(context.Background(), realPlan())
		if rep == nil || rep.Verdict != verify.Fail || outcome.KindOf(err) != outcome.Negative {
			t.Fatalf("verdict %v, err %v, want fail on the newest window\n%s", rep, err, out.String())
		}
		want := "judging the most recent complete window instead, " + now.Add(-10*time.Minute).UTC().Format(time.RFC3339) + " to " + now.UTC().Format(time.RFC3339)
		if !strings.Contains(out.String(), want) {
			t.Errorf("the log should say %q:\n%s", want, out.String())
		}
		if rep.DecidedAt.Before(now.Add(-10 * time.Minute)) {
			t.Errorf("decided on data up to %s, before the newest window", rep.DecidedAt)
		}
	})
	t.Run("green that stopped reporting", func(t *testing.T) {
		t.Parallel()
		since := realSince()
		f, _ := scenario.FamilyNamed("good")
		p := testenv.NewPrometheus(t, testenv.PrometheusOptions{History: string(f.Spec(1).History(since).OpenMetrics())})
		var out bytes.Buffer
		st := realStage(t, checks, p.URL(), since, &out)
		st.Now = time.Now
		rep, err := st.Run(context.Background(), realPlan())
		if rep == nil || rep.Verdict == verify.Pass || err == nil {
			t.Fatalf("verdict %v, err %v: a window an hour old must not pass on its old data\n%s", rep, err, out.String())
		}
		if !strings.Contains(out.String(), "no data") || !strings.Contains(out.String(), "judging the most recent complete window") {
			t.Errorf("the log should say why:\n%s", out.String())
		}
	})
}
