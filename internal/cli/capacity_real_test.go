package cli

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"gitlab.com/platform/bluegreen/internal/drift"
	"gitlab.com/platform/bluegreen/internal/kube"
)

// hpaState is an HPA's minReplicas and its capacity-match notes, as the
// cluster holds them.
func (w *world) hpaState(t *testing.T, name string) string {
	t.Helper()
	h, err := w.cluster.Client().AutoscalingV2().HorizontalPodAutoscalers(w.ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	min := int32(1)
	if h.Spec.MinReplicas != nil {
		min = *h.Spec.MinReplicas
	}
	return fmt.Sprintf("min %d max %d before %q", min, h.Spec.MaxReplicas, h.Annotations[kube.AnnoMinBefore])
}

// A promote's raise lasts the rollback window: green's HPA keeps
// minReplicas 6 in git and the cluster, noting the 2 it had, until drift
// --fix retires blue; the same commit gives green's HPA its 2 back.
func TestCapacityReal_PromotesRaiseIsRestoredWhenDriftRetiresTheOldColour(t *testing.T) {
	t.Parallel()
	w, _, _ := servedWorld(t, dataplaneManifests("shop-hpa"), scaledOutBlue(t))
	w.waitReady(t, "shop-green", 2)
	if code, out, errOut := w.run("promote", nil); code != 0 {
		t.Fatalf("promote: exit %d\n%s\n%s", code, out, errOut)
	}
	const file = "HEAD:production/shop/green/horizontalpodautoscaler-shop-green.yaml"
	if got := gitShow(t, w, file); !strings.Contains(got, "minReplicas: 6") || !strings.Contains(got, kube.AnnoMinBefore+`: "2"`) {
		t.Fatalf("during the window git does not hold the raise and what it replaced:\n%s", got)
	}
	if got := w.hpaState(t, "shop-green"); got != `min 6 max 10 before "2"` {
		t.Fatalf("during the window green's HPA is %s", got)
	}
	past := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	w.patch(t, "Service", "shop", types.MergePatchType, `{"metadata":{"annotations":{"bluegreen.dev/idle-until":"`+past+`"}}}`)
	code, out, r := w.drift(t, nil, "--fix")
	if code != 0 || len(r.Fixes) != 1 || r.Fixes[0].Action != drift.FixScaleDown || r.Fixes[0].Status != "done" {
		t.Fatalf("--fix: exit %d, fixes %+v\n%s", code, r.Fixes, out)
	}
	if !strings.Contains(r.Fixes[0].Message, "minReplicas restored on HorizontalPodAutoscaler shop-green") {
		t.Errorf("the fix does not say it restored green's HPA: %q", r.Fixes[0].Message)
	}
	got := gitShow(t, w, file)
	if !strings.Contains(got, "minReplicas: 2") || strings.Contains(got, kube.AnnoMinBefore) {
		t.Errorf("after the window git's green HPA is not back to minReplicas 2 without notes:\n%s", got)
	}
	if got := gitShow(t, w, "HEAD"); !strings.Contains(got, "the capacity match's minReplicas restored") {
		t.Errorf("the retirement commit does not say it restored the HPA:\n%s", got)
	}
	if got := w.hpaState(t, "shop-green"); got != `min 2 max 10 before ""` {
		t.Errorf("after the window green's HPA is %s, want min 2 and no note", got)
	}
	if n := w.replicas(t, "shop-blue"); n != 0 {
		t.Errorf("shop-blue has %d replicas after --fix, want 0", n)
	}
	if code, out, r := w.drift(t, nil); code != 0 {
		t.Errorf("drift after the repair: exit %d, want 0 (clean)\n%s\n%+v", code, out, r.Apps)
	}
}

// A rollback raises blue, which its HPA shrank once it lost its traffic,
// directly (its files are not in the plan), and restores that raise once
// it has retired green.
func TestCapacityReal_RollbacksDirectRaiseIsRestoredAfterTheRetirement(t *testing.T) {
	t.Parallel()
	w, _, _ := servedWorld(t, dataplaneManifests("shop-hpa"), scaledOutBlue(t))
	w.waitReady(t, "shop-green", 2)
	if code, out, errOut := w.run("promote", nil); code != 0 {
		t.Fatalf("promote: exit %d\n%s\n%s", code, out, errOut)
	}
	w.patch(t, "Deployment", "shop-blue", types.MergePatchType, `{"spec":{"replicas":2}}`)
	w.waitReady(t, "shop-blue", 2)
	code, out, errOut := w.run("rollback", nil)
	if code != 0 {
		t.Fatalf("rollback: exit %d\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{
		"capacity: live green has 6 ready pod(s), blue has 2",
		"capacity: HorizontalPodAutoscaler shop-blue minReplicas 2 → 6 directly",
		"capacity: HorizontalPodAutoscaler shop-blue minReplicas back to 2, now that blue is the only colour",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("rollback's log lacks %q:\n%s", want, out)
		}
	}
	if i, j := strings.Index(out, "delete production/shop/green/horizontalpodautoscaler-shop-green.yaml"), strings.Index(out, "minReplicas back to 2"); i < 0 || j < i {
		t.Errorf("blue's raise is restored before green is retired:\n%s", out)
	}
	if got := w.hpaState(t, "shop-blue"); got != `min 2 max 10 before ""` {
		t.Errorf("after the rollback blue's HPA is %s, want min 2 and no note", got)
	}
	if got := gitShow(t, w, "HEAD:production/shop/blue/horizontalpodautoscaler-shop-blue.yaml"); !strings.Contains(got, "minReplicas: 2") || strings.Contains(got, kube.AnnoMinBefore) {
		t.Errorf("git's blue HPA changed:\n%s", got)
	}
}
