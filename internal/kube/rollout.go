package kube

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"

	"gitlab.com/platform/bluegreen/internal/outcome"
)

// RolloutGVR is Argo Rollouts' Rollout resource.
var RolloutGVR = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "rollouts"}

// Rollouts drives an Argo Rollouts blue-green Rollout
// (autoPromotionEnabled: false) the way `kubectl argo rollouts` does:
// promote clears the pause, abort sets status.abort. The Rollouts controller
// then moves the active Service; bluegreen does not patch Services itself.
type Rollouts struct {
	Client   dynamic.Interface
	Interval time.Duration // poll interval; 0 means 250 ms
}

// Promote unpauses the Rollout and waits until the new ReplicaSet is stable
// (status.stableRS equals status.currentPodHash).
func (r Rollouts) Promote(ctx context.Context, ns, name string, progress func(string)) error {
	ro := r.Client.Resource(RolloutGVR).Namespace(ns)
	if _, err := ro.Patch(ctx, name, types.MergePatchType, []byte(`{"spec":{"paused":false}}`), metav1.PatchOptions{FieldManager: FieldManager}); err != nil {
		return outcome.Externalf("promote Rollout %s/%s: %w", ns, name, err)
	}
	if _, err := ro.Patch(ctx, name, types.MergePatchType, []byte(`{"status":{"pauseConditions":null}}`), metav1.PatchOptions{FieldManager: FieldManager}, "status"); err != nil {
		return outcome.Externalf("promote Rollout %s/%s: clear pause: %w", ns, name, err)
	}
	return r.wait(ctx, ns, name, progress, func(u *unstructured.Unstructured) (bool, string) {
		stable, _, _ := unstructured.NestedString(u.Object, "status", "stableRS")
		current, _, _ := unstructured.NestedString(u.Object, "status", "currentPodHash")
		return stable != "" && stable == current, fmt.Sprintf("stable %s, current %s", stable, current)
	})
}

// Abort aborts the Rollout: the controller points the active Service back
// at the stable ReplicaSet and scales the new one down.
func (r Rollouts) Abort(ctx context.Context, ns, name string, progress func(string)) error {
	ro := r.Client.Resource(RolloutGVR).Namespace(ns)
	if _, err := ro.Patch(ctx, name, types.MergePatchType, []byte(`{"status":{"abort":true}}`), metav1.PatchOptions{FieldManager: FieldManager}, "status"); err != nil {
		return outcome.Externalf("abort Rollout %s/%s: %w", ns, name, err)
	}
	return r.wait(ctx, ns, name, progress, func(u *unstructured.Unstructured) (bool, string) {
		aborted, _, _ := unstructured.NestedBool(u.Object, "status", "abort")
		phase, _, _ := unstructured.NestedString(u.Object, "status", "phase")
		return aborted, "abort " + fmt.Sprint(aborted) + ", phase " + phase
	})
}

// State says whether a Rollout is fully promoted: its stable ReplicaSet is
// the current one.
func (r Rollouts) State(ctx context.Context, ns, name string) (promoted bool, err error) {
	u, err := r.Client.Resource(RolloutGVR).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return false, outcome.Externalf("read Rollout %s/%s: %w", ns, name, err)
	}
	stable, _, _ := unstructured.NestedString(u.Object, "status", "stableRS")
	current, _, _ := unstructured.NestedString(u.Object, "status", "currentPodHash")
	return stable != "" && stable == current, nil
}

func (r Rollouts) wait(ctx context.Context, ns, name string, progress func(string), done func(*unstructured.Unstructured) (bool, string)) error {
	interval := r.Interval
	if interval == 0 {
		interval = 250 * time.Millisecond
	}
	last := ""
	err := wait.PollUntilContextCancel(ctx, interval, true, func(ctx context.Context) (bool, error) {
		u, err := r.Client.Resource(RolloutGVR).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		ok, state := done(u)
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
