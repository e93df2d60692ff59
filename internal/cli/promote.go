package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"time"

	"gitlab.com/platform/bluegreen/internal/config"
	"gitlab.com/platform/bluegreen/internal/gitops"
	"gitlab.com/platform/bluegreen/internal/kube"
	"gitlab.com/platform/bluegreen/internal/outcome"
	"gitlab.com/platform/bluegreen/internal/plan"
	"gitlab.com/platform/bluegreen/internal/traffic"
)

const switchTokens = `Tokens: BG_GITLAB_TOKEN (GitOps project, api scope, Developer) and
BG_ARGOCD_TOKEN (applications get and sync on this app), unless --direct. The
Kubernetes identity needs the Role in templates/kubernetes/rbac.yaml.`

func promoteCommand() *command {
	return &command{
		name:    "promote",
		summary: "switch live traffic to the new colour, keeping the old one warm for rollback",
		about: `Takes the environment lock (Lease bluegreen-<app>; exit 4 when another pipeline
holds it), refuses an outdated pipeline (exit 1), points the active Services'
selectors at the target colour through a GitOps commit synced by Argo CD (or
directly with --direct), proves that their EndpointSlices hold only target
pods, and stamps the switch on the Services. The old colour stays up for
--rollback-window. Re-running after a finished promote changes nothing.

Before the switch it matches capacity: the target colour is scaled to at
least the live colour's current ready replicas (when an HPA scales it, the
HPA's minReplicas is raised instead), in git (directly with --direct), and
promote waits until that many target pods are Ready and in the preview's
EndpointSlices; not by --timeout, it exits 3 with traffic unchanged. Both
counts are printed. --no-capacity-match switches without it.

` + switchTokens,
		newConfig: func() validator { return &config.Switch{} },
		run: func(ctx context.Context, env *Env, log *slog.Logger, c any) error {
			return runSwitch(ctx, env, log, c.(*config.Switch), plan.Promote)
		},
	}
}

func rollbackCommand() *command {
	return &command{
		name:    "rollback",
		summary: "send live traffic back to the previous colour and retire the new one",
		about: `Points the active Services back at the colour that was live before this
deployment (it still runs its own config) in a GitOps commit synced by Argo
CD, and scales the new colour to zero in a second commit once its pods have
been out of every active Service's endpoints for --drain (the time proxies
and load balancers need to stop sending it new connections); its pods then
get their full termination grace. When GitLab or Argo CD cannot be reached,
or with --now, it patches the live Services first (resourceVersion-guarded;
traffic is back within a second), marks them "pending git reconcile", and
reconciles git and Argo CD when they answer (or drift --fix does). After a
first release there is nothing to go back to: it says so and exits 0.

Before switching back it matches capacity as promote does (the previous
colour raised directly to the new colour's ready replicas; exit 3 with
traffic unchanged when they are not Ready by --timeout;
--no-capacity-match skips it).

After a failed monitor, --unless-held changes nothing when monitor held
traffic on the new colour after an inconclusive verdict (its
--on-inconclusive hold); after a monitor that rolled back it finishes and
records that rollback (a re-run changes nothing more); after a monitor that
stopped on an error it rolls back.

` + switchTokens,
		newConfig: func() validator { return &config.Switch{} },
		run: func(ctx context.Context, env *Env, log *slog.Logger, c any) error {
			return runSwitch(ctx, env, log, c.(*config.Switch), plan.Rollback)
		},
	}
}

func runSwitch(ctx context.Context, env *Env, log *slog.Logger, cfg *config.Switch, stageName plan.Stage) error {
	if err := checkNotify(cfg.Notify); err != nil {
		return err
	}
	p, err := loadPlan(cfg.OutDir, cfg.Common)
	if err != nil {
		return err
	}
	if m := p.Monitor; stageName == plan.Rollback && cfg.UnlessHeld && m != nil && m.Action == plan.MonitorHeld {
		fmt.Fprintf(env.Stdout, "rollback: monitor held traffic on %s after an inconclusive verdict (--unless-held): nothing changed; run the rollback job to switch back\n", p.TargetColor)
		return nil
	}
	cl := newClients(cfg.Kubeconfig, cfg.GitLab, cfg.CI, log)
	defer cl.Close()
	rec := newRecord(env, log, cfg.Notify, cfg.CI, cfg.OutDir, p, stageName)
	rec.clients = cl
	stage, err := switchStage(ctx, env, log, cfg, cl, p, stageName)
	if err != nil {
		if outcome.KindOf(err) == outcome.External {
			return rec.finish(ctx, err)
		}
		return err
	}
	run := stage.Promote
	if stageName == plan.Rollback {
		run = stage.Rollback
	}
	return rec.finish(ctx, run(ctx, p))
}

