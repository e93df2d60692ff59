package verify_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"gitlab.com/platform/bluegreen/internal/outcome"
	"gitlab.com/platform/bluegreen/internal/plan"
	"gitlab.com/platform/bluegreen/internal/prom"
	"gitlab.com/platform/bluegreen/internal/verify"
	"gitlab.com/platform/bluegreen/internal/verify/scenario"
)

// recorder wraps a Querier and counts what the engine asks, optionally
// failing some queries.
type recorder struct {
	verify.Querier
	mu      sync.Mutex
	instant int
	ranges  []prom.Range
	fail    func(q string) error
	warn    string
}

func (r *recorder) Query(ctx context.Context, q string, t time.Time) (prom.Result, error) {
	r.mu.Lock()
	r.instant++
	r.mu.Unlock()
	if r.fail != nil {
		if err := r.fail(q); err != nil {
			return prom.Result{}, err
		}
	}
	res, err := r.Querier.Query(ctx, q, t)
	if r.warn != "" {
		res.Warnings = append(res.Warnings, r.warn)
	}
	return res, err
}

func (r *recorder) QueryRange(ctx context.Context, q string, rg prom.Range) (prom.Result, error) {
	r.mu.Lock()
	r.ranges = append(r.ranges, rg)
	r.mu.Unlock()
	if r.fail != nil {
		if err := r.fail(q); err != nil {
			return prom.Result{}, err
		}
	}
	return r.Querier.QueryRange(ctx, q, rg)
}

// fakeClock is a clock whose Wait moves time forward instead of sleeping.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	waits []time.Duration
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Wait(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.waits = append(c.waits, d)
	c.now = c.now.Add(d)
	return nil
}

var target = verify.Target{App: scenario.App, Namespace: scenario.Namespace, Color: plan.Green, Live: plan.Blue}

func benchChecks(t *testing.T) *verify.Checks {
	t.Helper()
	cs, err := verify.ParseChecks("checks.yaml", []byte(scenario.ChecksYAML))
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// replayed is the clock when the window has just ended: all of it is
// history, and it is the newest window (a later clock judges a later one).
const replayed = 10 * time.Minute

// stageFor builds a stage over a family's seed-1 history, with the clock at
// now (relative to the window start).
func stageFor(t *testing.T, family string, seed uint64, now time.Duration) (*verify.Stage, *recorder, *fakeClock, *bytes.Buffer) {
	t.Helper()
	f, ok := scenario.FamilyNamed(family)
	if !ok {
		t.Fatalf("no family %s", family)
	}
	rec := &recorder{Querier: f.Spec(seed).History(benchSince).Memory()}
	clock := &fakeClock{now: benchSince.Add(now)}
	var out bytes.Buffer
	return &verify.Stage{
		Checks: benchChecks(t), Prom: rec, Source: "memory", Since: benchSince,
		Out: &out, Log: slog.New(slog.DiscardHandler), Now: clock.Now, Wait: clock.Wait,
	}, rec, clock, &out
}

func checkReport(t *testing.T, rep *verify.Report, name string) verify.CheckReport {
	t.Helper()
	for _, c := range rep.Checks {
		if c.Check.Name == name {
			return c
		}
	}
	t.Fatalf("no check %s in the report", name)
	return verify.CheckReport{}
}

func TestVerify_Verdicts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		family    string
		want      verify.Verdict
		decidedBy time.Duration // at the latest, from the window start; a pass exactly at the window's end
		check     string
		checkWant verify.Verdict
		reason    string
	}{
		{"good", verify.Pass, 10 * time.Minute, "latency-p99", verify.Pass, "within the limit over the whole window"},
		{"bad-error-rate", verify.Fail, 2 * time.Minute, "error-rate", verify.Fail, "clear breach: the last 2 intervals breach"},
		{"latency-regression", verify.Fail, 3 * time.Minute, "latency-p99", verify.Fail, "clear breach"},
		{"no-traffic", verify.Fail, 3 * time.Minute, "error-rate", verify.Fail, "returned NaN for green (0/0: green had no traffic)"},
		{"no-series", verify.Fail, 3 * time.Minute, "error-rate", verify.Fail, "no series for green"},
		{"blue-missing", verify.Inconclusive, 3 * time.Minute, "latency-p99", verify.Inconclusive, "comparison impossible: the live colour blue had no usable value"},
	}
	for _, tt := range tests {
		t.Run(tt.family, func(t *testing.T) {
			t.Parallel()
			st, _, _, _ := stageFor(t, tt.family, 1, replayed)
			rep, err := st.Verify(context.Background(), target)
			if err != nil {
				t.Fatal(err)
			}
			late := rep.DecidedAt.After(benchSince.Add(tt.decidedBy))
			if rep.Verdict != tt.want || late || rep.Verdict == verify.Pass && !rep.DecidedAt.Equal(benchSince.Add(tt.decidedBy)) {
				t.Fatalf("verdict %s decided at +%s, want %s at +%s (%s)", rep.Verdict, rep.DecidedAt.Sub(benchSince), tt.want, tt.decidedBy, rep.Reason)
			}
			c := checkReport(t, rep, tt.check)
			if c.Verdict != tt.checkWant || !strings.Contains(c.Reason, tt.reason) {
				t.Errorf("%s: %s %q, want %s containing %q", tt.check, c.Verdict, c.Reason, tt.checkWant, tt.reason)
			}
			if (rep.Verdict == verify.Pass) != (rep.Err() == nil) || rep.Verdict != verify.Pass && outcome.KindOf(rep.Err()) != outcome.Negative {
				t.Errorf("Err() = %v for %s", rep.Err(), rep.Verdict)
			}
		})
	}
}

