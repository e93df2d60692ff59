package traffic

import (
	"context"
	"fmt"
	"time"

	"gitlab.com/platform/bluegreen/internal/kube"
	"gitlab.com/platform/bluegreen/internal/outcome"
	"gitlab.com/platform/bluegreen/internal/plan"
)

// reachTimeout bounds the check that git and Argo CD answer before a
// rollback chooses its path.
const reachTimeout = 1500 * time.Millisecond

// Rollback sends live traffic back to the colour that was live before this
// deployment (which still runs its own config) and scales the failed colour
// to zero. Through git and Argo CD by default; when either cannot be reached,
// or with Now, it patches the live Services directly first (the fast path:
// traffic is back within a second), marks them "pending git reconcile", and
// reconciles git and Argo CD as soon as they answer. With nothing to roll
// back to (a first release), it is a no-op that says so.
func (s *Stage) Rollback(ctx context.Context, p *plan.Plan) error {
	start := s.Clock()
	if p.Workload.Kind == "Rollout" { // Argo Rollouts knows its stable ReplicaSet; colours do not apply
		return s.locked(ctx, p, func() error { return s.abortRollout(ctx, p, start) })
	}
	back, bad := p.LiveColor, p.TargetColor
	if back == plan.None || back == "" {
		fmt.Fprintf(s.Out, "rollback: %s was a first release; there is no earlier colour to go back to, so traffic is unchanged\n", bad)
		p.Append(plan.Result{Stage: plan.Rollback, Outcome: outcome.OK.String(), Started: start.UTC(), Finished: s.Clock().UTC(), Message: "nothing to roll back to"})
		return nil
	}
	return s.locked(ctx, p, func() error {
		a, err := s.state(ctx, p)
		if err != nil {
			return err
		}
		switch a.Selected {
		case back:
			fmt.Fprintf(s.Out, "rollback: the active Services already select %s\n", back)
		case bad:
		default:
			return outcome.Negativef("the active Service selects %q, neither %s nor %s: refusing to guess; switch it by hand", a.Selected, back, bad)
		}
		if a.Selected == bad {
			// back's rendered files are not in this plan: it is raised directly.
			if _, err := s.matchCapacity(ctx, p, back, bad, nil, false); err != nil {
				return err
			}
		}
		if s.Direct {
			return s.rollbackDirect(ctx, p, start, a.Selected == bad)
		}
		if reason := s.fastReason(ctx); reason != "" && a.Selected == bad {
			return s.rollbackFast(ctx, p, start, reason)
		}
		return s.rollbackGitOps(ctx, p, start, a)
	})
}

// fastReason says why the fast path is needed, or "" when git and Argo CD
// answer and it was not asked for.
func (s *Stage) fastReason(ctx context.Context) string {
	if s.Now {
		if s.Why != "" {
			return s.Why
		}
		return "--now"
	}
	return s.unreachable(ctx)
}

// unreachable says which of GitLab and Argo CD does not answer within
// reachTimeout, or "" when both do.
func (s *Stage) unreachable(ctx context.Context) string {
	ctx, cancel := context.WithTimeout(ctx, reachTimeout)
	defer cancel()
	if _, err := s.Repo.BranchHead(ctx, s.Project, s.Branch); err != nil {
		return "GitLab unreachable: " + err.Error()
	}
	if err := s.ArgoCD.Check(ctx, s.ArgoApp); err != nil {
		return "Argo CD unreachable: " + err.Error()
	}
	return ""
}

// rollbackGitOps switches back in one commit and, once the failed colour
// has drained, retires it in a second.
func (s *Stage) rollbackGitOps(ctx context.Context, p *plan.Plan, start time.Time, before kube.Active) error {
	back, bad := p.LiveColor, p.TargetColor
	if _, err := s.commitSwitchBack(ctx, p, "rollback"); err != nil {
		return err
	}
	if err := s.prove(ctx, p, back, coloredName(p, back)); err != nil {
		return err
	}
	out, err := s.outSince(ctx, p, before)
	if err != nil {
		return err
	}
	// A fast-path rollback before this one left a mark: git agrees now.
	if err := s.clearPending(ctx, p); err != nil {
		return err
	}
	rev, err := s.retireAfterDrain(ctx, p, out, "rollback")
	if err != nil {
		return err
	}
	at := s.Clock().UTC()
	s.record(p, plan.Rollback, start, &plan.Traffic{Live: back, Previous: bad, Revision: rev, Mode: "gitops", SwitchedAt: at, Retired: bad}, fmt.Sprintf("live = %s; %s scaled to zero", back, bad))
	fmt.Fprintf(s.Out, "rollback done in %s: live = %s, %s scaled to zero at %s\n", s.Clock().Sub(start).Round(time.Millisecond), back, bad, short(rev))
	return nil
}

