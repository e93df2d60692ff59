// Package traffic is promote and rollback: the switch of live traffic from
// one colour to the other. One selector write per active Service moves all
// traffic; the old colour stays up for the rollback window, so going back is
// instant. The switch is taken under the environment lock, refuses outdated
// pipelines, goes through git and Argo CD by default (so git, Argo CD and the
// cluster agree afterwards), and is proven by the active Services'
// EndpointSlices. Every step can be re-run and converges.
package traffic

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"time"

	"gitlab.com/platform/bluegreen/internal/converge"
	"gitlab.com/platform/bluegreen/internal/gitops"
	"gitlab.com/platform/bluegreen/internal/kube"
	"gitlab.com/platform/bluegreen/internal/outcome"
	"gitlab.com/platform/bluegreen/internal/plan"
)

// Services reads and switches the active Services.
type Services interface {
	Active(ctx context.Context, ns, name string) (kube.Active, error)
	SetColor(ctx context.Context, ns, name string, c plan.Color, annotations map[string]string) error
	Annotate(ctx context.Context, ns, name string, annotations map[string]*string) error
}

// Lock is the environment lock.
type Lock interface {
	Acquire(ctx context.Context, ns, app, holder string) (*kube.Held, error)
}

// Proof proves that Services reach only one colour's ready pods.
type Proof interface {
	Wait(ctx context.Context, ns, deployment string, services []string, color plan.Color, progress func(string)) error
}

// ArgoCD syncs the Application at a revision and waits for it.
type ArgoCD interface {
	Check(ctx context.Context, app string) error
	converge.ArgoCD
}

// Rollouts drives an Argo Rollouts Rollout.
type Rollouts interface {
	// Promote unpauses it and waits until the active Service reaches only
	// the new ReplicaSet's pods.
	Promote(ctx context.Context, ns, name string, progress func(string)) error
	// Abort aborts it and waits until the active Service reaches only the
	// stable ReplicaSet's pods; kube.ErrPromoted when there is no older
	// stable ReplicaSet.
	Abort(ctx context.Context, ns, name string, progress func(string)) error
	// Undo goes back to the previous revision's ReplicaSet after a
	// finished promotion and promotes it at once; it returns its hash.
	Undo(ctx context.Context, ns, name string, progress func(string)) (string, error)
	// StableImages are the stable ReplicaSet's images, by container.
	StableImages(ctx context.Context, ns, name string) (map[string]string, error)
}

// Stage is one run of promote or rollback.
type Stage struct {
	OutDir  string        // plan.json and rendered/
	Holder  string        // lock owner: the pipeline
	Window  time.Duration // how long the old colour stays up after promote
	Timeout time.Duration // for Argo CD and the proof
	Direct  bool          // switch by patching the Services, not through git (no GitOps repo)
	Now     bool          // rollback only: take the fast path even when git and Argo CD answer
	Why     string        // with Now: why the fast path was asked for; "" says --now
	// NoCapacityMatch switches without first sizing the target colour to
	// the live colour's ready replicas (see matchCapacity).
	NoCapacityMatch bool
	// Drain is how long the old colour's pods must have been out of every
	// active Service's EndpointSlices before it is scaled down: the time
	// proxies and load balancers need to stop sending it new connections.
	Drain time.Duration
	// Evidence is what promote requires of the plan (see Evidence).
	Evidence Evidence

	Project, Branch, Folder, ArgoApp string // GitOps mode

	Repo     gitops.Repo
	ArgoCD   ArgoCD
	Services Services
	Lock     Lock
	Proof    Proof
	Rollouts Rollouts
	Scaler   Scaler

	Out   io.Writer
	Log   *slog.Logger
	Clock func() time.Time
	Pause func(ctx context.Context, try int) error         // between GitOps retries; nil means a backoff
	Sleep func(ctx context.Context, d time.Duration) error // the drain wait; nil means a timer

	matched *plan.Capacity // what matchCapacity did in this run
}

// actives are the app's active Service names.
func actives(p *plan.Plan) []string {
	var names []string
	for _, s := range p.Workload.Services {
		names = append(names, s.Active)
	}
	return names
}

