package cli

import (
	"context"
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"gitlab.com/platform/bluegreen/internal/kube"
)

// rolloutConsistent checks the invariant a kill must never break for a
// Rollout app: the active Service selects one ReplicaSet hash, and that
// ReplicaSet has Ready pods. It returns the hash.
func rolloutConsistent(ctx context.Context, w *world) (string, error) {
	svc, err := w.cluster.Client().CoreV1().Services(w.ns).Get(ctx, "shop", metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	h := svc.Spec.Selector[kube.HashLabel]
	if h == "" {
		return "", fmt.Errorf("active Service selects no ReplicaSet: %v", svc.Spec.Selector)
	}
	pods, err := w.cluster.Client().CoreV1().Pods(w.ns).List(ctx, metav1.ListOptions{LabelSelector: kube.HashLabel + "=" + h})
	if err != nil {
		return h, err
	}
	for i := range pods.Items {
		if podIsReady(&pods.Items[i]) {
			return h, nil
		}
	}
	return h, fmt.Errorf("active Service selects %s, which has no Ready pods", h)
}

// TestSwitchReal_RolloutKilledAtRandomPointsConverges is the kill-and-rerun
// trial for a Rollout app on the real Argo Rollouts controller: each cycle
// syncs a new release (killed once on the way), promotes it (killed once),
// then syncs the next and rolls it back (killed once); every kill leaves the
// active Service on one ReplicaSet with Ready pods, and every re-run
// converges: promote onto the new ReplicaSet, rollback onto the stable one.
func TestSwitchReal_RolloutKilledAtRandomPointsConverges(t *testing.T) {
	t.Parallel()
	w := rolloutWorld(t)
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 1))
	t.Logf("seed %d", seed)
	env := w.env(map[string]string{"CI_PIPELINE_ID": "10", "CI_PROJECT_PATH": "shop/web", "BG_TIMEOUT": "60s"})
	ctx := context.Background()
	kill := func(cycle int, mode string, max int) {
		t.Helper()
		delay := time.Duration(rng.IntN(max)) * time.Millisecond
		cmd, out := startCLI(t, env, mode)
		time.Sleep(delay)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
		if h, err := rolloutConsistent(ctx, w); err != nil {
			t.Errorf("cycle %d: %s killed after %s: inconsistent (%s): %v\n%s", cycle, mode, delay, h, err, out)
		}
		if code, rerun, errOut := runCLI(t, env, mode); code != 0 {
			t.Fatalf("cycle %d: %s re-run after a kill at %s: exit %d\n%s\n%s\nkilled run:\n%s", cycle, mode, delay, code, rerun, errOut, out)
		}
	}
	release := func(cycle int, image string) {
		t.Helper()
		if code, out, errOut := runCLI(t, env, "render", "--manifests", rolloutManifests(), "--image", image); code != 0 {
			t.Fatalf("cycle %d: render: exit %d\n%s%s", cycle, code, out, errOut)
		}
		kill(cycle, "sync", 2500)
	}
	const cycles = 3
	for cycle := 0; cycle < cycles; cycle++ {
		release(cycle, fmt.Sprintf("registry.example.com/shop:%d", 10+2*cycle))
		next := w.rollout(t).Current
		kill(cycle, "promote", 800)
		if h, err := rolloutConsistent(ctx, w); err != nil || h != next {
			t.Errorf("cycle %d: after promote re-run: %s, %v (want %s)", cycle, h, err, next)
		}
		release(cycle, fmt.Sprintf("registry.example.com/shop:%d", 11+2*cycle))
		stable := w.rollout(t).Stable
		kill(cycle, "rollback", 1500)
		if h, err := rolloutConsistent(ctx, w); err != nil || h != stable {
			t.Errorf("cycle %d: after rollback re-run: %s, %v (want %s)", cycle, h, err, stable)
		}
	}
}
