package cli

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"gitlab.com/platform/bluegreen/internal/config"
	"gitlab.com/platform/bluegreen/internal/outcome"
	"gitlab.com/platform/bluegreen/internal/plan"
	"gitlab.com/platform/bluegreen/internal/verify"
)

func monitorCommand() *command {
	return &command{
		name:    "monitor",
		summary: "watch the new live colour under real traffic after promote, and roll back by itself on a fail",
		about: `Runs right after promote. For --bake (default 10m, at most the rollback window
promote kept the old colour warm for) it judges the checks file's checks that
run after the switch (when: after-switch or always, the default) on the new
live colour, under its real traffic, from the moment of the switch. Each check
is judged over the whole bake at its own interval, by the same early-decision
rule as verify: a clear or rising breach decides at once. Comparisons with the
previous colour (compare: with: live) use its baseline: the same query over an
equal window that ended at the switch, since it has no traffic after it.

On a fail it rolls back at once through the fast path (a resourceVersion-
guarded patch of the active Services, proven by their EndpointSlices, then
the git + Argo CD reconcile, as rollback --now), records it in plan.json and
the Slack thread, and exits 1. On a pass it records "release confirmed" and
exits 0; the old colour stays warm until the end of the rollback window.
Inconclusive (no data for the live colour after the switch) is not a pass:
exit 1, and traffic stays where it is unless --on-inconclusive rollback.

Writes <out>/monitor.html (a chart per check: the live colour per interval
against its limit and the old colour's baseline), <out>/monitor.junit.xml and
the values into plan.json (monitor).
Exit 0 confirmed; 1 rolled back, or inconclusive; 2 a bad checks file, plan
or setting (nothing changed); 3 Prometheus unreachable (traffic unchanged:
retry the job) or the rollback could not be finished.

` + switchTokens,
		newConfig: func() validator { return &config.Monitor{} },
		run:       runMonitor,
	}
}

func runMonitor(ctx context.Context, env *Env, log *slog.Logger, c any) error {
	cfg := c.(*config.Monitor)
	if err := checkNotify(cfg.Notify); err != nil {
		return err
	}
	after, err := loadChecks(cfg.Checks, verify.AfterSwitch)
	if err != nil {
		return err
	}
	checks, err := after.Over(cfg.Bake)
	if err != nil {
		return outcome.Usagef("--bake (BG_BAKE): %w", err)
	}
	// After the switch, missing data says nothing about the release's
	// health (the scrape may be broken): it is inconclusive, whatever the
	// check's no-data says, and --on-inconclusive decides what it does.
	for _, c := range checks.Checks {
		c.NoData = verify.Inconclusive
	}
	p, err := loadPlan(cfg.OutDir, cfg.Common)
	if err != nil {
		return err
	}
	switchedAt, err := monitorStart(p, cfg.Bake)
	if err != nil {
		return err
	}
	client, err := newProm(cfg.Prometheus)
	if err != nil {
		return err
	}
	cl := newClients(cfg.Kubeconfig, cfg.GitLab, cfg.CI, log)
	defer cl.Close()
	rec := newRecord(env, log, cfg.Notify, cfg.CI, cfg.OutDir, p, plan.Monitor)
	rec.clients = cl
	// The rollback is built before the watch, so that a fail switches back
	// at once: the Kubernetes client and the GitLab client are ready, and
	// Argo CD is reached only to reconcile, after the switch.
	sw := monitorSwitch(cfg)
	back, err := switchStage(ctx, env, log, sw, cl, p, plan.Rollback)
	if err != nil {
		return err
	}
	stage := &verify.Stage{
		Name: plan.Monitor, Checks: checks, Prom: client, Source: client.String(), Since: switchedAt, Baseline: switchedAt,
		Settle: cfg.Settle, OutDir: cfg.OutDir, JobURL: cfg.CI.JobURL, Out: env.Stdout, Log: log, Now: env.Now,
	}
	release, previous := monitorSides(p)
	fmt.Fprintf(env.Stdout, "monitor: %s is live since %s; watching it for %s (until %s), then confirming the release\n",
		release, switchedAt.UTC().Format(time.RFC3339), cfg.Bake, switchedAt.Add(cfg.Bake).UTC().Format(time.RFC3339))
	rep, stageErr := stage.Run(ctx, p)
	if rep == nil || outcome.KindOf(stageErr) == outcome.Usage {
		return stageErr
	}
	m := p.Monitor
	m.Bake, m.Baseline = cfg.Bake.String(), switchedAt.UTC()
	if err := writeReport(cfg.OutDir, rep, &m.Verification); err != nil && stageErr == nil {
		stageErr = err
	}
	rollback := rep.Verdict == verify.Fail || rep.Verdict == verify.Inconclusive && cfg.OnInconclusive == "rollback"
	switch {
	case rep.Verdict == verify.Pass:
		m.Action = plan.MonitorConfirmed
		fmt.Fprintf(env.Stdout, "release confirmed: %s held under real traffic for %s; %s stays warm until the rollback window ends\n", release, cfg.Bake, previous)
	case rollback:
		decided := rep.DecidedAt
		fmt.Fprintf(env.Stdout, "monitor: %s: rolling back to %s now\n", rep.Verdict, previous)
		back.Why = fmt.Sprintf("monitor: %s under real traffic", rep.Verdict)
		if err := back.Rollback(ctx, p); err != nil {
			m.Action = plan.MonitorNone
			return rec.finish(ctx, outcome.As(outcome.External, fmt.Errorf("monitor: %s (%s), and the rollback to %s failed: %w; run the rollback job", rep.Verdict, rep.Reason, previous, err)))
		}
		at := env.Now().UTC()
		m.Action, m.RolledBackAt = plan.MonitorRolledBack, &at
		fmt.Fprintf(env.Stdout, "monitor: rolled back to %s %s after the data that decided it (%s)\n", previous, at.Sub(decided).Round(time.Millisecond), decided.Format(time.RFC3339))
		stageErr = outcome.Negativef("monitor: %s under real traffic (%s): rolled back to %s", rep.Verdict, rep.Reason, previous)
	case rep.Verdict == verify.Inconclusive:
		m.Action = plan.MonitorHeld
		stageErr = outcome.Negativef("monitor: inconclusive (%s): traffic stays on %s (--on-inconclusive hold); look at the release, then run the rollback job or re-run monitor", rep.Reason, release)
	default: // no verdict: Prometheus failed; traffic is left alone
		m.Action = plan.MonitorNone
	}
	return rec.finish(ctx, stageErr)
}

