package kube

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"gitlab.com/platform/bluegreen/internal/outcome"
)

// RolloutGVR is Argo Rollouts' Rollout resource.
var RolloutGVR = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "rollouts"}

// HashLabel is the label by which Argo Rollouts' Services select one
// ReplicaSet's pods.
const HashLabel = "rollouts-pod-template-hash"

// Rollouts drives an Argo Rollouts blue-green Rollout
// (autoPromotionEnabled: false) the way `kubectl argo rollouts` does:
// promote clears the pause conditions and unpauses, abort sets
// status.abort. The Rollouts controller then moves the active Service;
// bluegreen does not patch Services itself, it proves where they point.
type Rollouts struct {
	Client   dynamic.Interface
	Kube     kubernetes.Interface // Services, EndpointSlices and pods, for the proof
	Interval time.Duration        // poll interval; 0 means 250 ms
}

// RolloutState is what bluegreen reads from a blue-green Rollout's status.
type RolloutState struct {
	Active, Preview string // the Services named in spec.strategy.blueGreen
	Stable, Current string // status.stableRS and status.currentPodHash
	Phase, Message  string
	Paused, Aborted bool // pause conditions or spec.paused; status.abort
}

// Promoted says whether the Rollout's current ReplicaSet is its stable one.
func (s RolloutState) Promoted() bool { return s.Stable != "" && s.Stable == s.Current }

func (s RolloutState) String() string {
	return fmt.Sprintf("stable %s, current %s, phase %s", s.Stable, s.Current, s.Phase)
}

// ReadState reads the Rollout's state.
func (r Rollouts) ReadState(ctx context.Context, ns, name string) (RolloutState, error) {
	u, err := r.Client.Resource(RolloutGVR).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return RolloutState{}, outcome.Externalf("read Rollout %s/%s: %w", ns, name, err)
	}
	return rolloutState(u), nil
}

func rolloutState(u *unstructured.Unstructured) RolloutState {
	str := func(f ...string) string { v, _, _ := unstructured.NestedString(u.Object, f...); return v }
	paused, _, _ := unstructured.NestedBool(u.Object, "spec", "paused")
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "pauseConditions")
	aborted, _, _ := unstructured.NestedBool(u.Object, "status", "abort")
	return RolloutState{
		Active: str("spec", "strategy", "blueGreen", "activeService"), Preview: str("spec", "strategy", "blueGreen", "previewService"),
		Stable: str("status", "stableRS"), Current: str("status", "currentPodHash"),
		Phase: str("status", "phase"), Message: str("status", "message"),
		Paused: paused || len(conds) > 0, Aborted: aborted,
	}
}

// Promote unpauses the Rollout as `kubectl argo rollouts promote` does and
// waits until the new ReplicaSet is stable, the active Service selects its
// hash, and the active Service's EndpointSlices hold only its ready pods.
func (r Rollouts) Promote(ctx context.Context, ns, name string, progress func(string)) error {
	ro := r.Client.Resource(RolloutGVR).Namespace(ns)
	if _, err := ro.Patch(ctx, name, types.MergePatchType, []byte(`{"status":{"pauseConditions":null}}`), metav1.PatchOptions{FieldManager: FieldManager}, "status"); err != nil {
		return outcome.Externalf("promote Rollout %s/%s: clear pause: %w", ns, name, err)
	}
	if _, err := ro.Patch(ctx, name, types.MergePatchType, []byte(`{"spec":{"paused":false}}`), metav1.PatchOptions{FieldManager: FieldManager}); err != nil {
		return outcome.Externalf("promote Rollout %s/%s: %w", ns, name, err)
	}
	return r.wait(ctx, ns, name, progress, func(ctx context.Context, s RolloutState) (bool, string, error) {
		if !s.Promoted() {
			return false, s.String(), nil
		}
		return r.activeOn(ctx, ns, s, s.Current)
	})
}