func TestVerify_FailsEarlyOnClearBreachAndStopsTheOthers(t *testing.T) {
	t.Parallel()
	st, rec, _, out := stageFor(t, "bad-error-rate", 3, replayed)
	rep, err := st.Verify(context.Background(), target)
	if err != nil {
		t.Fatal(err)
	}
	errRate, lat := checkReport(t, rep, "error-rate"), checkReport(t, rep, "latency-p99")
	if errRate.Verdict != verify.Fail || errRate.Observed != 2*time.Minute || len(errRate.Values) != 2 {
		t.Errorf("error-rate: %s over %s with %d values", errRate.Verdict, errRate.Observed, len(errRate.Values))
	}
	if !strings.Contains(errRate.Query, "[2m]") {
		t.Errorf("the decisive query should cover the 2m run: %s", errRate.Query)
	}
	if lat.Verdict != verify.Undecided || !strings.Contains(lat.Reason, "error-rate was fail") {
		t.Errorf("latency-p99: %s %q, want undecided because error-rate failed", lat.Verdict, lat.Reason)
	}
	// The whole window is history: one range query per colour per check,
	// never a wait.
	if len(rec.ranges) == 0 || rec.instant > 40 {
		t.Errorf("queries: %d range, %d instant", len(rec.ranges), rec.instant)
	}
	if strings.Contains(out.String(), "waiting") {
		t.Errorf("waited for history:\n%s", out)
	}
}

func TestVerify_WaitsOnlyForFutureIntervals(t *testing.T) {
	t.Parallel()
	// The clock stands 3m30s into the window: three intervals are history,
	// seven are in the future.
	st, rec, clock, out := stageFor(t, "good", 1, 3*time.Minute+30*time.Second)
	st.Settle = 10 * time.Second
	rep, err := st.Verify(context.Background(), target)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Verdict != verify.Pass {
		t.Fatalf("verdict %s: %s", rep.Verdict, rep.Reason)
	}
	if len(clock.waits) != 7 {
		t.Errorf("waited %d times (%v), want once per future interval (7)", len(clock.waits), clock.waits)
	}
	if clock.waits[0] != 40*time.Second { // to 4m + 10s settle
		t.Errorf("first wait %s, want 40s", clock.waits[0])
	}
	first := rec.ranges[0]
	if !first.Start.Equal(benchSince.Add(time.Minute)) || !first.End.Equal(benchSince.Add(3*time.Minute)) || first.Step != time.Minute {
		t.Errorf("history should come in one range query over the first three intervals, got %+v", first)
	}
	if got := strings.Count(out.String(), "waiting "); got != 7 {
		t.Errorf("%d waiting lines, want 7:\n%s", got, out)
	}
}