// locked runs fn under the environment lock.
func (s *Stage) locked(ctx context.Context, p *plan.Plan, fn func() error) error {
	t := s.Clock()
	return Locked(ctx, s.Lock, p.Namespace, p.App, s.Holder, s.Log, func() error {
		fmt.Fprintf(s.Out, "lock %s/%s taken by %q [%s]\n", p.Namespace, kube.LeaseName(p.App), s.Holder, s.Clock().Sub(t).Round(time.Millisecond))
		return fn()
	})
}

// state reads every active Service and checks they agree.
func (s *Stage) state(ctx context.Context, p *plan.Plan) (kube.Active, error) {
	var first kube.Active
	for i, name := range actives(p) {
		a, err := s.Services.Active(ctx, p.Namespace, name)
		if err != nil {
			return kube.Active{}, err
		}
		if i == 0 {
			first = a
		} else if a.Selected != first.Selected {
			// A switch was interrupted between two Services: the one
			// furthest along decides, and the re-run completes it.
			s.Log.Warn("active Services disagree; the switch will complete it", "first", first.Selected, name, a.Selected)
		}
	}
	return first, nil
}

// checkNotOutdated refuses a plan older than the one that made the current
// colour live: pipeline IDs grow, so a smaller one is an older pipeline.
func checkNotOutdated(p *plan.Plan, a kube.Active) error {
	liveID, err := strconv.ParseInt(a.Annotations[kube.AnnoPipelineID], 10, 64)
	if err != nil || liveID == 0 || p.Pipeline.ID == 0 || liveID <= p.Pipeline.ID {
		return nil
	}
	return outcome.Negativef("outdated pipeline: %s is live from pipeline %d (%s), newer than this pipeline %d; promoting would roll production back",
		a.Selected, liveID, a.Annotations[kube.AnnoPipelineURL], p.Pipeline.ID)
}

// switchAnnotations are the deterministic annotations of a switch: the same
// plan gives the same bytes in git, so a re-run makes no new commit.
func switchAnnotations(p *plan.Plan, live, previous plan.Color) map[string]string {
	a := map[string]string{kube.AnnoLive: string(live), kube.AnnoPrevious: string(previous), kube.AnnoImage: p.Image}
	if p.GitOps != nil {
		a[kube.AnnoRevision] = p.GitOps.Commit
	}
	if p.Pipeline.ID != 0 {
		a[kube.AnnoPipelineID] = strconv.FormatInt(p.Pipeline.ID, 10)
	}
	if p.Pipeline.URL != "" {
		a[kube.AnnoPipelineURL] = p.Pipeline.URL
	}
	return a
}

func (s *Stage) prove(ctx context.Context, p *plan.Plan, color plan.Color, deployment string) error {
	t := s.Clock()
	ctx, cancel := context.WithTimeout(ctx, s.Timeout)
	defer cancel()
	err := s.Proof.Wait(ctx, p.Namespace, deployment, actives(p), color, func(state string) {
		fmt.Fprintf(s.Out, "  proof: %s [%s]\n", state, s.Clock().Sub(t).Round(100*time.Millisecond))
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(s.Out, "proof: the active Services reach only %s pods [%s]\n", color, s.Clock().Sub(t).Round(time.Millisecond))
	return nil
}

func (s *Stage) record(p *plan.Plan, stage plan.Stage, start time.Time, t *plan.Traffic, msg string) {
	if t.Capacity == nil {
		t.Capacity = s.matched
	}
	p.Traffic = t
	p.Append(plan.Result{
		Stage: stage, Outcome: outcome.OK.String(), Started: start.UTC(), Finished: s.Clock().UTC(), Message: msg,
		Details: map[string]string{"live": string(t.Live), "mode": t.Mode, "revision": t.Revision},
	})
}

func coloredName(p *plan.Plan, c plan.Color) string { return p.Workload.Name + "-" + string(c) }

func short(sha string) string {
	if len(sha) > 8 {
		return sha[:8]
	}
	return sha
}
