package cli

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"

	"gitlab.com/platform/bluegreen/internal/kube"
	"gitlab.com/platform/bluegreen/internal/plan"
)

// These tests run Rollout-based apps against the real Argo Rollouts
// controller (one per test binary, see testenv.Env.Rollouts), through the
// real Argo CD, whose built-in health check for Rollouts calls a Rollout
// paused before its promotion Suspended and an aborted one Degraded.

func rolloutManifests() string { return filepath.Join("testdata", "rollout-shop") }

// rolloutWorld is a world whose app is a blue-green Rollout, with the
// first release synced: its one ReplicaSet is stable and behind both
// Services.
func rolloutWorld(t *testing.T) *world {
	t.Helper()
	realEnv.Rollouts(t)
	w := newWorld(t)
	if code, out, errOut := w.release(rolloutManifests(), "registry.example.com/shop:1", nil); code != 0 {
		t.Fatalf("first release: exit %d\n%s\n%s", code, out, errOut)
	}
	st := w.rollout(t)
	if !st.Promoted() {
		t.Fatalf("first release: Rollout not stable: %s", st)
	}
	w.waitActiveOn(t, "shop", st.Stable)
	return w
}

// rollout reads the Rollout's state.
func (w *world) rollout(t testing.TB) kube.RolloutState {
	t.Helper()
	dyn, err := dynamic.NewForConfig(w.cluster.Config())
	if err != nil {
		t.Fatal(err)
	}
	st, err := kube.Rollouts{Client: dyn}.ReadState(context.Background(), w.ns, "shop")
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// waitActiveOn waits until Service svc selects the ReplicaSet hash and its
// EndpointSlices hold exactly that ReplicaSet's ready pods.
func (w *world) waitActiveOn(t testing.TB, svc, hash string) {
	t.Helper()
	var last string
	err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		last = w.reaches(ctx, svc, hash)
		return last == "", nil
	})
	if err != nil {
		t.Fatalf("Service %s not on ReplicaSet %s: %s", svc, hash, last)
	}
}

// reaches says why Service svc does not reach exactly hash's ready pods,
// or "" when it does.
func (w *world) reaches(ctx context.Context, svc, hash string) string {
	c := w.cluster.Client()
	s, err := c.CoreV1().Services(w.ns).Get(ctx, svc, metav1.GetOptions{})
	if err != nil {
		return err.Error()
	}
	if got := s.Spec.Selector[kube.HashLabel]; got != hash {
		return "selects " + got
	}
	pods, err := c.CoreV1().Pods(w.ns).List(ctx, metav1.ListOptions{LabelSelector: kube.HashLabel + "=" + hash})
	if err != nil {
		return err.Error()
	}
	var want []string
	for _, p := range pods.Items {
		if p.Status.PodIP != "" && p.DeletionTimestamp == nil && podIsReady(&p) {
			want = append(want, p.Status.PodIP)
		}
	}
	got, err := sliceIPs(ctx, w, svc)
	if err != nil {
		return err.Error()
	}
	sort.Strings(want)
	if len(want) == 0 || strings.Join(got, ",") != strings.Join(want, ",") {
		return fmt.Sprintf("endpoints %v, ready pods of %s %v", got, hash, want)
	}
	return ""
}

func sliceIPs(ctx context.Context, w *world, svc string) ([]string, error) {
	eps, err := w.cluster.Client().DiscoveryV1().EndpointSlices(w.ns).List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + svc})
	if err != nil {
		return nil, err
	}
	var ips []string
	for _, s := range eps.Items {
		for _, ep := range s.Endpoints {
			if ep.Conditions.Ready == nil || *ep.Conditions.Ready {
				ips = append(ips, ep.Addresses...)
			}
		}
	}
	sort.Strings(ips)
	return ips, nil
}

func podIsReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// pausedRelease renders and syncs image, and checks what the sync left:
// the Rollout paused, the preview on the new ReplicaSet, the active Service
// unchanged. It returns the stable and the new hash.
func (w *world) pausedRelease(t *testing.T, image string) (stable, next string) {
	t.Helper()
	before := w.rollout(t)
	code, out, errOut := w.release(rolloutManifests(), image, nil)
	if code != 0 {
		t.Fatalf("sync %s: exit %d\n%s\n%s", image, code, out, errOut)
	}
	st := w.rollout(t)
	if !st.Paused || st.Promoted() || st.Stable != before.Stable {
		t.Fatalf("after sync of %s: Rollout %s, paused %v (stable before: %s)\n%s", image, st, st.Paused, before.Stable, out)
	}
	w.waitActiveOn(t, "shop-preview", st.Current)
	if why := w.reaches(context.Background(), "shop", st.Stable); why != "" {
		t.Fatalf("after sync of %s: the active Service moved: %s", image, why)
	}
	return st.Stable, st.Current
}

