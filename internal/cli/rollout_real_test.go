package cli

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"

	"gitlab.com/platform/bluegreen/internal/kube"
	"gitlab.com/platform/bluegreen/internal/plan"
)

// There is no Argo Rollouts controller here: the CRD is installed in the
// real apiserver and the test plays the controller by writing the status.
func TestRolloutReal_PromoteAndAbortDriveTheRollout(t *testing.T) {
	t.Parallel()
	c := realEnv.Cluster(t)
	ns := c.Namespace(t)
	ctx := context.Background()
	crd, err := os.ReadFile(filepath.Join("testdata", "rollout-crd.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Apply(ctx, "", crd); err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(c.Config())
	if err != nil {
		t.Fatal(err)
	}
	ro := dyn.Resource(kube.RolloutGVR).Namespace(ns)
	obj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
		"metadata": map[string]any{"name": "shop"},
		"spec": map[string]any{"paused": true, "strategy": map[string]any{"blueGreen": map[string]any{
			"activeService": "shop", "previewService": "shop-preview", "autoPromotionEnabled": false}}},
	}}
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		_, err := ro.Create(ctx, obj, metav1.CreateOptions{})
		return err == nil, nil // the CRD may need a moment to be served
	})
	if err != nil {
		t.Fatalf("create Rollout: %v", err)
	}
	setStatus(t, ro, map[string]any{"stableRS": "old", "currentPodHash": "new", "pauseConditions": []any{map[string]any{"reason": "BlueGreenPause"}}})

	out := t.TempDir()
	p := &plan.Plan{App: "shop", Namespace: ns, Image: "r.example.com/shop:2", LiveColor: plan.Blue, TargetColor: plan.Green,
		Workload: plan.Workload{Kind: "Rollout", Name: "shop"}}
	p.Append(plan.Result{Stage: plan.Sync, Outcome: "ok", Started: time.Now(), Finished: time.Now()})
	if err := p.Save(out); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"BG_OUT": out, "KUBECONFIG": roleKubeconfig(t, c, ns, "bluegreen"), "BG_DIRECT": "true", "BG_TIMEOUT": "20s",
		"BG_REQUIRE_VERIFICATION": "false", "BG_REQUIRE_APPROVAL": "false"}

	// Play the controller: once bluegreen unpauses, the new ReplicaSet becomes stable.
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 20*time.Second, true, func(ctx context.Context) (bool, error) {
			u, err := ro.Get(ctx, "shop", metav1.GetOptions{})
			if err != nil {
				return false, nil
			}
			paused, _, _ := unstructured.NestedBool(u.Object, "spec", "paused")
			conds, _, _ := unstructured.NestedSlice(u.Object, "status", "pauseConditions")
			if paused || len(conds) > 0 {
				return false, nil
			}
			_ = unstructured.SetNestedField(u.Object, "new", "status", "stableRS")
			_, err = ro.UpdateStatus(ctx, u, metav1.UpdateOptions{})
			return err == nil, nil
		})
	}()
	code, stdout, errOut := runCLI(t, env, "promote")
	<-done
	if code != 0 {
		t.Fatalf("promote: exit %d\n%s\n%s", code, stdout, errOut)
	}
	u, _ := ro.Get(ctx, "shop", metav1.GetOptions{})
	if stable, _, _ := unstructured.NestedString(u.Object, "status", "stableRS"); stable != "new" {
		t.Fatalf("Rollout not promoted: %v", u.Object["status"])
	}

	code, stdout, errOut = runCLI(t, env, "rollback")
	if code != 0 {
		t.Fatalf("rollback: exit %d\n%s\n%s", code, stdout, errOut)
	}
	u, _ = ro.Get(ctx, "shop", metav1.GetOptions{})
	if abort, _, _ := unstructured.NestedBool(u.Object, "status", "abort"); !abort {
		t.Fatalf("Rollout not aborted: %v", u.Object["status"])
	}
	saved, _ := plan.Load(out)
	if saved.Traffic == nil || saved.Traffic.Mode != "rollout" || saved.Traffic.Live != plan.Blue {
		t.Fatalf("plan traffic = %+v", saved.Traffic)
	}
}

func setStatus(t *testing.T, ro dynamic.ResourceInterface, status map[string]any) {
	t.Helper()
	u, err := ro.Get(context.Background(), "shop", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	u.Object["status"] = status
	if _, err := ro.UpdateStatus(context.Background(), u, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}