// rollbackFast patches the live Services first, then reconciles git.
func (s *Stage) rollbackFast(ctx context.Context, p *plan.Plan, start time.Time, reason string) error {
	back, bad := p.LiveColor, p.TargetColor
	fmt.Fprintf(s.Out, "rollback: fast path (%s)\n", reason)
	pending := fmt.Sprintf("since %s: %s", s.Clock().UTC().Format(time.RFC3339), truncate(reason, 200))
	switchedAt := s.Clock().UTC().Format(time.RFC3339)
	ann := switchAnnotations(p, back, bad)
	ann[kube.AnnoPendingReconcile] = pending
	t := s.Clock()
	for _, name := range actives(p) {
		if err := s.Services.SetColor(ctx, p.Namespace, name, back, ann); err != nil {
			return err
		}
	}
	fmt.Fprintf(s.Out, "switched %v back to %s directly [%s]\n", actives(p), back, s.Clock().Sub(t).Round(time.Millisecond))
	for _, name := range actives(p) {
		if err := s.Services.Annotate(ctx, p.Namespace, name, map[string]*string{kube.AnnoSwitchedAt: &switchedAt}); err != nil {
			return err
		}
	}
	fmt.Fprintf(s.Out, "warning: git and Argo CD still say %s until reconciled; an Argo CD Application with selfHeal would put %s back, so bluegreen's set-up keeps selfHeal off (see README)\n", bad, bad)
	if err := s.prove(ctx, p, back, coloredName(p, back)); err != nil {
		return err
	}
	tr := &plan.Traffic{Live: back, Previous: bad, Mode: "direct", SwitchedAt: s.Clock().UTC(), PendingReconcile: pending}
	if err := s.reconcile(ctx, p, tr, tr.SwitchedAt); err != nil {
		fmt.Fprintf(s.Out, "reconcile: not done (%v); the next rollback or drift --fix completes it\n", err)
	}
	s.record(p, plan.Rollback, start, tr, fmt.Sprintf("live = %s (fast path: %s)", back, reason))
	fmt.Fprintf(s.Out, "rollback done in %s: live = %s\n", s.Clock().Sub(start).Round(time.Millisecond), back)
	return nil
}

// reconcile brings git and Argo CD in line after a fast-path switch, clears
// the pending mark on the Services, and retires the failed colour once it
// has drained (its pods out of the endpoints since out).
func (s *Stage) reconcile(ctx context.Context, p *plan.Plan, tr *plan.Traffic, out time.Time) error {
	// --now asked for speed, not for skipping git: reconcile when both
	// answer, and never commit what Argo CD cannot sync.
	if reason := s.unreachable(ctx); reason != "" {
		return fmt.Errorf("%s", reason)
	}
	rev, err := s.commitSwitchBack(ctx, p, "rollback (reconcile after the fast path)")
	if err != nil {
		return err
	}
	if err := s.clearPending(ctx, p); err != nil {
		return err
	}
	tr.Revision, tr.PendingReconcile, tr.Mode = rev, "", "gitops"
	fmt.Fprintf(s.Out, "reconcile: git and Argo CD agree with the cluster at %s\n", short(rev))
	if rev, err = s.retireAfterDrain(ctx, p, out, "rollback (reconcile after the fast path)"); err != nil {
		return err
	}
	tr.Revision, tr.Retired = rev, p.TargetColor
	return nil
}

// commitSwitchBack commits the active Services back on the plan's live
// colour and syncs Argo CD.
func (s *Stage) commitSwitchBack(ctx context.Context, p *plan.Plan, what string) (string, error) {
	back, bad := p.LiveColor, p.TargetColor
	files, err := activeFiles(s.OutDir, s.Folder, p, back, switchAnnotations(p, back, bad))
	if err != nil {
		return "", err
	}
	msg := fmt.Sprintf("bluegreen: %s %s %s: live = %s\n\nPipeline: %s\n", p.App, envName(p), what, back, p.Pipeline.URL)
	return s.commitAndSync(ctx, msg, nil, files)
}

