// Package deploy is the sync stage: it commits the rendered target colour to
// the GitOps repository in one commit, has Argo CD sync the Application at
// exactly that revision, waits until it is Synced and Healthy, and then
// proves that the preview Services reach only the target colour's pods.
// Green is then up, with no live traffic.
package deploy

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"gitlab.com/platform/bluegreen/internal/converge"
	"gitlab.com/platform/bluegreen/internal/gitops"
	"gitlab.com/platform/bluegreen/internal/names"
	"gitlab.com/platform/bluegreen/internal/outcome"
	"gitlab.com/platform/bluegreen/internal/plan"
)

// ArgoCD syncs an Application and waits for it. Errors carry outcome
// kinds: a failed sync or a Degraded app is negative (exit 1), a timeout or
// an unreachable server external (exit 3).
type ArgoCD interface {
	// Check proves the Application exists and the token may read it.
	Check(ctx context.Context, app string) error
	converge.ArgoCD
}

// Proof proves the target colour is up and that Services reach only it.
type Proof interface {
	Wait(ctx context.Context, ns, deployment string, services []string, color plan.Color, progress func(string)) error
}

// RolloutProof proves a Rollout paused for its promotion with the preview
// Service on the new ReplicaSet (kube.Rollouts.WaitPreview), and returns
// the stable and the new ReplicaSet's hashes.
type RolloutProof interface {
	WaitPreview(ctx context.Context, ns, name string, progress func(string)) (stable, current string, err error)
}

// LiveReader reads the colour the active Service selects now.
type LiveReader interface {
	LiveColor(ctx context.Context, namespace, service string) (plan.Color, error)
}

// Stage is one run of `bluegreen sync`.
type Stage struct {
	OutDir  string // where plan.json and rendered/ are
	Project string // GitOps project
	Branch  string
	Folder  string // the app's folder in the GitOps repo
	App     string // the Argo CD Application
	Timeout time.Duration

	Repo     gitops.Repo
	ArgoCD   ArgoCD
	Preview  Proof        // of the preview Services
	Rollouts RolloutProof // of a Rollout app; nil for a Deployment app
	Live     LiveReader

	// Checkpoint, if not nil, saves the plan mid-run: Run calls it once
	// the commit is made and recorded in the plan, so that a killed job's
	// re-run finds the revision. The caller saves the plan at the end.
	Checkpoint func() error

	Out   io.Writer
	Log   *slog.Logger
	Now   func() time.Time
	Pause func(ctx context.Context, try int) error // between commit retries; nil means a backoff
}

