package verify_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"sort"
	"strings"
	"testing"
	"time"

	"gitlab.com/platform/bluegreen/internal/plan"
	"gitlab.com/platform/bluegreen/internal/prom"
	"gitlab.com/platform/bluegreen/internal/verify"
	"gitlab.com/platform/bluegreen/internal/verify/scenario"
)

// The decision-quality harness: every family × seed runs through the real
// verify engine (Stage.Verify, fed by the in-memory source) and through the
// Argo Rollouts reference rule on the same per-interval values.

// contender is one decision rule's result on one scenario.
type contender struct {
	verdict string        // pass, fail, inconclusive, error (Argo's Error phase)
	ttd     time.Duration // for a fail: decision time minus the truth's onset
}

type trial struct {
	spec      scenario.Spec
	bluegreen contender
	argo      map[int]contender // by failureLimit
}

// argoLimits are the reference configurations: Argo's default failureLimit
// (0) and its documentation's example (3).
var argoLimits = []int{0, 3}

var benchSince = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

func runTrial(tb testing.TB, checks *verify.Checks, f scenario.Family, seed uint64) trial {
	tb.Helper()
	spec := f.Spec(seed)
	h := spec.History(benchSince)
	mem := h.Memory()
	tr := trial{spec: spec, argo: map[int]contender{}}
	st := &verify.Stage{
		Checks: checks, Prom: mem, Source: "memory", Since: benchSince,
		Out: io.Discard, Log: slog.New(slog.DiscardHandler),
		Now: func() time.Time { return benchSince.Add(10 * time.Minute) }, // the whole window is history, as it ends now
	}
	rep, err := st.Verify(context.Background(), verify.Target{App: scenario.App, Namespace: scenario.Namespace, Color: plan.Green, Live: plan.Blue})
	if err != nil {
		tb.Fatalf("%s seed %d: %v", f.Name, seed, err)
	}
	tr.bluegreen = contender{verdict: string(rep.Verdict)}
	if rep.Verdict == verify.Fail {
		tr.bluegreen.ttd = rep.DecidedAt.Sub(benchSince) - spec.Onset
	}
	ms := argoMeasurements(tb, checks, mem)
	for _, fl := range argoLimits {
		tr.argo[fl] = argoRun(ms, fl, spec.Onset)
	}
	return tr
}

// argoMeasurements evaluates each check's query per interval, as an Argo
// AnalysisTemplate with the same query would: error-rate with
// successCondition result[0] <= 0.01; latency as one query, green/blue, with
// successCondition result[0] <= 1.2 (Argo has no built-in baseline).
func argoMeasurements(tb testing.TB, checks *verify.Checks, mem *scenario.Memory) [][]scenario.Measurement {
	tb.Helper()
	var all [][]scenario.Measurement
	for _, c := range checks.Checks {
		var ms []scenario.Measurement
		for k := 1; k <= c.Intervals(); k++ {
			at := benchSince.Add(time.Duration(k) * c.Interval)
			g, gok := valueAt(tb, mem, c, plan.Green, at)
			if c.Compare == nil {
				ms = append(ms, scenario.Measure(g, gok, *c.Max, true))
				continue
			}
			b, bok := valueAt(tb, mem, c, plan.Blue, at)
			ms = append(ms, scenario.Measure(g/b, gok && bok, 1+c.Compare.MaxIncrease.Value, true))
		}
		all = append(all, ms)
	}
	return all
}

func valueAt(tb testing.TB, mem *scenario.Memory, c *verify.Check, color plan.Color, at time.Time) (float64, bool) {
	q, err := c.Render(scenario.App, scenario.Namespace, color, c.Interval)
	if err != nil {
		tb.Fatal(err)
	}
	res, err := mem.Query(context.Background(), q, at)
	if errors.Is(err, prom.ErrNoData) {
		return 0, false
	}
	if err != nil {
		tb.Fatal(err)
	}
	return res.Series[0].Points[0].V, true
}

// argoRun is an AnalysisRun with one metric per check: it ends at the first
// metric that fails or errors; otherwise it succeeds.
func argoRun(ms [][]scenario.Measurement, failureLimit int, onset time.Duration) contender {
	rule := scenario.ArgoRule{Interval: time.Minute, Count: 10, FailureLimit: failureLimit, ConsecutiveErrorLimit: 4, InitialDelay: time.Minute}
	best := scenario.ArgoOutcome{Phase: "Successful"}
	for _, m := range ms {
		o := rule.Assess(m)
		if o.Phase != "Successful" && (best.Phase == "Successful" || o.At < best.At) {
			best = o
		}
	}
	switch best.Phase {
	case "Failed":
		return contender{verdict: "fail", ttd: best.At - onset}
	case "Error":
		return contender{verdict: "error"}
	}
	return contender{verdict: "pass"}
}

// familyStats summarises one family for one contender.
type familyStats struct {
	verdicts map[string]int
	ttds     []time.Duration
	n        int
}

