package cli

import (
	"context"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"gitlab.com/platform/bluegreen/internal/kube"
	"gitlab.com/platform/bluegreen/internal/plan"
)

// greenSynced is a world with blue live and green synced: the state a
// promote starts from.
func greenSynced(t *testing.T) *world {
	t.Helper()
	w := newWorld(t)
	for i, image := range []string{"registry.example.com/shop:1", "registry.example.com/shop:2"} {
		env := map[string]string{"CI_PIPELINE_ID": "10", "CI_PROJECT_PATH": "shop/web"}
		if code, out, errOut := w.release(shopManifests(t), image, env); code != 0 {
			t.Fatalf("release %d: exit %d\n%s\n%s", i+1, code, out, errOut)
		}
	}
	return w
}

func (w *world) run(mode string, extra map[string]string, args ...string) (int, string, string) {
	w.t.Helper()
	env := w.env(map[string]string{"CI_PIPELINE_ID": "10", "CI_PROJECT_PATH": "shop/web"})
	for k, v := range extra {
		env[k] = v
	}
	return runCLI(w.t, env, append([]string{mode}, args...)...)
}

func (w *world) replicas(t *testing.T, deployment string) int32 {
	t.Helper()
	d, err := w.cluster.Client().AppsV1().Deployments(w.ns).Get(context.Background(), deployment, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return ptr.Deref(d.Spec.Replicas, 1)
}

func TestPromoteReal_SwitchesToGreenKeepsBlueWarmAndReRunIsANoOp(t *testing.T) {
	t.Parallel()
	w := greenSynced(t)
	code, out, errOut := w.run("promote", nil)
	if code != 0 {
		t.Fatalf("promote: exit %d\n%s\n%s", code, out, errOut)
	}
	assertActiveSelects(t, w, plan.Green)
	assertPreviewOnly(t, w, "shop", plan.Green)
	if n := w.replicas(t, "shop-blue"); n != 2 {
		t.Errorf("blue has %d replicas after promote, want 2 (kept warm)", n)
	}
	svc, err := w.cluster.Client().CoreV1().Services(w.ns).Get(context.Background(), "shop", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{kube.AnnoLive: "green", kube.AnnoPrevious: "blue", kube.AnnoPipelineID: "10"} {
		if svc.Annotations[k] != want {
			t.Errorf("annotation %s = %q, want %q", k, svc.Annotations[k], want)
		}
	}
	if svc.Annotations[kube.AnnoSwitchedAt] == "" || svc.Annotations[kube.AnnoIdleUntil] == "" {
		t.Errorf("switch not stamped: %v", svc.Annotations)
	}
	p, err := plan.Load(w.out)
	if err != nil {
		t.Fatal(err)
	}
	if p.Traffic == nil || p.Traffic.Live != plan.Green || p.Traffic.Mode != "gitops" || p.Traffic.Revision == "" {
		t.Fatalf("plan traffic = %+v", p.Traffic)
	}
	if got := gitShow(t, w, "HEAD:production/shop/shared/service-shop.yaml"); !strings.Contains(got, "bluegreen.dev/color: green") {
		t.Errorf("git does not say green:\n%s", got)
	}
	head := gitHead(t, w)
	code, out, errOut = w.run("promote", nil)
	if code != 0 || gitHead(t, w) != head || !strings.Contains(out, "already select green") {
		t.Fatalf("re-run: exit %d, new commit %v\n%s\n%s", code, gitHead(t, w) != head, out, errOut)
	}
}

func TestRollbackReal_GoesBackToBlueAndRetiresGreen(t *testing.T) {
	t.Parallel()
	w := greenSynced(t)
	if code, out, errOut := w.run("promote", nil); code != 0 {
		t.Fatalf("promote: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, errOut := w.run("rollback", nil)
	if code != 0 {
		t.Fatalf("rollback: exit %d\n%s\n%s", code, out, errOut)
	}
	assertActiveSelects(t, w, plan.Blue)
	assertPreviewOnly(t, w, "shop", plan.Blue)
	if n := w.replicas(t, "shop-green"); n != 0 {
		t.Errorf("green has %d replicas after rollback, want 0", n)
	}
	if got := gitShow(t, w, "HEAD:production/shop/green/deployment-shop-green.yaml"); !strings.Contains(got, "replicas: 0") {
		t.Errorf("git does not retire green:\n%s", got)
	}
}

func TestRollbackReal_FastPathWhenArgoCDIsDownThenReconciles(t *testing.T) {
	t.Parallel()
	w := greenSynced(t)
	if code, out, errOut := w.run("promote", nil); code != 0 {
		t.Fatalf("promote: exit %d\n%s\n%s", code, out, errOut)
	}
	head := gitHead(t, w)
	// Argo CD is down: nothing listens at its address any more.
	start := time.Now()
	code, out, errOut := w.run("rollback", map[string]string{"BG_ARGOCD_SERVER": "127.0.0.1:1"})
	if code != 0 {
		t.Fatalf("fast rollback: exit %d\n%s\n%s", code, out, errOut)
	}
	t.Logf("fast-path rollback took %s", time.Since(start))
	assertActiveSelects(t, w, plan.Blue)
	assertPreviewOnly(t, w, "shop", plan.Blue)
	if !strings.Contains(out, "fast path (Argo CD unreachable") {
		t.Errorf("no fast path in the log:\n%s", out)
	}
	svc, _ := w.cluster.Client().CoreV1().Services(w.ns).Get(context.Background(), "shop", metav1.GetOptions{})
	if svc.Annotations[kube.AnnoPendingReconcile] == "" {
		t.Fatalf("no pending-reconcile mark: %v", svc.Annotations)
	}
	p, _ := plan.Load(w.out)
	if p.Traffic == nil || p.Traffic.PendingReconcile == "" {
		t.Fatalf("plan does not record the pending reconcile: %+v", p.Traffic)
	}
	if gitHead(t, w) != head {
		t.Errorf("git changed although Argo CD was down: a commit nothing syncs")
	}
	// Argo CD is back: the next rollback reconciles git and Argo CD.
	code, out, errOut = w.run("rollback", nil)
	if code != 0 {
		t.Fatalf("reconcile: exit %d\n%s\n%s", code, out, errOut)
	}
	svc, _ = w.cluster.Client().CoreV1().Services(w.ns).Get(context.Background(), "shop", metav1.GetOptions{})
	if svc.Annotations[kube.AnnoPendingReconcile] != "" {
		t.Errorf("pending-reconcile still set after reconcile")
	}
	if got := gitShow(t, w, "HEAD:production/shop/shared/service-shop.yaml"); !strings.Contains(got, "bluegreen.dev/color: blue") {
		t.Errorf("git not reconciled:\n%s", got)
	}
	assertActiveSelects(t, w, plan.Blue)
}

func TestPromoteReal_SecondPipelineIsRefusedWithExit4(t *testing.T) {
	t.Parallel()
	w := greenSynced(t)
	now := metav1.NewMicroTime(time.Now())
	lease := &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: "bluegreen-shop"},
		Spec:       coordinationv1.LeaseSpec{HolderIdentity: ptr.To("pipeline 99 of shop/web"), LeaseDurationSeconds: ptr.To(int32(300)), AcquireTime: &now, RenewTime: &now},
	}
	if _, err := w.cluster.Client().CoordinationV1().Leases(w.ns).Create(context.Background(), lease, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := w.run("promote", nil)
	if code != 4 || !strings.Contains(errOut, `held by "pipeline 99 of shop/web" since`) {
		t.Fatalf("exit %d, want 4 naming the holder\n%s\n%s", code, out, errOut)
	}
	assertActiveSelects(t, w, plan.Blue)
}

func TestPromoteReal_OutdatedPipelineIsRefused(t *testing.T) {
	t.Parallel()
	w := greenSynced(t)
	// A newer pipeline (20) made blue live after this one (10) rendered.
	if err := (kube.Services{Client: w.cluster.Client()}).Annotate(context.Background(), w.ns, "shop",
		map[string]*string{kube.AnnoPipelineID: ptr.To("20"), kube.AnnoPipelineURL: ptr.To("https://gitlab.example.com/shop/web/-/pipelines/20")}); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := w.run("promote", nil)
	if code != 1 || !strings.Contains(errOut, "outdated pipeline") || !strings.Contains(errOut, "pipeline 20") {
		t.Fatalf("exit %d, want 1 (outdated)\n%s\n%s", code, out, errOut)
	}
	assertActiveSelects(t, w, plan.Blue)
}

func TestRollbackReal_FirstReleaseHasNothingToRollBackTo(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	if code, out, errOut := w.release(shopManifests(t), "registry.example.com/shop:1", nil); code != 0 {
		t.Fatalf("release: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, errOut := w.run("rollback", nil)
	if code != 0 || !strings.Contains(out, "no earlier colour to go back to") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	assertActiveSelects(t, w, plan.Blue)
}

func gitShow(t testing.TB, w *world, rev string) string {
	t.Helper()
	out, err := gitOutput(w.repo.Dir(), "show", rev)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
