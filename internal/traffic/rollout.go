package traffic

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path"
	"slices"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"gitlab.com/platform/bluegreen/internal/gitops"
	"gitlab.com/platform/bluegreen/internal/kube"
	"gitlab.com/platform/bluegreen/internal/outcome"
	"gitlab.com/platform/bluegreen/internal/plan"
)

// A Rollout app's switch is Argo Rollouts' own: promote unpauses the
// Rollout, rollback aborts it, and the controller moves the active Service
// (its selector's rollouts-pod-template-hash). bluegreen proves where the
// active Service points afterwards. Git holds the Rollout's template, not
// the Services' hash, so a promote leaves git as it is; an abort leaves git
// holding the aborted image until the rollback commits the stable one.

func (s *Stage) promoteRollout(ctx context.Context, p *plan.Plan, start time.Time) error {
	if err := s.driveRollout(ctx, p, "promote", s.Rollouts.Promote); err != nil {
		return err
	}
	s.record(p, plan.Promote, start, &plan.Traffic{Live: p.TargetColor, Previous: p.LiveColor, Mode: "rollout", SwitchedAt: s.Clock().UTC()}, "Rollout promoted")
	fmt.Fprintf(s.Out, "promote done in %s: Rollout %s promoted; git unchanged (it holds the template, not the Services' hash)\n", s.Clock().Sub(start).Round(time.Millisecond), p.Workload.Name)
	return nil
}

// abortRollout aborts the Rollout (or, after a finished promotion, undoes it
// to its previous revision), then reconciles git: it still holds the
// aborted template, which Argo CD shows as a Degraded (aborted) Rollout, or
// OutOfSync after an undo, so the stable ReplicaSet's images are committed
// back, and the Rollout, whose template then matches its stable ReplicaSet,
// is Synced and Healthy again.
func (s *Stage) abortRollout(ctx context.Context, p *plan.Plan, start time.Time) error {
	done := "aborted, active on its stable ReplicaSet"
	err := s.driveRollout(ctx, p, "abort", s.Rollouts.Abort)
	if errors.Is(err, kube.ErrPromoted) {
		err = s.undoRollout(ctx, p)
		done = "undone to its previous revision, active on that ReplicaSet"
	}
	if errors.Is(err, errNotLive) {
		err, done = nil, "already off this release (a re-run), active on its stable ReplicaSet"
		fmt.Fprintf(s.Out, "rollback: %s's stable ReplicaSet does not run %s: traffic is already back; completing the reconcile\n", p.Workload.Name, p.Image)
	}
	if err != nil {
		return err
	}
	// A Rollout app has no colours; the plan's name the release (target)
	// and what ran before it, which render calls none for a Rollout.
	back := p.LiveColor
	if back == plan.None || back == "" {
		back = p.TargetColor.Other()
	}
	tr := &plan.Traffic{Live: back, Previous: p.TargetColor, Mode: "rollout", SwitchedAt: s.Clock().UTC()}
	fmt.Fprintf(s.Out, "rollback: git still holds Rollout %s with image %s, which no longer runs; Argo CD shows it Degraded or OutOfSync until git holds the stable images\n", p.Workload.Name, p.Image)
	if s.Direct {
		tr.PendingReconcile = "git holds the aborted template"
		fmt.Fprintf(s.Out, "reconcile: not done (direct mode has no GitOps repo): render and sync the stable image\n")
	} else if err := s.reconcileRollout(ctx, p, tr); err != nil {
		tr.PendingReconcile = "git holds the aborted template"
		fmt.Fprintf(s.Out, "reconcile: not done (%v); re-run rollback to complete it\n", err)
	}
	s.record(p, plan.Rollback, start, tr, "Rollout "+done)
	fmt.Fprintf(s.Out, "rollback done in %s: Rollout %s %s\n", s.Clock().Sub(start).Round(time.Millisecond), p.Workload.Name, done)
	return nil
}

// errNotLive says that the release a rollback is for no longer runs behind
// the active Service: an earlier, killed run already went back.
var errNotLive = errors.New("the release is not live")