// retireAfterDrain waits until the failed colour's pods have been out of
// every active Service's endpoints for the drain period (counted from out,
// when the proof showed them gone), proves it still, then commits the
// colour scaled to zero and syncs Argo CD. Its pods then get their full
// termination grace.
func (s *Stage) retireAfterDrain(ctx context.Context, p *plan.Plan, out time.Time, what string) (string, error) {
	back, bad := p.LiveColor, p.TargetColor
	if err := s.drain(ctx, p, bad, out); err != nil {
		return "", err
	}
	if err := s.prove(ctx, p, back, coloredName(p, back)); err != nil {
		return "", err
	}
	owned, retired, err := retireFiles(s.OutDir, s.Folder, p)
	if err != nil {
		return "", err
	}
	msg := fmt.Sprintf("bluegreen: %s %s %s: %s scaled to zero after a %s drain\n\nPipeline: %s\n", p.App, envName(p), what, bad, s.Drain, p.Pipeline.URL)
	rev, err := s.commitAndSync(ctx, msg, []string{owned}, retired)
	if err != nil {
		return "", err
	}
	return rev, s.restoreCapacity(ctx, p, back)
}

// outSince is when the failed colour's pods left the active Services'
// endpoints: now, proven, when this run switched back (and it stamps the
// Services so that a re-run knows); the recorded switch time when they
// selected the previous colour before this run (a rollback after a failed
// verify, whose new colour never had live traffic, or a re-run). A record
// no later than this plan's promote is the promote's own: a run killed
// between its switch-back commit and its stamp left it, so the drain
// counts from now.
func (s *Stage) outSince(ctx context.Context, p *plan.Plan, before kube.Active) (time.Time, error) {
	if before.Selected == p.LiveColor {
		t, err := time.Parse(time.RFC3339, before.Annotations[kube.AnnoSwitchedAt])
		promoted := p.Traffic != nil && p.Traffic.Live == p.TargetColor && !t.After(p.Traffic.SwitchedAt.Truncate(time.Second))
		if err == nil && !promoted {
			return t, nil
		}
		// No record of when the switch back was: count from now.
	}
	now := s.Clock().UTC()
	stamp := now.Format(time.RFC3339)
	for _, name := range actives(p) {
		if err := s.Services.Annotate(ctx, p.Namespace, name, map[string]*string{kube.AnnoSwitchedAt: &stamp}); err != nil {
			return time.Time{}, err
		}
	}
	return now, nil
}

// drain waits out what is left of the drain period after out.
func (s *Stage) drain(ctx context.Context, p *plan.Plan, color plan.Color, out time.Time) error {
	left := s.Drain - s.Clock().Sub(out)
	if left <= 0 {
		return nil
	}
	fmt.Fprintf(s.Out, "drain: %s's pods are out of %v's endpoints; scaling it down in %s\n", color, actives(p), left.Round(100*time.Millisecond))
	sleep := s.Sleep
	if sleep == nil {
		sleep = func(ctx context.Context, d time.Duration) error {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(d):
				return nil
			}
		}
	}
	if err := sleep(ctx, left); err != nil {
		return outcome.Externalf("drain of %s: %w", color, err)
	}
	return nil
}

// clearPending removes the pending-reconcile mark from the active Services.
func (s *Stage) clearPending(ctx context.Context, p *plan.Plan) error {
	return ClearPending(ctx, s.Services, p.Namespace, actives(p), s.Out)
}

// rollbackDirect is rollback without a GitOps repo.
func (s *Stage) rollbackDirect(ctx context.Context, p *plan.Plan, start time.Time, switchBack bool) error {
	back, bad := p.LiveColor, p.TargetColor
	if switchBack {
		if _, _, err := s.switchTo(ctx, p, back, bad); err != nil {
			return err
		}
	}
	if err := s.prove(ctx, p, back, coloredName(p, back)); err != nil {
		return err
	}
	s.record(p, plan.Rollback, start, &plan.Traffic{Live: back, Previous: bad, Mode: "direct", SwitchedAt: s.Clock().UTC()}, fmt.Sprintf("live = %s", back))
	fmt.Fprintf(s.Out, "rollback done in %s: live = %s\n", s.Clock().Sub(start).Round(time.Millisecond), back)
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