func TestRolloutReal_SyncPausesPromoteMovesActiveAbortGoesBackAndGitFollows(t *testing.T) {
	t.Parallel()
	w := rolloutWorld(t)
	h1, h2 := w.pausedRelease(t, "registry.example.com/shop:2")

	code, out, errOut := runCLI(t, w.env(nil), "promote")
	if code != 0 {
		t.Fatalf("promote: exit %d\n%s\n%s", code, out, errOut)
	}
	t.Logf("promote:\n%s", out)
	if st := w.rollout(t); st.Stable != h2 || !st.Promoted() {
		t.Fatalf("after promote: %s (was %s → %s)", st, h1, h2)
	}
	if why := w.reaches(context.Background(), "shop", h2); why != "" {
		t.Fatalf("promote returned before the active Service reached only the new pods: %s", why)
	}

	// The next release is aborted: traffic stays on (or goes back to) h2.
	_, h3 := w.pausedRelease(t, "registry.example.com/shop:3")
	head := gitHead(t, w)
	code, out, errOut = runCLI(t, w.env(nil), "rollback")
	if code != 0 {
		t.Fatalf("rollback: exit %d\n%s\n%s", code, out, errOut)
	}
	t.Logf("rollback:\n%s", out)
	if why := w.reaches(context.Background(), "shop", h2); why != "" {
		t.Fatalf("after rollback: the active Service is not on the stable %s: %s", h2, why)
	}
	// git held the aborted image; the rollback committed the stable one,
	// and the Rollout, back on its stable template, is no longer aborted.
	if gitHead(t, w) == head || !strings.Contains(out, "reconcile: git holds the stable images") {
		t.Fatalf("rollback did not reconcile git:\n%s", out)
	}
	data, err := gitOutput(w.repo.Dir(), "show", "refs/heads/main:production/shop/shared/rollout-shop.yaml")
	if err != nil || !strings.Contains(data, "registry.example.com/shop:2") {
		t.Fatalf("git after the rollback: %v\n%s", err, data)
	}
	if st := w.rollout(t); st.Stable != h2 || st.Current != h2 || st.Aborted {
		t.Fatalf("after the reconcile: %s aborted %v (aborted %s)", st, st.Aborted, h3)
	}
}

// A promoted Rollout has no older stable ReplicaSet: an abort moves
// nothing, so rollback (and monitor's) undoes it to the previous revision,
// still warm, and commits that revision's images to git.
func TestRolloutReal_RollbackAfterAFinishedPromotionUndoesToTheWarmRevision(t *testing.T) {
	t.Parallel()
	w := rolloutWorld(t)
	h1, h2 := w.pausedRelease(t, "registry.example.com/shop:2")
	if code, out, errOut := runCLI(t, w.env(nil), "promote"); code != 0 {
		t.Fatalf("promote: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, errOut := runCLI(t, w.env(nil), "rollback")
	if code != 0 || !strings.Contains(out, "undoing to the previous revision") {
		t.Fatalf("rollback after promote: exit %d, want 0 through an undo\n%s\n%s", code, out, errOut)
	}
	t.Logf("rollback after promote:\n%s", out)
	if why := w.reaches(context.Background(), "shop", h1); why != "" {
		t.Fatalf("after the undo: the active Service is not on %s (was %s): %s", h1, h2, why)
	}
	data, err := gitOutput(w.repo.Dir(), "show", "refs/heads/main:production/shop/shared/rollout-shop.yaml")
	if err != nil || !strings.Contains(data, "registry.example.com/shop:1") {
		t.Fatalf("git after the undo: %v\n%s", err, data)
	}
	if st := w.rollout(t); st.Stable != h1 || st.Current != h1 {
		t.Fatalf("after the reconcile: %s, want %s stable and current", st, h1)
	}
	p, err := plan.Load(w.out)
	if err != nil || p.Traffic == nil || p.Traffic.Mode != "rollout" || p.Traffic.Revision == "" || p.Traffic.PendingReconcile != "" {
		t.Fatalf("plan.json after the rollback: %v %+v", err, p)
	}
}