// Run takes the plan's rendered target colour to Synced, Healthy and proven,
// pruning what its commit removed (old config copies, objects the app
// dropped), and records that in p's ledger. It calls Checkpoint after the
// commit; it does not save p at the end.
func (s *Stage) Run(ctx context.Context, p *plan.Plan) error {
	start := s.Now()
	files, err := loadRendered(s.OutDir, p, s.Folder)
	if err != nil {
		return err
	}
	if err := s.checkLive(ctx, p); err != nil {
		return err
	}
	// Prove Argo CD answers before committing, so that an unreachable Argo
	// CD leaves no commit behind that nothing syncs.
	if err := s.ArgoCD.Check(ctx, s.App); err != nil {
		return fmt.Errorf("argocd app %q: %w", s.App, err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.Timeout)
	defer cancel()
	step := converge.Step{
		Repo: s.Repo, ArgoCD: s.ArgoCD, App: s.App, Out: s.Out, Log: s.Log, Clock: s.Now,
		Committed: func(rev string) error {
			p.GitOps = &plan.GitOps{Project: s.Project, Branch: s.Branch, Path: s.Folder, Commit: rev}
			p.ArgoCD = &plan.ArgoCD{App: s.App, Revision: rev}
			if s.Checkpoint == nil {
				return nil
			}
			return s.Checkpoint()
		},
	}
	rev, err := step.Run(ctx, gitops.Change{
		Project: s.Project, Branch: s.Branch, Message: commitMessage(p),
		Owned: managedDirs(s.Folder, p.TargetColor), Files: files, Pause: s.Pause,
	})
	if err != nil {
		return err
	}
	if err := s.prove(ctx, p); err != nil {
		return err
	}
	end := s.Now()
	p.Append(plan.Result{
		Stage: plan.Sync, Outcome: outcome.OK.String(), Started: start.UTC(), Finished: end.UTC(),
		Message: fmt.Sprintf("%s synced at %s and proven", p.TargetColor, short(rev)),
		Details: map[string]string{"revision": rev, "argocdApp": s.App},
	})
	fmt.Fprintf(s.Out, "sync done in %s: %s is up at %s with no live traffic\n", end.Sub(start).Round(time.Millisecond), p.TargetColor, short(rev))
	return nil
}

// checkLive refuses a plan whose live colour is no longer live: another
// pipeline promoted since this one rendered, and syncing would overwrite
// what now serves traffic.
func (s *Stage) checkLive(ctx context.Context, p *plan.Plan) error {
	if len(p.Workload.Services) == 0 || p.Workload.Kind != "Deployment" {
		return nil
	}
	svc := p.Workload.Services[0].Active
	for _, pair := range p.Workload.Services {
		if pair.Active == p.App {
			svc = pair.Active
		}
	}
	live, err := s.Live.LiveColor(ctx, p.Namespace, svc)
	if err != nil {
		return err
	}
	if live != p.LiveColor {
		return outcome.Negativef("the live colour is %s now, but this pipeline rendered against %s: another pipeline switched traffic since; re-run the pipeline from render", live, p.LiveColor)
	}
	return nil
}

func (s *Stage) prove(ctx context.Context, p *plan.Plan) error {
	if p.Workload.Kind == "Rollout" {
		return s.proveRollout(ctx, p)
	}
	if p.Workload.Kind != "Deployment" || len(p.Workload.Services) == 0 {
		fmt.Fprintf(s.Out, "preflight: skipped (%s with %d preview Services)\n", p.Workload.Kind, len(p.Workload.Services))
		return nil
	}
	t := s.Now()
	var previews []string
	for _, pair := range p.Workload.Services {
		previews = append(previews, pair.Preview)
	}
	err := s.Preview.Wait(ctx, p.Namespace, p.Workload.Colored, previews, p.TargetColor, func(state string) {
		fmt.Fprintf(s.Out, "  preflight: %s [%s]\n", state, s.Now().Sub(t).Round(100*time.Millisecond))
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(s.Out, "preflight: preview reaches only %s pods [%s]\n", p.TargetColor, s.Now().Sub(t).Round(time.Millisecond))
	return nil
}

// proveRollout waits until the Rollout is paused with its preview Service
// on the new ReplicaSet, and records both ReplicaSets' hashes in the plan:
// verify and monitor query the release and the stable side by them.
func (s *Stage) proveRollout(ctx context.Context, p *plan.Plan) error {
	if s.Rollouts == nil {
		return outcome.Local(fmt.Errorf("sync of Rollout %s: no Rollout client", p.Workload.Name))
	}
	t := s.Now()
	stable, current, err := s.Rollouts.WaitPreview(ctx, p.Namespace, p.Workload.Name, func(state string) {
		fmt.Fprintf(s.Out, "  preflight: rollout %s: %s [%s]\n", p.Workload.Name, state, s.Now().Sub(t).Round(100*time.Millisecond))
	})
	if err != nil {
		return err
	}
	for _, h := range []string{stable, current} {
		if err := names.PodTemplateHash(h); err != nil {
			return outcome.Negativef("Rollout %s/%s: %v", p.Namespace, p.Workload.Name, err)
		}
	}
	p.Workload.Rollout = &plan.RolloutHashes{Stable: stable, Preview: current}
	if stable == current {
		fmt.Fprintf(s.Out, "preflight: Rollout %s has one ReplicaSet, %s, behind its Services: nothing to promote, nothing to compare with [%s]\n", p.Workload.Name, current, s.Now().Sub(t).Round(time.Millisecond))
		return nil
	}
	fmt.Fprintf(s.Out, "preflight: Rollout %s paused; preview reaches only the new ReplicaSet %s, the active Service the stable %s [%s]\n", p.Workload.Name, current, stable, s.Now().Sub(t).Round(time.Millisecond))
	return nil
}

func short(sha string) string {
	if len(sha) > 8 {
		return sha[:8]
	}
	return sha
}
