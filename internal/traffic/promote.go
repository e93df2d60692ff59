package traffic

import (
	"context"
	"fmt"
	"time"

	"gitlab.com/platform/bluegreen/internal/kube"
	"gitlab.com/platform/bluegreen/internal/outcome"
	"gitlab.com/platform/bluegreen/internal/plan"
)

// Promote switches the active Services to the plan's target colour. It runs
// under the environment lock, refuses an outdated pipeline, switches through
// git and Argo CD (or directly with Direct), proves that the active Services
// reach only target pods, and keeps the old colour up for the rollback
// window. A promote after a finished promote converges without a change.
func (s *Stage) Promote(ctx context.Context, p *plan.Plan) error {
	start := s.Clock()
	if _, ok := p.Last(plan.Sync); !ok {
		return outcome.Usagef("plan.json has no sync: run `bluegreen sync` first")
	}
	if err := s.Evidence.check(p, s.Clock()); err != nil {
		return err
	}
	return s.locked(ctx, p, func() error {
		if p.Workload.Kind == "Rollout" {
			return s.promoteRollout(ctx, p, start)
		}
		a, err := s.state(ctx, p)
		if err != nil {
			return err
		}
		if err := checkNotOutdated(p, a); err != nil {
			return err
		}
		target, previous := p.TargetColor, p.LiveColor
		if a.Selected != target && a.Selected != previous {
			return outcome.Negativef("the active Service selects %q, neither this plan's live colour %s nor its target %s: another pipeline switched traffic; re-run from render", a.Selected, previous, target)
		}
		if a.Selected == target {
			fmt.Fprintf(s.Out, "active Services already select %s: completing the switch\n", target)
		} else if _, err := s.matchCapacity(ctx, p, target, previous, previews(p), !s.Direct); err != nil {
			return err
		}
		rev, mode, err := s.switchTo(ctx, p, target, previous)
		if err != nil {
			return err
		}
		at := s.Clock().UTC()
		idle := at.Add(s.Window)
		if err := s.stamp(ctx, p, at, idle); err != nil {
			return err
		}
		if err := s.prove(ctx, p, target, p.Workload.Colored); err != nil {
			return err
		}
		t := &plan.Traffic{Live: target, Previous: previous, Revision: rev, Mode: mode, SwitchedAt: at, IdleUntil: idle}
		s.record(p, plan.Promote, start, t, fmt.Sprintf("live = %s; %s stays up until %s", target, previous, idle.Format(time.RFC3339)))
		fmt.Fprintf(s.Out, "promote done in %s: live = %s, %s kept warm until %s\n", s.Clock().Sub(start).Round(time.Millisecond), target, previous, idle.Format(time.RFC3339))
		return nil
	})
}

// switchTo points the active Services at color: a GitOps commit synced by
// Argo CD, or a direct patch. It returns the revision and the mode.
func (s *Stage) switchTo(ctx context.Context, p *plan.Plan, color, previous plan.Color) (string, string, error) {
	ann := switchAnnotations(p, color, previous)
	if s.Direct {
		t := s.Clock()
		for _, name := range actives(p) {
			if err := s.Services.SetColor(ctx, p.Namespace, name, color, ann); err != nil {
				return "", "", err
			}
		}
		fmt.Fprintf(s.Out, "switched %v to %s directly [%s]\n", actives(p), color, s.Clock().Sub(t).Round(time.Millisecond))
		return "", "direct", nil
	}
	files, err := activeFiles(s.OutDir, s.Folder, p, color, ann)
	if err != nil {
		return "", "", err
	}
	msg := fmt.Sprintf("bluegreen: %s %s live = %s (was %s)\n\nPipeline: %s\n", p.App, envName(p), color, previous, p.Pipeline.URL)
	rev, err := s.commitAndSync(ctx, msg, nil, files)
	if err != nil {
		return "", "", err
	}
	// Argo CD Healthy does not mean our Services changed: check them.
	for _, name := range actives(p) {
		a, err := s.Services.Active(ctx, p.Namespace, name)
		if err != nil {
			return "", "", err
		}
		if a.Selected != color {
			return "", "", outcome.Externalf("Argo CD synced %s but Service %s still selects %q: is the Application ignoring the selector?", short(rev), name, a.Selected)
		}
	}
	return rev, "gitops", nil
}

// stamp records the time of the switch and the end of the rollback window
// on the live Services. These vary per run, so they are not in git.
func (s *Stage) stamp(ctx context.Context, p *plan.Plan, at, idle time.Time) error {
	a, b := at.Format(time.RFC3339), idle.Format(time.RFC3339)
	for _, name := range actives(p) {
		if err := s.Services.Annotate(ctx, p.Namespace, name, map[string]*string{kube.AnnoSwitchedAt: &a, kube.AnnoIdleUntil: &b}); err != nil {
			return err
		}
	}
	return nil
}

func envName(p *plan.Plan) string {
	if p.Environment != "" {
		return p.Environment
	}
	return p.Namespace
}