func TestVerify_StopsWaitingWhenCancelled(t *testing.T) {
	t.Parallel()
	st, _, _, _ := stageFor(t, "good", 1, 30*time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := st.Verify(ctx, target)
	if outcome.KindOf(err) != outcome.External {
		t.Fatalf("err = %v, want an external error (exit 3)", err)
	}
}

func TestVerify_QueryFailuresAreNeverVerdicts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		kind outcome.Kind
		msg  string
	}{
		{"prometheus down", fmt.Errorf("%w: connection refused", prom.ErrUnavailable), outcome.External, `check "error-rate": prometheus unavailable`},
		{"query rejected", fmt.Errorf("%w: parse error", prom.ErrBadQuery), outcome.Usage, `check "error-rate": query: Prometheus rejected`},
		{"token refused", fmt.Errorf("%w (HTTP 401): check BG_PROMETHEUS_TOKEN", prom.ErrUnauthorized), outcome.Usage, "BG_PROMETHEUS_TOKEN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st, rec, _, _ := stageFor(t, "good", 1, replayed)
			rec.fail = func(string) error { return tt.err }
			rep, err := st.Verify(context.Background(), target)
			if outcome.KindOf(err) != tt.kind || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("err = %v (kind %s), want kind %s containing %q", err, outcome.KindOf(err), tt.kind, tt.msg)
			}
			if rep == nil || rep.Verdict != "" {
				t.Fatalf("a failed query must give no verdict, got %+v", rep)
			}
			if rec.instant != 1 || len(rec.ranges) != 0 {
				t.Errorf("the preflight's first query should stop the run: %d instant, %d range", rec.instant, len(rec.ranges))
			}
		})
	}
}

func TestVerify_FailsOnAQueryWithManySeries(t *testing.T) {
	t.Parallel()
	st, _, _, _ := stageFor(t, "good", 1, replayed)
	st.Prom = manySeries{}
	_, err := st.Verify(context.Background(), target)
	if outcome.KindOf(err) != outcome.Usage || !strings.Contains(err.Error(), `check "error-rate": query:`) || !strings.Contains(err.Error(), "returns 2 series") {
		t.Fatalf("err = %v", err)
	}
}

type manySeries struct{}

func (manySeries) Query(context.Context, string, time.Time) (prom.Result, error) {
	p := []prom.Point{{T: benchSince, V: 1}}
	return prom.Result{Series: []prom.Series{{Labels: `{code="200"}`, Points: p}, {Labels: `{code="500"}`, Points: p}}}, nil
}

func (manySeries) QueryRange(context.Context, string, prom.Range) (prom.Result, error) {
	return prom.Result{}, errors.New("not reached")
}

func TestVerify_KeepsWarningsApartFromData(t *testing.T) {
	t.Parallel()
	st, rec, _, _ := stageFor(t, "good", 1, replayed)
	rec.warn = "PromQL info: metric might not be a counter"
	rep, err := st.Verify(context.Background(), target)
	if err != nil || rep.Verdict != verify.Pass {
		t.Fatalf("verdict %s, err %v: a warning must not change the data", rep.Verdict, err)
	}
	c := checkReport(t, rep, "error-rate")
	if len(c.Warnings) != 1 || c.Warnings[0] != rec.warn {
		t.Errorf("warnings = %q, want the one warning once", c.Warnings)
	}
}

func TestVerify_FirstReleaseSkipsTheComparison(t *testing.T) {
	t.Parallel()
	st, _, _, _ := stageFor(t, "good", 1, replayed)
	first := target
	first.Live = plan.None
	rep, err := st.Verify(context.Background(), first)
	if err != nil {
		t.Fatal(err)
	}
	if c := checkReport(t, rep, "latency-p99"); c.Verdict != verify.Skipped {
		t.Errorf("latency-p99: %s, want skipped", c.Verdict)
	}
	if rep.Verdict != verify.Pass {
		t.Errorf("verdict %s (%s), want pass on the absolute check alone", rep.Verdict, rep.Reason)
	}
}

func TestVerify_NoDataCanBeInconclusiveButNeverPasses(t *testing.T) {
	t.Parallel()
	st, _, _, _ := stageFor(t, "no-traffic", 1, replayed)
	cs, err := verify.ParseChecks("checks.yaml", []byte(strings.Replace(scenario.ChecksYAML, "window: 10m", "window: 10m\nno-data: inconclusive", 1)))
	if err != nil {
		t.Fatal(err)
	}
	st.Checks = cs
	rep, err := st.Verify(context.Background(), target)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Verdict != verify.Inconclusive || outcome.KindOf(rep.Err()) != outcome.Negative {
		t.Fatalf("verdict %s, Err %v: want inconclusive, exit 1", rep.Verdict, rep.Err())
	}
}