func (s *familyStats) add(c contender) {
	if s.verdicts == nil {
		s.verdicts = map[string]int{}
	}
	s.verdicts[c.verdict]++
	s.n++
	if c.verdict == "fail" {
		s.ttds = append(s.ttds, c.ttd)
	}
}

func (s *familyStats) verdictText() string {
	var parts []string
	for _, v := range []string{"fail", "pass", "inconclusive", "error"} {
		if n := s.verdicts[v]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", v, n))
		}
	}
	return strings.Join(parts, ", ")
}

func median(ds []time.Duration) (time.Duration, bool) {
	if len(ds) == 0 {
		return 0, false
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	if len(s)%2 == 1 {
		return s[len(s)/2], true
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2, true
}

func medianText(ds []time.Duration) string {
	m, ok := median(ds)
	if !ok {
		return "–"
	}
	return m.Round(time.Second).String()
}

// quality is the whole benchmark's result.
type quality struct {
	families []scenario.Family
	seeds    int
	stats    map[string]map[string]*familyStats // family → contender → stats
	trials   []trial
}

var contenders = []string{"bluegreen", "argo-fl3", "argo-fl0"}

func argoKey(fl int) string { return fmt.Sprintf("argo-fl%d", fl) }

func runQuality(tb testing.TB, first, seeds int) *quality {
	tb.Helper()
	checks, err := verify.ParseChecks("scenario.ChecksYAML", []byte(scenario.ChecksYAML))
	if err != nil {
		tb.Fatal(err)
	}
	q := &quality{families: scenario.Families, seeds: seeds, stats: map[string]map[string]*familyStats{}}
	for _, f := range scenario.Families {
		q.stats[f.Name] = map[string]*familyStats{}
		for _, c := range contenders {
			q.stats[f.Name][c] = &familyStats{}
		}
		for seed := first; seed < first+seeds; seed++ {
			tr := runTrial(tb, checks, f, uint64(seed))
			q.trials = append(q.trials, tr)
			q.stats[f.Name]["bluegreen"].add(tr.bluegreen)
			for _, fl := range argoLimits {
				q.stats[f.Name][argoKey(fl)].add(tr.argo[fl])
			}
		}
	}
	return q
}

// pooled gathers a contender's results over every family with a truth.
func (q *quality) pooled(contender string, truth scenario.Truth) *familyStats {
	all := &familyStats{verdicts: map[string]int{}}
	for _, f := range q.families {
		if f.Truth != truth {
			continue
		}
		s := q.stats[f.Name][contender]
		for v, n := range s.verdicts {
			all.verdicts[v] += n
		}
		all.n += s.n
		all.ttds = append(all.ttds, s.ttds...)
	}
	return all
}

// Markdown is the benchmark's table.
func (q *quality) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "| family | truth | seeds | bluegreen | TTD | Argo failureLimit 3 | TTD | Argo failureLimit 0 | TTD |\n")
	fmt.Fprintf(&b, "|---|---|---|---|---|---|---|---|---|\n")
	for _, f := range q.families {
		s := q.stats[f.Name]
		fmt.Fprintf(&b, "| %s | %s | %d |", f.Name, f.Truth, q.seeds)
		for _, c := range contenders {
			fmt.Fprintf(&b, " %s | %s |", s[c].verdictText(), medianText(s[c].ttds))
		}
		b.WriteString("\n")
	}
	b.WriteString("\n| summary | bluegreen | Argo failureLimit 3 | Argo failureLimit 0 |\n|---|---|---|---|\n")
	row := func(name string, f func(c string) string) {
		fmt.Fprintf(&b, "| %s |", name)
		for _, c := range contenders {
			fmt.Fprintf(&b, " %s |", f(c))
		}
		b.WriteString("\n")
	}
	row("bad greens detected", func(c string) string {
		s := q.pooled(c, scenario.Bad)
		return fmt.Sprintf("%d/%d (%.0f%%)", s.verdicts["fail"], s.n, 100*float64(s.verdicts["fail"])/float64(s.n))
	})
	row("median time to detect", func(c string) string { return medianText(q.pooled(c, scenario.Bad).ttds) })
	row("good greens failed (false failures)", func(c string) string {
		s := q.pooled(c, scenario.Good)
		return fmt.Sprintf("%d/%d", s.verdicts["fail"], s.n)
	})
	row("good greens not passed", func(c string) string {
		s := q.pooled(c, scenario.Good)
		return fmt.Sprintf("%d/%d", s.n-s.verdicts["pass"], s.n)
	})
	row("no data / no baseline that passed", func(c string) string {
		a, b := q.pooled(c, scenario.NoData), q.pooled(c, scenario.NoBaseline)
		return fmt.Sprintf("%d/%d", a.verdicts["pass"]+b.verdicts["pass"], a.n+b.n)
	})
	return b.String()
}

// speedup is the reference's pooled median time to detect over bluegreen's.
func (q *quality) speedup(ref string) float64 {
	bg, _ := median(q.pooled("bluegreen", scenario.Bad).ttds)
	rf, _ := median(q.pooled(ref, scenario.Bad).ttds)
	if bg <= 0 {
		return math.Inf(1)
	}
	return float64(rf) / float64(bg)
}
