package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"gitlab.com/platform/bluegreen/internal/outcome"
)

// Capacity reads a colour's serving capacity and raises it: the Deployment's
// replicas, or, when a HorizontalPodAutoscaler owns the Deployment, the
// HPA's minReplicas.
type Capacity struct {
	Client   kubernetes.Interface
	Interval time.Duration // poll interval; 0 means 250 ms
}

// The annotations bluegreen puts on a HorizontalPodAutoscaler whose
// minReplicas (and maxReplicas) it raised to match the live colour: the
// values to restore once the rollback window is over (the other colour is
// retired). They are in git when git holds the raise.
const (
	AnnoMinBefore = "bluegreen.dev/min-replicas-before"
	AnnoMaxBefore = "bluegreen.dev/max-replicas-before"
)

// Size is a Deployment's capacity now.
type Size struct {
	Exists   bool
	Replicas int32  // spec.replicas
	Ready    int32  // status.readyReplicas
	HPA      string // the HPA that scales it, "" when none
	HPAMin   int32
	HPAMax   int32
	Raised   bool // the HPA carries AnnoMinBefore: bluegreen raised it and has not restored it yet
}

// Size reads a Deployment and the HPA that scales it. A missing Deployment
// is a zero Size, not an error.
func (c Capacity) Size(ctx context.Context, ns, deployment string) (Size, error) {
	d, err := c.Client.AppsV1().Deployments(ns).Get(ctx, deployment, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return Size{}, nil
	}
	if err != nil {
		return Size{}, outcome.Externalf("read Deployment %s/%s: %w", ns, deployment, err)
	}
	s := Size{Exists: true, Replicas: replicas(d), Ready: d.Status.ReadyReplicas}
	hpas, err := c.Client.AutoscalingV2().HorizontalPodAutoscalers(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return Size{}, outcome.Externalf("list HorizontalPodAutoscalers of %s: %w", ns, err)
	}
	for _, h := range hpas.Items {
		if h.Spec.ScaleTargetRef.Kind == "Deployment" && h.Spec.ScaleTargetRef.Name == deployment {
			s.HPA, s.HPAMax = h.Name, h.Spec.MaxReplicas
			s.HPAMin = 1
			if h.Spec.MinReplicas != nil {
				s.HPAMin = *h.Spec.MinReplicas
			}
			_, s.Raised = h.Annotations[AnnoMinBefore]
		}
	}
	return s, nil
}

// Raise makes the Deployment run at least n replicas by a direct patch: its
// HPA's minReplicas (and maxReplicas when below n) when it has one, noting
// the values before in AnnoMinBefore and AnnoMaxBefore (unless an earlier
// raise, not yet restored, noted them), else its scale.
func (c Capacity) Raise(ctx context.Context, ns, deployment string, s Size, n int32) error {
	if s.HPA != "" {
		spec := map[string]any{"minReplicas": n}
		notes := map[string]any{}
		if !s.Raised {
			notes[AnnoMinBefore] = fmt.Sprint(s.HPAMin)
		}
		if s.HPAMax < n {
			spec["maxReplicas"] = n
			if !s.Raised {
				notes[AnnoMaxBefore] = fmt.Sprint(s.HPAMax)
			}
		}
		body, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": notes}, "spec": spec})
		if err != nil {
			return fmt.Errorf("encode patch: %w", err)
		}
		if _, err := c.Client.AutoscalingV2().HorizontalPodAutoscalers(ns).Patch(ctx, s.HPA, types.MergePatchType, body, metav1.PatchOptions{FieldManager: FieldManager}); err != nil {
			return outcome.Externalf("raise minReplicas of HorizontalPodAutoscaler %s/%s to %d: %w", ns, s.HPA, n, err)
		}
		return nil
	}
	body, err := jsonPatchSpec(map[string]any{"replicas": n})
	if err != nil {
		return err
	}
	if _, err := c.Client.AppsV1().Deployments(ns).Patch(ctx, deployment, types.MergePatchType, body, metav1.PatchOptions{FieldManager: FieldManager}, "scale"); err != nil {
		return outcome.Externalf("scale Deployment %s/%s to %d: %w", ns, deployment, n, err)
	}
	return nil
}