// monitorStart checks that the plan was promoted and is still live, and
// that the bake fits the rollback window; it returns the switch's time.
func monitorStart(p *plan.Plan, bake time.Duration) (time.Time, error) {
	last, ok := p.Last(plan.Promote)
	t := p.Traffic
	switch {
	case !ok || last.Outcome != outcome.OK.String() || t == nil:
		return time.Time{}, outcome.Usagef("plan.json has no finished promote: monitor watches the colour promote made live (run it after promote)")
	case t.Live != p.TargetColor:
		return time.Time{}, outcome.Usagef("plan.json: traffic is on %s, not on this release's %s (rolled back?): there is nothing to monitor", t.Live, p.TargetColor)
	}
	if !t.IdleUntil.IsZero() {
		if window := t.IdleUntil.Sub(t.SwitchedAt); bake > window {
			return time.Time{}, outcome.Usagef("--bake (BG_BAKE) %s is longer than the rollback window %s: the old colour would be gone before the bake ends (raise rollback-window on promote, or bake less)", bake, window)
		}
	}
	return t.SwitchedAt, nil
}

// monitorSides names, for monitor's lines, the release and what a rollback
// goes back to: colours, or a Rollout app's ReplicaSets (plan.json's
// workload.rollout).
func monitorSides(p *plan.Plan) (release, previous string) {
	if t, err := verify.TargetOf(p); err == nil && t.Rollout() {
		return "ReplicaSet " + t.Hash, "ReplicaSet " + t.LiveHash
	}
	return string(p.TargetColor), string(p.LiveColor)
}

// monitorSwitch is rollback --now with monitor's settings.
func monitorSwitch(cfg *config.Monitor) *config.Switch {
	return &config.Switch{
		Common: cfg.Common, Notify: cfg.Notify, GitOps: cfg.GitOps, ArgoCD: cfg.ArgoCD,
		Timeout: cfg.Timeout, Direct: cfg.Direct, Now: true, LockTTL: cfg.LockTTL,
		NoCapacityMatch: cfg.NoCapacityMatch, Drain: cfg.Drain,
	}
}
