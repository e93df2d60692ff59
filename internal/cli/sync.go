package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"gitlab.com/platform/bluegreen/internal/argocd"
	"gitlab.com/platform/bluegreen/internal/config"
	"gitlab.com/platform/bluegreen/internal/deploy"
	"gitlab.com/platform/bluegreen/internal/gitops"
	"gitlab.com/platform/bluegreen/internal/kube"
	"gitlab.com/platform/bluegreen/internal/outcome"
	"gitlab.com/platform/bluegreen/internal/plan"
)

func syncCommand() *command {
	return &command{
		name:    "sync",
		summary: "commit the rendered colour to the GitOps repo, sync Argo CD at that revision, prove green",
		about: `Loads <out>/plan.json and the rendered files (checked against their digests),
refuses the plan when the live colour changed since render, commits the target
colour's folder and the shared folder of the app's GitOps folder in one commit
through the GitLab API (no commit when the branch already holds them), syncs
the Argo CD Application at exactly that revision, waits until it is Synced and
Healthy, then proves that every preview Service reaches only the target
colour's ready pods. Exit 1 on a failed sync or a Degraded app, 3 on a timeout
or an unreachable GitLab or Argo CD.

Tokens: BG_GITLAB_TOKEN, a project access token of the GitOps project with the
api scope and the Developer role; BG_ARGOCD_TOKEN, an Argo CD account token with
"applications, get" and "applications, sync" on this Application only.`,
		newConfig: func() validator { return &config.Sync{} },
		run: func(ctx context.Context, env *Env, log *slog.Logger, c any) error {
			cfg := c.(*config.Sync)
			if err := checkNotify(cfg.Notify); err != nil {
				return err
			}
			p, err := loadPlan(cfg.OutDir, cfg.Common)
			if err != nil {
				return err
			}
			cl := newClients(cfg.Kubeconfig, cfg.GitLab, cfg.CI, log)
			defer cl.Close()
			gl, err := cl.GitLab()
			if err != nil {
				return err
			}
			kc, err := cl.Kube()
			if err != nil {
				return err
			}
			stage := &deploy.Stage{
				OutDir: cfg.OutDir, Project: cfg.GitOps.Project, Branch: cfg.GitOps.Branch,
				Folder: cfg.GitOps.Folder(p.Environment, p.App), App: cfg.ArgoCD.App, Timeout: cfg.Timeout,
				Repo: gl, Preview: kube.Proof{Client: kc}, Live: kube.Services{Client: kc},
				Out: env.Stdout, Log: log, Now: env.Now,
			}
			if p.Workload.Kind == "Rollout" {
				dyn, err := cl.Dynamic()
				if err != nil {
					return err
				}
				stage.Rollouts = kube.Rollouts{Client: dyn, Kube: kc}
			}
			if cfg.DryRun {
				differ, err := cl.Differ()
				if err != nil {
					return err
				}
				return stage.DryRun(ctx, p, differ)
			}
			rec := newRecord(env, log, cfg.Notify, cfg.CI, cfg.OutDir, p, plan.Sync)
			rec.clients = cl
			argo, err := cl.ArgoCD(ctx, cfg.ArgoCD, false, env.Stdout)
			if err != nil {
				return rec.finish(ctx, err)
			}
			stage.ArgoCD, stage.Checkpoint = argo, rec.save
			return rec.finish(ctx, stage.Run(ctx, p))
		},
	}
}

// loadPlan loads plan.json and checks that --app and --namespace, when
// given, agree with it: a mode acts on the plan, never on a flag that
// contradicts it.
func loadPlan(dir string, c config.Common) (*plan.Plan, error) {
	p, err := plan.Load(dir)
	if err != nil {
		return nil, outcome.As(outcome.Usage, err)
	}
	err = p.CheckFlags(filepath.Join(dir, plan.FileName),
		plan.Flag{Name: "--app (BG_APP)", Field: "app", Value: c.App},
		plan.Flag{Name: "--namespace (BG_NAMESPACE)", Field: "namespace", Value: c.Namespace})
	if err != nil {
		return nil, outcome.As(outcome.Usage, err)
	}
	return p, nil
}

// argoAdapter gives deploy the small ArgoCD interface it needs, and turns
// the adapter's errors into outcome kinds.
type argoAdapter struct {
	c *argocd.Client
}

