package kube

import (
	"context"
	"encoding/json"
	"fmt"
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

// Size is a Deployment's capacity now.
type Size struct {
	Exists   bool
	Replicas int32  // spec.replicas
	Ready    int32  // status.readyReplicas
	HPA      string // the HPA that scales it, "" when none
	HPAMin   int32
	HPAMax   int32
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
		}
	}
	return s, nil
}

// Raise makes the Deployment run at least n replicas by a direct patch: its
// HPA's minReplicas (and maxReplicas when below n) when it has one, else its
// scale.
func (c Capacity) Raise(ctx context.Context, ns, deployment string, s Size, n int32) error {
	if s.HPA != "" {
		patch := map[string]any{"minReplicas": n}
		if s.HPAMax < n {
			patch["maxReplicas"] = n
		}
		body, err := jsonPatchSpec(patch)
		if err != nil {
			return err
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

// Lower sets the HPA's minReplicas back to min, by a direct patch.
func (c Capacity) Lower(ctx context.Context, ns, hpa string, min int32) error {
	body, err := jsonPatchSpec(map[string]any{"minReplicas": min})
	if err != nil {
		return err
	}
	if _, err := c.Client.AutoscalingV2().HorizontalPodAutoscalers(ns).Patch(ctx, hpa, types.MergePatchType, body, metav1.PatchOptions{FieldManager: FieldManager}); err != nil {
		return outcome.Externalf("restore minReplicas of HorizontalPodAutoscaler %s/%s to %d: %w", ns, hpa, min, err)
	}
	return nil
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