// switchStage builds the traffic switch of promote and rollback (and of
// monitor's rollback) from their settings. A rollback reaches Argo CD with
// a short probe, and one with Now only when it reconciles: the fast path
// does not wait for Argo CD.
func switchStage(ctx context.Context, env *Env, log *slog.Logger, cfg *config.Switch, cl *clients, p *plan.Plan, stageName plan.Stage) (*traffic.Stage, error) {
	kc, err := cl.Kube()
	if err != nil {
		return nil, err
	}
	stage := &traffic.Stage{
		OutDir: cfg.OutDir, Holder: holder(cfg.CI, p), Window: cfg.Window, Timeout: cfg.Timeout,
		Direct: cfg.Direct, Now: cfg.Now, NoCapacityMatch: cfg.NoCapacityMatch, Drain: cfg.Drain,
		Evidence: traffic.Evidence{Verification: cfg.RequireVerification, Approval: cfg.RequireApproval, MaxAge: cfg.MaxAge},
		Project:  cfg.GitOps.Project, Branch: cfg.GitOps.Branch, Folder: cfg.GitOps.Folder(p.Environment, p.App), ArgoApp: cfg.ArgoCD.App,
		Services: kube.Services{Client: kc}, Lock: kube.Lock{Client: kc, TTL: cfg.LockTTL}, Proof: kube.Proof{Client: kc},
		Scaler: kube.Capacity{Client: kc},
		Out:    env.Stdout, Log: log, Clock: env.Now,
	}
	if p.Workload.Kind == "Rollout" {
		dyn, err := cl.Dynamic()
		if err != nil {
			return nil, err
		}
		stage.Rollouts = kube.Rollouts{Client: dyn, Kube: kc}
	}
	if cfg.Direct {
		return stage, nil
	}
	gl, err := cl.GitLab()
	if err != nil {
		return nil, err
	}
	stage.Repo = gl
	if stageName == plan.Rollback && cfg.Now {
		stage.ArgoCD = &lazyArgo{connect: func(ctx context.Context) (traffic.ArgoCD, error) {
			return cl.ArgoCD(ctx, cfg.ArgoCD, true, env.Stdout)
		}}
		return stage, nil
	}
	argo, err := cl.ArgoCD(ctx, cfg.ArgoCD, stageName == plan.Rollback, env.Stdout)
	switch {
	case err == nil:
		stage.ArgoCD = argo
	case stageName == plan.Rollback:
		stage.ArgoCD = unreachableArgo{err} // rollback takes the fast path
	default:
		return nil, err
	}
	return stage, nil
}

// holder names the lock's owner: the pipeline, so that a retried job of the
// same pipeline takes its own lock back at once.
func holder(ci config.CI, p *plan.Plan) string {
	switch {
	case ci.PipelineID != 0:
		return fmt.Sprintf("pipeline %d of %s", ci.PipelineID, ci.ProjectPath)
	case p.Pipeline.ID != 0:
		return fmt.Sprintf("pipeline %d of %s", p.Pipeline.ID, p.Pipeline.ProjectPath)
	}
	host, _ := os.Hostname()
	return fmt.Sprintf("local run on %s", host)
}

// reachArgoCD connects to Argo CD. For a rollback it first probes the
// address with a short TCP dial, because the Argo CD client spends seconds
// retrying an unreachable server, and a rollback must not wait for that
// before taking the fast path.
func reachArgoCD(ctx context.Context, a config.ArgoCD, quick bool, out io.Writer) (*argoAdapter, error) {
	if quick {
		d := net.Dialer{Timeout: time.Second}
		conn, err := d.DialContext(ctx, "tcp", a.Server)
		if err != nil {
			return nil, outcome.Externalf("argocd %s: %w", a.Server, err)
		}
		conn.Close()
	}
	return newArgoCD(ctx, a, out)
}

// unreachableArgo stands in for an Argo CD that could not be dialled.
type unreachableArgo struct{ err error }

func (u unreachableArgo) Check(context.Context, string) error { return u.err }
func (u unreachableArgo) Sync(context.Context, string, string, []gitops.Object) ([]gitops.Object, error) {
	return nil, u.err
}
func (u unreachableArgo) Wait(context.Context, string, string, func(string) bool, []gitops.Object, func(string)) error {
	return u.err
}

// lazyArgo connects to Argo CD when first used: a fast rollback switches
// the Services before it, and reconciles through it afterwards.
type lazyArgo struct {
	connect func(context.Context) (traffic.ArgoCD, error)
	argo    traffic.ArgoCD
}

func (l *lazyArgo) get(ctx context.Context) traffic.ArgoCD {
	if l.argo == nil {
		a, err := l.connect(ctx)
		if err != nil {
			return unreachableArgo{err}
		}
		l.argo = a
	}
	return l.argo
}

func (l *lazyArgo) Check(ctx context.Context, app string) error { return l.get(ctx).Check(ctx, app) }
func (l *lazyArgo) Sync(ctx context.Context, app, rev string, objs []gitops.Object) ([]gitops.Object, error) {
	return l.get(ctx).Sync(ctx, app, rev, objs)
}
func (l *lazyArgo) Wait(ctx context.Context, app, rev string, done func(string) bool, objs []gitops.Object, progress func(string)) error {
	return l.get(ctx).Wait(ctx, app, rev, done, objs, progress)
}