// newArgoCD connects to Argo CD. A sync that must first wait for another
// operation on the app says so on out.
func newArgoCD(ctx context.Context, a config.ArgoCD, out io.Writer) (*argoAdapter, error) {
	c, err := argocd.New(ctx, argocd.Options{
		Addr: a.Server, Token: a.Token.Reveal(), PlainText: a.PlainText, Insecure: a.Insecure, GRPCWeb: a.GRPCWeb,
		PollInterval: 500 * time.Millisecond,
		Busy: func(app string, st argocd.Status) {
			line := fmt.Sprintf("  argocd %s: another operation is in flight, waiting for it to end: %s", app, st)
			if op := st.Operation; op != nil && !op.StartedAt.IsZero() {
				line += fmt.Sprintf(" (running for %s)", time.Since(op.StartedAt).Round(time.Second))
			}
			fmt.Fprintln(out, line)
		},
	})
	if err != nil {
		return nil, argoKind(err)
	}
	return &argoAdapter{c: c}, nil
}

func (a *argoAdapter) Close() { _ = a.c.Close() }

func (a *argoAdapter) Check(ctx context.Context, app string) error {
	_, err := a.c.Get(ctx, app)
	return argoKind(err)
}

func (a *argoAdapter) Sync(ctx context.Context, app, revision string, removed []gitops.Object) ([]gitops.Object, error) {
	pruned, err := a.c.SyncRemoved(ctx, app, revision, refsOf(removed))
	out := make([]gitops.Object, len(pruned))
	for i, r := range pruned {
		out[i] = gitops.Object{Group: r.Group, Kind: r.Kind, Namespace: r.Namespace, Name: r.Name}
	}
	return out, argoKind(err)
}

func (a *argoAdapter) Wait(ctx context.Context, app, revision string, same func(string) bool, removed []gitops.Object, progress func(string)) error {
	_, err := a.c.WaitFor(ctx, app, revision, same, refsOf(removed), func(st argocd.Status) {
		line := st.String()
		if p := st.Problems(); len(p) > 0 {
			line += fmt.Sprintf("; not yet healthy: %v", p)
		}
		progress(line)
	})
	return argoKind(err)
}

// Inspect reads app for drift, with its sync policy and the resources to prune.
func (a *argoAdapter) Inspect(ctx context.Context, app string, refresh bool) (argocd.App, error) {
	out, err := a.c.Inspect(ctx, app, refresh)
	return out, argoKind(err)
}

// SyncOnly syncs only the named objects of app at revision, pruning those
// of them that left git: drift --fix's repairs.
func (a *argoAdapter) SyncOnly(ctx context.Context, app, revision string, only []gitops.Object) error {
	return argoKind(a.c.SyncOnly(ctx, app, revision, refsOf(only), true))
}

// WaitOperation waits until app's sync at revision ends.
func (a *argoAdapter) WaitOperation(ctx context.Context, app, revision string, progress func(string)) error {
	_, err := a.c.WaitOperation(ctx, app, revision, func(st argocd.Status) { progress(st.String()) })
	return argoKind(err)
}

// refsOf names objects of git as Argo CD resources.
func refsOf(objs []gitops.Object) []argocd.ResourceRef {
	refs := make([]argocd.ResourceRef, len(objs))
	for i, o := range objs {
		refs[i] = argocd.ResourceRef{Group: o.Group, Kind: o.Kind, Namespace: o.Namespace, Name: o.Name}
	}
	return refs
}

// argoKind classifies an Argo CD error: a failed sync, a Degraded app or an
// object left to prune that bluegreen did not remove is a negative verdict,
// a missing app or a refused token a configuration error, everything else
// (unreachable, timeout) external.
func argoKind(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, argocd.ErrDegraded), errors.Is(err, argocd.ErrOperationFailed), errors.Is(err, argocd.ErrNotPruned):
		return outcome.As(outcome.Negative, err)
	}
	switch status.Code(err) {
	case codes.NotFound, codes.PermissionDenied, codes.Unauthenticated:
		return outcome.As(outcome.Usage, fmt.Errorf("%w (check BG_ARGOCD_APP and BG_ARGOCD_TOKEN)", err))
	}
	return outcome.As(outcome.External, err)
}
