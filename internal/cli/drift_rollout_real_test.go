package cli

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"

	"gitlab.com/platform/bluegreen/internal/drift"
	"gitlab.com/platform/bluegreen/internal/kube"
)

// drift on a Rollout app, against the real Argo Rollouts controller and
// Argo CD: clean after a promotion, a paused release expected, and an
// active Service flipped by hand to the old ReplicaSet named.
func TestDriftRolloutReal_CleanThenPausedThenActiveFlippedByHandIsNamed(t *testing.T) {
	t.Parallel()
	w := rolloutWorld(t)
	h1, h2 := w.pausedRelease(t, "registry.example.com/shop:2")
	code, out, r := w.drift(t, nil)
	if code != 0 {
		t.Fatalf("paused Rollout: exit %d, want 0\n%s", code, out)
	}
	wantFinding(t, r, drift.CheckPreview, drift.Expected, "paused", "Rollout/shop")
	if code, out, errOut := runCLI(t, w.env(nil), "promote"); code != 0 {
		t.Fatalf("promote: exit %d\n%s\n%s", code, out, errOut)
	}
	w.waitActiveOn(t, "shop", h2)

	code, out, r = w.drift(t, nil)
	if code != 0 {
		t.Fatalf("clean Rollout app: exit %d, want 0\n%s", code, out)
	}
	if len(r.Apps) != 1 || r.Apps[0].App != "shop" {
		t.Fatalf("apps found by label: %+v", r.Apps)
	}
	wantFinding(t, r, drift.CheckGit, drift.Expected, "argo-rollouts", "Service/shop")

	// The old ReplicaSet is still up (scaleDownDelaySeconds): send the
	// active Service back to it by hand. The controller watches the
	// Service and puts its own selector back at once.
	flip := fmt.Sprintf(`{"spec":{"selector":{%q:%q}}}`, kube.HashLabel, h1)
	start := time.Now()
	w.patch(t, "Service", "shop", types.MergePatchType, flip)
	w.waitActiveOn(t, "shop", h2)
	t.Logf("the controller put the active Service back on %s %s after the flip", h2, time.Since(start).Round(time.Millisecond))

	// With the controller away from this Rollout (another controller
	// instance's label, as when it is down), the flip stays, and drift
	// names it.
	dyn, err := dynamic.NewForConfig(w.cluster.Config())
	if err != nil {
		t.Fatal(err)
	}
	away := `{"metadata":{"labels":{"argo-rollouts.argoproj.io/controller-instance-id":"away"}}}`
	if _, err := dyn.Resource(kube.RolloutGVR).Namespace(w.ns).Patch(context.Background(), "shop", types.MergePatchType, []byte(away), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond) // let the controller's informer see the label
	w.patch(t, "Service", "shop", types.MergePatchType, flip)
	w.waitActiveOn(t, "shop", h1)
	time.Sleep(500 * time.Millisecond)
	w.waitActiveOn(t, "shop", h1) // still flipped: nobody puts it back
	code, out, r = w.drift(t, nil)
	if code != 1 {
		t.Fatalf("active Service flipped by hand: exit %d, want 1\n%s", code, out)
	}
	f := wantFinding(t, r, drift.CheckActive, drift.Dangerous, "not-stable", "Service/shop")
	if !strings.Contains(f.Message, h1) || !strings.Contains(f.Message, h2) || !strings.Contains(out, "Service/shop") {
		t.Fatalf("the finding does not name both ReplicaSets: %s\n%s", f.Message, out)
	}
}