// Abort aborts the Rollout: the controller points the active Service back
// at the stable ReplicaSet and scales the new one down. It waits until the
// active Service selects the stable hash and its EndpointSlices hold only
// stable pods. A Rollout whose new ReplicaSet is already stable has nothing
// to abort to: that is ErrPromoted.
func (r Rollouts) Abort(ctx context.Context, ns, name string, progress func(string)) error {
	s, err := r.ReadState(ctx, ns, name)
	if err != nil {
		return err
	}
	if s.Promoted() {
		return fmt.Errorf("rollout %s/%s: %w (stable = current = %s)", ns, name, ErrPromoted, s.Stable)
	}
	ro := r.Client.Resource(RolloutGVR).Namespace(ns)
	if _, err := ro.Patch(ctx, name, types.MergePatchType, []byte(`{"status":{"abort":true}}`), metav1.PatchOptions{FieldManager: FieldManager}, "status"); err != nil {
		return outcome.Externalf("abort Rollout %s/%s: %w", ns, name, err)
	}
	stable := s.Stable
	return r.wait(ctx, ns, name, progress, func(ctx context.Context, s RolloutState) (bool, string, error) {
		// status.abort is our own write; the controller reports that it
		// acted on it with phase Degraded (message "RolloutAborted: ...").
		if !s.Aborted || s.Phase != "Degraded" {
			return false, "abort not yet acted on; " + s.String(), nil
		}
		return r.activeOn(ctx, ns, s, stable)
	})
}

// ErrPromoted means an abort came after the promotion had completed: Argo
// Rollouts then has no older stable ReplicaSet to go back to.
var ErrPromoted = errors.New("already fully promoted: an abort does not move traffic back")

// State says whether a Rollout is fully promoted: its stable ReplicaSet is
// the current one.
func (r Rollouts) State(ctx context.Context, ns, name string) (promoted bool, err error) {
	s, err := r.ReadState(ctx, ns, name)
	return s.Promoted(), err
}

// WaitPreview waits until the Rollout can be verified: paused before its
// promotion, with its preview Service selecting the new ReplicaSet's hash
// and reaching only that ReplicaSet's ready pods; or, when there is
// nothing to promote (a first release, a re-sync of the live template),
// promoted, with its active Service on its one ReplicaSet. It returns the
// stable and the new ReplicaSet's hashes (the same one in the second case).
func (r Rollouts) WaitPreview(ctx context.Context, ns, name string, progress func(string)) (stable, current string, err error) {
	err = r.wait(ctx, ns, name, progress, func(ctx context.Context, s RolloutState) (bool, string, error) {
		stable, current = s.Stable, s.Current
		switch {
		case s.Stable == "" || s.Current == "":
			return false, s.String(), nil
		case s.Promoted():
			return r.activeOn(ctx, ns, s, s.Current)
		case !s.Paused:
			return false, "not paused for its promotion yet; " + s.String(), nil
		case s.Preview == "":
			return true, s.String() + "; no preview Service", nil
		}
		return r.serviceOn(ctx, ns, s.Preview, s, s.Current)
	})
	return stable, current, err
}

// activeOn proves that the Rollout's active Service selects hash and
// reaches only that ReplicaSet's ready pods.
func (r Rollouts) activeOn(ctx context.Context, ns string, s RolloutState, hash string) (bool, string, error) {
	return r.serviceOn(ctx, ns, s.Active, s, hash)
}

// serviceOn proves that Service name selects hash and reaches only that
// ReplicaSet's ready pods.
func (r Rollouts) serviceOn(ctx context.Context, ns, name string, s RolloutState, hash string) (bool, string, error) {
	svc, err := r.Kube.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return false, "", outcome.Externalf("read Service %s/%s: %w", ns, name, err)
	}
	if got := svc.Spec.Selector[HashLabel]; got != hash {
		return false, fmt.Sprintf("%s; Service %s selects %s", s, name, got), nil
	}
	n, err := reaches(ctx, r.Kube, ns, svc, HashLabel, hash)
	if err != nil {
		var ny notYet
		if errors.As(err, &ny) || errors.Is(err, ErrLeaks) {
			return false, fmt.Sprintf("%s; %v", s, err), nil
		}
		return false, "", err
	}
	return true, fmt.Sprintf("%s; Service %s → %d pod(s) of %s", s, name, n, hash), nil
}

func (r Rollouts) wait(ctx context.Context, ns, name string, progress func(string), done func(context.Context, RolloutState) (bool, string, error)) error {
	interval := r.Interval
	if interval == 0 {
		interval = 250 * time.Millisecond
	}
	last := ""
	err := wait.PollUntilContextCancel(ctx, interval, true, func(ctx context.Context) (bool, error) {
		s, err := r.ReadState(ctx, ns, name)
		if err != nil {
			return false, nil
		}
		ok, state, err := done(ctx, s)
		if err != nil {
			state = err.Error()
		}
		if state != last && progress != nil {
			progress(state)
		}
		last = state
		return ok, nil
	})
	if err != nil {
		return outcome.Externalf("Rollout %s/%s: not done before the deadline (%s): %w", ns, name, last, err)
	}
	return nil
}

