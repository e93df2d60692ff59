package cli

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"gitlab.com/platform/bluegreen/internal/config"
	"gitlab.com/platform/bluegreen/internal/outcome"
	"gitlab.com/platform/bluegreen/internal/plan"
	"gitlab.com/platform/bluegreen/internal/prom"
	"gitlab.com/platform/bluegreen/internal/verify"
)

func verifyCommand() *command {
	return &command{
		name:    "verify",
		summary: "run the PromQL checks on the target colour, absolutely and against the live colour: pass, fail or inconclusive",
		about: `Runs the checks file's PromQL queries (--checks) against the target colour
over each check's window, which starts when green's observation starts
(--since; by default when sync finished, from plan.json). Intervals already in
the past are judged at once from Prometheus's history; only future ones are
waited for. A window that ended more than an interval ago is not judged: the
most recent complete window, ending now, is (the log says so). A clear or
rising breach fails at once; a pass needs a value in every interval of the
whole window; no data is never a pass. Checks with when: after-switch are
left to monitor. A check is critical (its failure fails the
run) or has a weight: weighted checks pass together when the weight that
passed reaches the file's pass-score (default 75%). See internal/verify/README.md
for the file and the rule.

Writes a table to the job log, <out>/verification.html (a chart per check:
green and blue per interval, the limit, the deciding interval),
<out>/verify.junit.xml, the values into
<out>/plan.json (when there is one), and BG_VERIFY_RESULT=pass|fail|inconclusive
into <out>/bluegreen.env. Without a plan.json, --app, --namespace,
--target-color and --live-color are required.

Exit 0 pass; 1 fail or inconclusive; 2 a bad checks file or a query Prometheus
rejects (naming the check and the field); 3 Prometheus unreachable or failing
(never a pass or a fail: retry the job). BG_PROMETHEUS_TOKEN, when set, is sent
as a bearer token.`,
		newConfig: func() validator { return &config.Verify{} },
		run:       runVerify,
	}
}

func runVerify(ctx context.Context, env *Env, log *slog.Logger, c any) error {
	cfg := c.(*config.Verify)
	if err := checkNotify(cfg.Notify); err != nil {
		return err
	}
	checks, err := loadChecks(cfg.Checks, verify.BeforeSwitch)
	if err != nil {
		return err
	}
	p, fromDisk, err := verifyPlan(cfg)
	if err != nil {
		return err
	}
	since, err := observationStart(env, cfg, p, fromDisk)
	if err != nil {
		return err
	}
	client, err := newProm(cfg.Prometheus)
	if err != nil {
		return err
	}
	stage := &verify.Stage{
		Checks: checks, Prom: client, Source: client.String(), Since: since, Settle: cfg.Settle,
		OutDir: cfg.OutDir, JobURL: cfg.CI.JobURL, Out: env.Stdout, Log: log, Now: env.Now,
	}
	rec := newRecord(env, log, cfg.Notify, cfg.CI, cfg.OutDir, p, plan.Verify)
	rep, stageErr := stage.Run(ctx, p)
	if err := writeVerifyResult(cfg.OutDir, rep); err != nil && stageErr == nil {
		stageErr = outcome.Local(fmt.Errorf("write %s: %w", plan.DotenvName, err))
	}
	if err := writeReport(cfg.OutDir, rep, p.Verification); err != nil && stageErr == nil {
		stageErr = err
	}
	if !fromDisk {
		return stageErr
	}
	return rec.finish(ctx, stageErr)
}

// loadChecks loads the checks file and keeps the checks that run in phase:
// before the switch for verify, after it for monitor.
func loadChecks(path string, phase verify.Phase) (*verify.Checks, error) {
	all, err := verify.LoadChecks(path)
	if err != nil {
		return nil, err
	}
	checks := all.For(phase)
	if checks == nil {
		return nil, outcome.Usagef("checks file %s: no check runs %s: every check says otherwise with when: (verify runs before-switch and always checks, monitor after-switch and always)", path, map[verify.Phase]string{verify.BeforeSwitch: "before the switch", verify.AfterSwitch: "after the switch"}[phase])
	}
	return checks, nil
}

