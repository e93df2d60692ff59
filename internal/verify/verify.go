// Package verify is the verify stage: it runs the checks file's PromQL
// queries against the target colour, over a window that starts when green's
// observation starts, absolutely and against the live colour, and decides
// pass, fail or inconclusive (DESIGN.md §5).
//
// Intervals already in the past are judged at once from history with range
// queries; only future intervals are waited for. Each check is decided as
// soon as the evidence allows (see Rule and README.md): a clear or rising
// breach fails at once, a pass needs the whole window, and missing data is
// never a pass. The stage prints a table for the job log, writes
// verify.junit.xml, and records the values in the plan.
package verify

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"gitlab.com/platform/bluegreen/internal/outcome"
	"gitlab.com/platform/bluegreen/internal/plan"
)

// Run verifies the plan's target colour against its live colour: it prints
// the summary table, writes verify.junit.xml into OutDir and records the
// result in p.Verification and the ledger, and changes nothing else in p: the
// target is the plan's own. The error is the run's outcome: nil for a pass,
// outcome.Negative for fail and inconclusive, outcome.Usage for a target
// that is not a valid name (see Target.Validate) or a query Prometheus
// rejects (nothing recorded), outcome.External when Prometheus
// fails (recorded, with no verdict).
func (s *Stage) Run(ctx context.Context, p *plan.Plan) (*Report, error) {
	start := s.Now()
	t, err := TargetOf(p)
	if err != nil {
		return nil, err
	}
	if err := t.Validate(); err != nil {
		return nil, outcome.As(outcome.Usage, err) // before the app is printed or put in a query
	}
	sides := fmt.Sprintf("%s (target) against %s (live)", t.Color, t.Live)
	if t.Rollout() {
		sides = fmt.Sprintf("Rollout %s: new ReplicaSet %s (target) against stable %s (live)", p.Workload.Name, t.Hash, t.LiveHash)
		if !t.HasLive() {
			sides = fmt.Sprintf("Rollout %s: ReplicaSet %s (target), nothing to compare with (a first release)", p.Workload.Name, t.Hash)
		}
	}
	fmt.Fprintf(s.Out, "%s %s in %s: %d checks, %s, window from %s (%s ago)\n",
		s.stage(), t.App, t.Namespace, len(s.Checks.Checks), sides, s.Since.UTC().Format(time.RFC3339),
		shortDuration(s.Now().Sub(s.Since).Round(time.Second)))
	rep, err := s.Verify(ctx, t)
	if rep == nil || outcome.KindOf(err) == outcome.Usage {
		return rep, err
	}
	rep.PrintTable(s.Out)
	if s.OutDir != "" {
		data, jerr := rep.JUnit()
		if jerr == nil {
			jerr = plan.WriteFileAtomic(filepath.Join(s.OutDir, JUnitFile(s.stage())), data)
		}
		if jerr != nil {
			return rep, outcome.Local(fmt.Errorf("write the JUnit report: %w", jerr))
		}
	}
	rec := rep.Record()
	if s.stage() == plan.Monitor {
		if p.Monitor == nil {
			p.Monitor = &plan.Monitoring{Action: plan.MonitorNone}
		}
		p.Monitor.Verification = *rec
	} else {
		p.Verification = rec
	}
	if err == nil {
		err = rep.Err()
	}
	s.record(p, rep, rec, start, err)
	return rep, err
}

func (s *Stage) stage() plan.Stage {
	if s.Name == "" {
		return plan.Verify
	}
	return s.Name
}

// record appends the run to the plan's ledger.
func (s *Stage) record(p *plan.Plan, rep *Report, rec *plan.Verification, start time.Time, err error) {
	r := plan.Result{
		Stage: s.stage(), Outcome: outcome.KindOf(err).String(), Message: rep.Reason,
		Started: start.UTC(), Finished: s.Now().UTC(), JobURL: s.JobURL,
		Details: map[string]string{"result": rec.Result, "since": rep.Since.Format(time.RFC3339), "checks": fmt.Sprint(len(rep.Checks))},
	}
	if err != nil && rep.Verdict == "" {
		r.Message = err.Error()
	}
	if !rep.DecidedAt.IsZero() {
		r.Details["decidedAt"] = rep.DecidedAt.UTC().Format(time.RFC3339)
	}
	p.Append(r)
}