// undoRollout goes back after a finished promotion, when the stable
// ReplicaSet still runs this release (else errNotLive): an abort moves
// nothing then, so it undoes to the previous, still warm revision, as
// `kubectl argo rollouts undo` + `promote --full` would.
func (s *Stage) undoRollout(ctx context.Context, p *plan.Plan) error {
	images, err := s.Rollouts.StableImages(ctx, p.Namespace, p.Workload.Name)
	if err != nil {
		return err
	}
	if !slices.Contains(slices.Collect(maps.Values(images)), p.Image) {
		return errNotLive
	}
	fmt.Fprintf(s.Out, "rollback: Rollout %s is fully promoted, so an abort would move nothing: undoing to the previous revision\n", p.Workload.Name)
	return s.driveRollout(ctx, p, "undo", func(ctx context.Context, ns, name string, progress func(string)) error {
		_, err := s.Rollouts.Undo(ctx, ns, name, progress)
		return err
	})
}

// driveRollout promotes or aborts the Rollout under the stage's deadline.
func (s *Stage) driveRollout(ctx context.Context, p *plan.Plan, what string, act func(ctx context.Context, ns, name string, progress func(string)) error) error {
	ctx, cancel := context.WithTimeout(ctx, s.Timeout)
	defer cancel()
	t := s.Clock()
	err := act(ctx, p.Namespace, p.Workload.Name, func(state string) {
		fmt.Fprintf(s.Out, "  rollout %s: %s [%s]\n", p.Workload.Name, state, s.Clock().Sub(t).Round(100*time.Millisecond))
	})
	if err == nil {
		fmt.Fprintf(s.Out, "%s: Rollout %s done; the active Service reaches only its pods [%s]\n", what, p.Workload.Name, s.Clock().Sub(t).Round(time.Millisecond))
	}
	return err
}

// reconcileRollout commits the rendered Rollout with the stable
// ReplicaSet's images and syncs Argo CD, which waits until it is Healthy.
func (s *Stage) reconcileRollout(ctx context.Context, p *plan.Plan, tr *plan.Traffic) error {
	if reason := s.unreachable(ctx); reason != "" {
		return errors.New(reason)
	}
	images, err := s.Rollouts.StableImages(ctx, p.Namespace, p.Workload.Name)
	if err != nil {
		return err
	}
	file, err := stableRolloutFile(s.OutDir, s.Folder, p, images)
	if err != nil {
		return err
	}
	msg := fmt.Sprintf("bluegreen: %s %s rollback: Rollout %s back on its stable images (%s aborted)\n\nPipeline: %s\n", p.App, envName(p), p.Workload.Name, p.Image, p.Pipeline.URL)
	rev, err := s.commitAndSync(ctx, msg, nil, []gitops.File{file})
	if err != nil {
		return err
	}
	tr.Revision = rev
	fmt.Fprintf(s.Out, "reconcile: git holds the stable images %v at %s; Argo CD Synced and Healthy\n", images, short(rev))
	return nil
}

// stableRolloutFile is the rendered Rollout's file with each container's
// image set to the stable ReplicaSet's.
func stableRolloutFile(outDir, folder string, p *plan.Plan, images map[string]string) (gitops.File, error) {
	for _, o := range p.Rendered.Objects {
		if o.Kind != "Rollout" || o.Name != p.Workload.Name {
			continue
		}
		m, err := renderedObject(outDir, p, o)
		if err != nil {
			return gitops.File{}, err
		}
		containers, _, _ := unstructured.NestedSlice(m, "spec", "template", "spec", "containers")
		for _, c := range containers {
			cm, _ := c.(map[string]any)
			name, _ := cm["name"].(string)
			if img, ok := images[name]; ok && cm != nil {
				cm["image"] = img
			}
		}
		if err := unstructured.SetNestedSlice(m, containers, "spec", "template", "spec", "containers"); err != nil {
			return gitops.File{}, err
		}
		data, err := encode(o, m)
		if err != nil {
			return gitops.File{}, err
		}
		return gitops.File{Path: path.Join(folder, o.File), Data: data}, nil
	}
	return gitops.File{}, outcome.Usagef("plan.json lists no rendered Rollout %s", p.Workload.Name)
}