// Restore puts back, by a direct patch, the minReplicas (and maxReplicas)
// that Raise noted on the HorizontalPodAutoscaler scaling the Deployment,
// and removes the notes. It says what it did, "" when there was nothing to
// restore. The HPA then scales the Deployment to its load again.
func (c Capacity) Restore(ctx context.Context, ns, deployment string) (string, error) {
	hpas, err := c.Client.AutoscalingV2().HorizontalPodAutoscalers(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return "", outcome.Externalf("list HorizontalPodAutoscalers of %s: %w", ns, err)
	}
	var done []string
	for _, h := range hpas.Items {
		if h.Spec.ScaleTargetRef.Kind != "Deployment" || h.Spec.ScaleTargetRef.Name != deployment {
			continue
		}
		spec, what, err := RestoredSpec(h.Name, h.Annotations)
		if err != nil || spec == nil {
			if err != nil {
				err = outcome.Externalf("HorizontalPodAutoscaler %s/%s: %w", ns, h.Name, err)
			}
			return "", err
		}
		body, err := json.Marshal(map[string]any{
			"metadata": map[string]any{"annotations": map[string]any{AnnoMinBefore: nil, AnnoMaxBefore: nil}},
			"spec":     spec,
		})
		if err != nil {
			return "", fmt.Errorf("encode patch: %w", err)
		}
		if _, err := c.Client.AutoscalingV2().HorizontalPodAutoscalers(ns).Patch(ctx, h.Name, types.MergePatchType, body, metav1.PatchOptions{FieldManager: FieldManager}); err != nil {
			return "", outcome.Externalf("restore HorizontalPodAutoscaler %s/%s (%s): %w", ns, h.Name, what, err)
		}
		done = append(done, what)
	}
	return strings.Join(done, "; "), nil
}

// RestoredSpec is the spec fields to set on the HorizontalPodAutoscaler
// name, given its annotations, to undo a raise (nil when it carries no
// raise), and a description. Annotations are read from the cluster or git,
// so a value that is not a replica count is an error.
func RestoredSpec(name string, annotations map[string]string) (map[string]any, string, error) {
	if _, ok := annotations[AnnoMinBefore]; !ok {
		return nil, "", nil
	}
	spec := map[string]any{}
	what := []string{}
	for _, a := range []struct{ anno, field string }{{AnnoMinBefore, "minReplicas"}, {AnnoMaxBefore, "maxReplicas"}} {
		v, ok := annotations[a.anno]
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil || n < 1 {
			return nil, "", fmt.Errorf("annotation %s: %q is not a replica count", a.anno, v)
		}
		spec[a.field] = n
		what = append(what, fmt.Sprintf("%s back to %d", a.field, n))
	}
	if max, ok := spec["maxReplicas"].(int64); ok && max < spec["minReplicas"].(int64) {
		return nil, "", fmt.Errorf("annotation %s: %d is below %s %d", AnnoMaxBefore, max, AnnoMinBefore, spec["minReplicas"])
	}
	return spec, "HorizontalPodAutoscaler " + name + " " + strings.Join(what, ", "), nil
}

// WaitReady polls until at least n of the Deployment's pods are Ready and,
// for each of services, in its EndpointSlices as ready endpoints. It
// returns how many pods are ready in all of them at the end; at ctx's end
// the error is a timeout (exit 3) that gives both counts.
func (c Capacity) WaitReady(ctx context.Context, ns, deployment string, services []string, n int32, progress func(string)) (int32, error) {
	interval := c.Interval
	if interval == 0 {
		interval = 250 * time.Millisecond
	}
	var got int32
	last := ""
	err := wait.PollUntilContextCancel(ctx, interval, true, func(ctx context.Context) (bool, error) {
		var state string
		got, state = c.readyIn(ctx, ns, deployment, services)
		if state != last && progress != nil {
			progress(state)
		}
		last = state
		return got >= n, nil
	})
	if err != nil {
		return got, outcome.Externalf("capacity: %s has %d of the %d pods needed Ready and in %v's endpoints (%s): %w", deployment, got, n, services, last, err)
	}
	return got, nil
}

// readyIn counts the Deployment's Ready pods that every Service reaches.
func (c Capacity) readyIn(ctx context.Context, ns, deployment string, services []string) (int32, string) {
	d, err := c.Client.AppsV1().Deployments(ns).Get(ctx, deployment, metav1.GetOptions{})
	if err != nil {
		return 0, err.Error()
	}
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil {
		return 0, err.Error()
	}
	pods, err := c.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return 0, err.Error()
	}
	ready := map[string]bool{}
	for _, p := range pods.Items {
		if p.Status.PodIP != "" && p.DeletionTimestamp == nil && podReady(&p) {
			ready[p.Status.PodIP] = true
		}
	}
	parts := []string{fmt.Sprintf("%d pod(s) Ready", len(ready))}
	for _, svc := range services {
		eps, err := c.Client.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + svc})
		if err != nil {
			return 0, err.Error()
		}
		in := map[string]bool{}
		for _, s := range eps.Items {
			for _, ep := range s.Endpoints {
				if ep.Conditions.Ready != nil && !*ep.Conditions.Ready {
					continue
				}
				for _, ip := range ep.Addresses {
					if ready[ip] {
						in[ip] = true
					}
				}
			}
		}
		ready = in
		parts = append(parts, fmt.Sprintf("%d in %s", len(in), svc))
	}
	return int32(len(ready)), strings.Join(parts, ", ")
}

// jsonPatchSpec is a merge patch of spec fields.
func jsonPatchSpec(spec map[string]any) ([]byte, error) {
	b, err := json.Marshal(map[string]any{"spec": spec})
	if err != nil {
		return nil, fmt.Errorf("encode patch: %w", err)
	}
	return b, nil
}
