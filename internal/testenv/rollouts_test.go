package testenv_test

import (
	"context"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
)

const blueGreenRollout = `apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: registry.example.com/web:1}]}
  strategy: {blueGreen: {activeService: web, autoPromotionEnabled: false}}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {selector: {app: web}, ports: [{port: 80}]}
`

// The real Argo Rollouts controller takes a first blue-green revision to
// Healthy with kwok's pods, and points the active Service at its
// ReplicaSet by the pod template hash.
func TestRollouts_ControllerTakesABlueGreenRolloutToHealthy(t *testing.T) {
	t.Parallel()
	c := env.Cluster(t)
	env.Rollouts(t)
	ns := c.Namespace(t)
	ctx := testContext(t)
	if err := c.Apply(ctx, ns, []byte(blueGreenRollout)); err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(c.Config())
	if err != nil {
		t.Fatal(err)
	}
	ro := dyn.Resource(schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "rollouts"}).Namespace(ns)
	start := time.Now()
	var phase, stable string
	err = wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		u, err := ro.Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		phase, _, _ = unstructured.NestedString(u.Object, "status", "phase")
		stable, _, _ = unstructured.NestedString(u.Object, "status", "stableRS")
		return phase == "Healthy" && stable != "", nil
	})
	if err != nil {
		t.Fatalf("Rollout not Healthy: phase %q, stable %q", phase, stable)
	}
	t.Logf("Healthy in %s", time.Since(start).Round(time.Millisecond))
	svc, err := c.Client().CoreV1().Services(ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil || svc.Spec.Selector["rollouts-pod-template-hash"] != stable {
		t.Fatalf("active Service: %v %v, want hash %s", err, svc.Spec.Selector, stable)
	}
}
