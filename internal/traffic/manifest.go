package traffic

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"gitlab.com/platform/bluegreen/internal/kube"
	"gitlab.com/platform/bluegreen/internal/plan"
)

// This file is the switch itself, apart from where its manifests come
// from: promote and rollback take them from the rendered plan, drift --fix
// from the GitOps folder. Both point the active Services' manifests at a
// colour with SelectColor, retire a colour with Retire, clear the pending
// mark of a fast-path rollback with ClearPending, and do all of it under
// the environment lock with Locked.

// SwitchKeys are the annotations a switch writes to git: deterministic for
// a plan, so that a re-run gives the same bytes. The switch time, the end
// of the rollback window and the pending mark vary per run and live only on
// the Service.
var SwitchKeys = []string{kube.AnnoLive, kube.AnnoPrevious, kube.AnnoRevision, kube.AnnoPipelineID, kube.AnnoPipelineURL, kube.AnnoImage}

// SelectColor points an active Service's manifest at colour c: its
// selector's colour label becomes c, and its switch annotations (SwitchKeys)
// become exactly those of record, a key record lacks being removed. Other
// annotations, and keys of record outside SwitchKeys, are left alone.
func SelectColor(svc map[string]any, c plan.Color, record map[string]string) error {
	sel, found, err := unstructured.NestedMap(svc, "spec", "selector")
	switch {
	case err != nil:
		return fmt.Errorf("spec.selector: %w", err)
	case !found || len(sel) == 0:
		return fmt.Errorf("spec.selector: an active Service must select pods, and this one has no selector")
	}
	if err := unstructured.SetNestedField(svc, string(c), "spec", "selector", kube.ColorLabel); err != nil {
		return fmt.Errorf("spec.selector: %w", err)
	}
	ann, _, err := unstructured.NestedStringMap(svc, "metadata", "annotations")
	if err != nil {
		return fmt.Errorf("metadata.annotations: %w", err)
	}
	if ann == nil {
		ann = map[string]string{}
	}
	for _, k := range SwitchKeys {
		if v := record[k]; v != "" {
			ann[k] = v
		} else {
			delete(ann, k)
		}
	}
	if err := unstructured.SetNestedStringMap(svc, ann, "metadata", "annotations"); err != nil {
		return fmt.Errorf("metadata.annotations: %w", err)
	}
	return nil
}

// Retirement is what retiring a colour does to one of its objects.
type Retirement int

// What Retire does to an object.
const (
	Unchanged    Retirement = iota // kept as it is
	ScaledToZero                   // a Deployment, now with replicas 0
	Dropped                        // a HorizontalPodAutoscaler, deleted: it cannot scale to zero, and would scale the colour back up
)

// Retire returns obj as git holds it once its colour is retired, and what
// that did: a Deployment gets replicas 0, a HorizontalPodAutoscaler goes
// (nil), anything else is unchanged. obj itself is never modified; a
// Deployment already at zero is returned as it is, Unchanged.
func Retire(obj map[string]any) (map[string]any, Retirement, error) {
	u := unstructured.Unstructured{Object: obj}
	gvk := u.GroupVersionKind()
	switch {
	case gvk.Kind == "HorizontalPodAutoscaler" && gvk.Group == "autoscaling":
		return nil, Dropped, nil
	case gvk.Kind != "Deployment" || gvk.Group != "apps":
		return obj, Unchanged, nil
	}
	n, found, _ := unstructured.NestedFieldNoCopy(obj, "spec", "replicas")
	if found && isZero(n) {
		return obj, Unchanged, nil
	}
	out := runtime.DeepCopyJSON(obj)
	if err := unstructured.SetNestedField(out, int64(0), "spec", "replicas"); err != nil {
		return nil, Unchanged, fmt.Errorf("spec.replicas of Deployment %s: %w", u.GetName(), err)
	}
	return out, ScaledToZero, nil
}

func isZero(v any) bool {
	switch n := v.(type) {
	case int64:
		return n == 0
	case int:
		return n == 0
	case float64:
		return n == 0
	}
	return false
}

// ServiceMarks reads and annotates active Services.
type ServiceMarks interface {
	Active(ctx context.Context, ns, name string) (kube.Active, error)
	Annotate(ctx context.Context, ns, name string, annotations map[string]*string) error
}

// ClearPending removes the pending-reconcile mark a fast-path rollback left
// on the named active Services, once git agrees with them, and says so on
// out for each Service it cleared.
func ClearPending(ctx context.Context, svcs ServiceMarks, ns string, names []string, out io.Writer) error {
	for _, name := range names {
		a, err := svcs.Active(ctx, ns, name)
		if err != nil {
			return err
		}
		if a.Annotations[kube.AnnoPendingReconcile] == "" {
			continue
		}
		if err := svcs.Annotate(ctx, ns, name, map[string]*string{kube.AnnoPendingReconcile: nil}); err != nil {
			return err
		}
		fmt.Fprintf(out, "reconcile: Service %s no longer pending\n", name)
	}
	return nil
}

// Locked runs fn under the environment lock of app in ns. A lease lost
// while fn ran taints the run (its error), so that the job is re-run; a
// lock that cannot be released is only logged, as it expires by itself.
func Locked(ctx context.Context, l Lock, ns, app, holder string, log *slog.Logger, fn func() error) error {
	held, err := l.Acquire(ctx, ns, app, holder)
	if err != nil {
		return err
	}
	err = fn()
	if rerr := held.Release(context.WithoutCancel(ctx)); rerr != nil && log != nil {
		log.Warn("lock not released; it expires by itself", "err", rerr)
	}
	if err == nil {
		err = held.Err()
	}
	return err
}

// RestoreCapacity returns obj as git holds it once a capacity match's raise
// is over: a HorizontalPodAutoscaler carrying kube.AnnoMinBefore gets its
// minReplicas (and maxReplicas) back and loses the notes, and true. Any
// other object is returned as it is, with false; obj is never modified.
func RestoreCapacity(obj map[string]any) (map[string]any, bool, error) {
	u := unstructured.Unstructured{Object: obj}
	gvk := u.GroupVersionKind()
	if gvk.Kind != "HorizontalPodAutoscaler" || gvk.Group != "autoscaling" {
		return obj, false, nil
	}
	spec, _, err := kube.RestoredSpec(u.GetName(), u.GetAnnotations())
	if err != nil || spec == nil {
		if err != nil {
			err = fmt.Errorf("HorizontalPodAutoscaler %s: %w", u.GetName(), err)
		}
		return obj, false, err
	}
	out := unstructured.Unstructured{Object: runtime.DeepCopyJSON(obj)}
	for field, v := range spec {
		if err := unstructured.SetNestedField(out.Object, v, "spec", field); err != nil {
			return obj, false, fmt.Errorf("spec.%s of HorizontalPodAutoscaler %s: %w", field, u.GetName(), err)
		}
	}
	notes := out.GetAnnotations()
	delete(notes, kube.AnnoMinBefore)
	delete(notes, kube.AnnoMaxBefore)
	out.SetAnnotations(notes)
	return out.Object, true, nil
}
