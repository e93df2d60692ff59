package cli

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
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
waited for. A clear or rising breach fails at once; a pass needs the whole
window; no data is never a pass. A check is critical (its failure fails the
run) or has a weight: weighted checks pass together when the weight that
passed reaches the file's pass-score (default 75%). See internal/verify/README.md
for the file and the rule.

Writes a table to the job log, <out>/verify.junit.xml, the values into
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
	checks, err := verify.LoadChecks(cfg.Checks)
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
	client, err := prom.New(prom.Config{
		URL: cfg.PrometheusURL, Token: cfg.PrometheusToken, Timeout: cfg.PrometheusTimeout,
		Retry: prom.Retry{Attempts: cfg.PrometheusRetries, Base: prom.DefaultRetry.Base, Cap: prom.DefaultRetry.Cap},
	})
	if err != nil {
		return outcome.Usagef("--prometheus (BG_PROMETHEUS_URL): %w", err)
	}
	stage := &verify.Stage{
		Checks: checks, Prom: client, Source: client.String(), Since: since, Settle: cfg.Settle,
		OutDir: cfg.OutDir, JobURL: cfg.CI.JobURL, Out: env.Stdout, Log: log, Now: env.Now,
	}
	start := env.Now()
	rep, stageErr := stage.Run(ctx, p)
	if err := writeVerifyResult(cfg.OutDir, rep); err != nil && stageErr == nil {
		stageErr = outcome.Externalf("write %s: %w", plan.DotenvName, err)
	}
	if !fromDisk {
		return stageErr
	}
	return finish(ctx, env, log, cfg.Notify, cfg.CI, cfg.OutDir, p, verify.StageName, start, stageErr)
}

// verifyPlan loads BG_OUT/plan.json, or builds a plan from the flags when
// there is none (it is then not saved). Flags override the plan's colours.
func verifyPlan(cfg *config.Verify) (*plan.Plan, bool, error) {
	var p *plan.Plan
	fromDisk := cfg.HasPlan()
	if fromDisk {
		var err error
		if p, err = loadPlan(cfg.OutDir, cfg.App); err != nil {
			return nil, false, err
		}
	} else {
		p = &plan.Plan{Schema: plan.SchemaVersion, App: cfg.App}
	}
	if cfg.Namespace != "" {
		p.Namespace = cfg.Namespace
	}
	if cfg.TargetColor != "" {
		p.TargetColor = plan.Color(cfg.TargetColor)
	}
	if cfg.LiveColor != "" {
		p.LiveColor = plan.Color(cfg.LiveColor)
	}
	if p.Namespace == "" {
		p.Namespace = "default"
	}
	if p.TargetColor == p.LiveColor || (p.TargetColor != plan.Blue && p.TargetColor != plan.Green) {
		return nil, false, outcome.Usagef("target colour %q against live colour %q: verify needs the release's colour, blue or green, and a different live colour (or none)", p.TargetColor, p.LiveColor)
	}
	return p, fromDisk, nil
}

// observationStart is --since, else when sync last finished, else when the
// plan was made, else now.
func observationStart(env *Env, cfg *config.Verify, p *plan.Plan, fromDisk bool) (time.Time, error) {
	now := env.Now()
	at, ok, err := cfg.SinceAt(now)
	switch {
	case err != nil:
		return time.Time{}, outcome.Usagef("--since (BG_SINCE): %w", err)
	case ok:
		fmt.Fprintf(env.Stdout, "observation starts at %s (--since)\n", at.UTC().Format(time.RFC3339))
		return at, nil
	case !fromDisk:
		fmt.Fprintf(env.Stdout, "observation starts now, %s (no plan.json and no --since)\n", now.UTC().Format(time.RFC3339))
		return now, nil
	}
	if r, ok := p.Last("sync"); ok && !r.Finished.IsZero() {
		fmt.Fprintf(env.Stdout, "observation starts at %s, when sync finished (plan.json)\n", r.Finished.UTC().Format(time.RFC3339))
		return r.Finished, nil
	}
	fmt.Fprintf(env.Stdout, "observation starts at %s, when the plan was made (plan.json has no sync)\n", p.CreatedAt.UTC().Format(time.RFC3339))
	return p.CreatedAt, nil
}

// verifyResultKey is the dotenv variable later jobs read.
const verifyResultKey = "BG_VERIFY_RESULT"

// writeVerifyResult merges BG_VERIFY_RESULT into BG_OUT/bluegreen.env,
// keeping the keys earlier stages wrote. A run without a verdict (an error)
// removes a stale result rather than leave one behind.
func writeVerifyResult(dir string, rep *verify.Report) error {
	path := filepath.Join(dir, plan.DotenvName)
	vars := map[string]string{}
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return err
	default:
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
				vars[strings.TrimSpace(k)] = v
			}
		}
	}
	if rep == nil || rep.Verdict == "" {
		if _, had := vars[verifyResultKey]; !had {
			return nil
		}
		delete(vars, verifyResultKey)
	} else {
		vars[verifyResultKey] = string(rep.Verdict)
	}
	out, err := plan.Dotenv(vars)
	if err != nil {
		return err
	}
	return plan.WriteFileAtomic(path, out)
}