// StableImages returns the images of the Rollout's stable ReplicaSet (the
// one labelled with status.stableRS), by container name.
func (r Rollouts) StableImages(ctx context.Context, ns, name string) (map[string]string, error) {
	s, err := r.ReadState(ctx, ns, name)
	if err != nil {
		return nil, err
	}
	if s.Stable == "" {
		return nil, outcome.Externalf("Rollout %s/%s has no stable ReplicaSet yet", ns, name)
	}
	rss, err := r.Kube.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{LabelSelector: HashLabel + "=" + s.Stable})
	if err != nil {
		return nil, outcome.Externalf("list ReplicaSets of Rollout %s/%s: %w", ns, name, err)
	}
	for i := range rss.Items {
		if rs := &rss.Items[i]; ownedByRollout(rs, name) {
			images := map[string]string{}
			for _, c := range rs.Spec.Template.Spec.Containers {
				images[c.Name] = c.Image
			}
			return images, nil
		}
	}
	return nil, outcome.Externalf("Rollout %s/%s: no ReplicaSet %s=%s", ns, name, HashLabel, s.Stable)
}

// revisionAnnotation numbers a Rollout's ReplicaSets.
const revisionAnnotation = "rollout.argoproj.io/revision"

// Undo goes back after a finished promotion, the way `kubectl argo
// rollouts undo` and then `promote --full` do: it sets the Rollout's
// template to its previous revision's ReplicaSet's (still up for
// scaleDownDelaySeconds, so no pod has to start) and promotes that at once.
// It waits until the active Service reaches only that ReplicaSet's pods,
// and returns its hash.
func (r Rollouts) Undo(ctx context.Context, ns, name string, progress func(string)) (string, error) {
	s, err := r.ReadState(ctx, ns, name)
	if err != nil {
		return "", err
	}
	prev, err := r.previous(ctx, ns, name, s.Stable)
	if err != nil {
		return "", err
	}
	hash := prev.Labels[HashLabel]
	tmpl := prev.Spec.Template.DeepCopy()
	delete(tmpl.Labels, HashLabel)
	patch, err := json.Marshal([]map[string]any{{"op": "replace", "path": "/spec/template", "value": tmpl}})
	if err != nil {
		return "", err
	}
	ro := r.Client.Resource(RolloutGVR).Namespace(ns)
	if _, err := ro.Patch(ctx, name, types.JSONPatchType, patch, metav1.PatchOptions{FieldManager: FieldManager}); err != nil {
		return "", outcome.Externalf("undo Rollout %s/%s to ReplicaSet %s: %w", ns, name, hash, err)
	}
	if _, err := ro.Patch(ctx, name, types.MergePatchType, []byte(`{"status":{"promoteFull":true}}`), metav1.PatchOptions{FieldManager: FieldManager}, "status"); err != nil {
		return "", outcome.Externalf("undo Rollout %s/%s: promote fully: %w", ns, name, err)
	}
	return hash, r.wait(ctx, ns, name, progress, func(ctx context.Context, s RolloutState) (bool, string, error) {
		if s.Current != hash || !s.Promoted() {
			return false, s.String(), nil
		}
		return r.activeOn(ctx, ns, s, hash)
	})
}

// previous is the Rollout's ReplicaSet of the highest revision below the
// one of hash.
func (r Rollouts) previous(ctx context.Context, ns, name, hash string) (*appsv1.ReplicaSet, error) {
	rss, err := r.Kube.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, outcome.Externalf("list ReplicaSets of Rollout %s/%s: %w", ns, name, err)
	}
	var owned []*appsv1.ReplicaSet
	cur := -1
	for i := range rss.Items {
		rs := &rss.Items[i]
		if !ownedByRollout(rs, name) {
			continue
		}
		owned = append(owned, rs)
		if rs.Labels[HashLabel] == hash {
			cur = revision(rs)
		}
	}
	var best *appsv1.ReplicaSet
	for _, rs := range owned {
		if n := revision(rs); n < cur && (best == nil || n > revision(best)) {
			best = rs
		}
	}
	if best == nil {
		return nil, outcome.Negativef("Rollout %s/%s: no revision before its stable ReplicaSet %s to go back to", ns, name, hash)
	}
	return best, nil
}

func ownedByRollout(rs *appsv1.ReplicaSet, name string) bool {
	for _, o := range rs.OwnerReferences {
		if o.Kind == "Rollout" && o.Name == name {
			return true
		}
	}
	return false
}

func revision(rs *appsv1.ReplicaSet) int {
	n, err := strconv.Atoi(rs.Annotations[revisionAnnotation])
	if err != nil {
		return -1
	}
	return n
}