// newProm is the Prometheus client of verify and monitor.
func newProm(cfg config.Prometheus) (*prom.Client, error) {
	client, err := prom.New(prom.Config{
		URL: cfg.PrometheusURL, Token: cfg.PrometheusToken, Timeout: cfg.PrometheusTimeout,
		Retry: prom.Retry{Attempts: cfg.PrometheusRetries, Base: prom.DefaultRetry.Base, Cap: prom.DefaultRetry.Cap},
	})
	if err != nil {
		return nil, outcome.Usagef("--prometheus (BG_PROMETHEUS_URL): %w", err)
	}
	return client, nil
}

// verifyPlan loads BG_OUT/plan.json, or builds a plan from the flags when
// there is none (it is then not saved). With a plan, the flags must agree
// with it.
func verifyPlan(cfg *config.Verify) (*plan.Plan, bool, error) {
	var p *plan.Plan
	fromDisk := cfg.HasPlan()
	if fromDisk {
		var err error
		if p, err = loadPlan(cfg.OutDir, cfg.Common); err != nil {
			return nil, false, err
		}
	} else {
		p = &plan.Plan{Schema: plan.SchemaVersion, App: cfg.App}
	}
	if fromDisk {
		// The plan is the record every later mode acts on: a flag never
		// rewrites it, and one that disagrees is a mistake (a stale
		// dotenv, another job's artifacts). loadPlan checked --namespace.
		err := p.CheckFlags(filepath.Join(cfg.OutDir, plan.FileName),
			plan.Flag{Name: "--target-color (BG_TARGET_COLOR)", Field: "targetColor", Value: cfg.TargetColor},
			plan.Flag{Name: "--live-color (BG_LIVE_COLOR)", Field: "liveColor", Value: cfg.LiveColor})
		if err != nil {
			return nil, false, outcome.As(outcome.Usage, err)
		}
	} else {
		p.Namespace, p.TargetColor, p.LiveColor = cfg.Namespace, plan.Color(cfg.TargetColor), plan.Color(cfg.LiveColor)
	}
	if p.Namespace == "" {
		p.Namespace = "default"
	}
	if p.TargetColor == p.LiveColor || (p.TargetColor != plan.Blue && p.TargetColor != plan.Green) {
		return nil, false, outcome.Usagef("target colour %q against live colour %q: verify needs the release's colour, blue or green, and a different live colour (or none)", p.TargetColor, p.LiveColor)
	}
	return p, fromDisk, nil
}

// observationStart is --since, else what the plan says (verify.ObservationStart).
func observationStart(env *Env, cfg *config.Verify, p *plan.Plan, fromDisk bool) (time.Time, error) {
	now := env.Now()
	at, given, err := cfg.SinceAt(now)
	if err != nil {
		return time.Time{}, outcome.Usagef("--since (BG_SINCE): %w", err)
	}
	at, why := verify.ObservationStart(p, at, given, fromDisk, now)
	fmt.Fprintln(env.Stdout, why)
	return at, nil
}

// verifyResultKey is the dotenv variable later jobs read.
const verifyResultKey = "BG_VERIFY_RESULT"

// writeVerifyResult merges BG_VERIFY_RESULT into BG_OUT/bluegreen.env,
// keeping the keys earlier stages wrote. A run without a verdict (an error)
// removes a stale result rather than leave one behind.
func writeVerifyResult(dir string, rep *verify.Report) error {
	path := filepath.Join(dir, plan.DotenvName)
	if rep == nil || rep.Verdict == "" {
		return plan.MergeDotenv(path, nil, verifyResultKey)
	}
	return plan.MergeDotenv(path, map[string]string{verifyResultKey: string(rep.Verdict)})
}
