package cli

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"

	"gitlab.com/platform/bluegreen/internal/kube"
)

// BenchmarkSwitchVsArgoRollouts measures bluegreen's switch and Argo
// Rollouts' own side by side, on the same cluster in one run, each from the
// command to the active Service's EndpointSlices holding only the new (or,
// for a rollback, the old) pods:
//
//   - bluegreen (a Deployment app): promote through git and Argo CD,
//     promote --direct, and the fast rollback (rollback --now) after a
//     promote;
//   - Argo Rollouts (a blue-green Rollout applied directly, as its users
//     run it): promote as `kubectl argo rollouts promote` does (clear the
//     pause conditions, unpause), and abort (`kubectl argo rollouts abort`)
//     after a promote, while the post-promotion analysis still runs, which
//     is when an abort sends the active Service back to the stable
//     ReplicaSet.
//
// Run:
//
//	go test ./internal/cli -run '^$' -bench BenchmarkSwitchVsArgoRollouts -benchtime 7x -v
func BenchmarkSwitchVsArgoRollouts(b *testing.B) {
	realEnv.Rollouts(b)
	w := newWorld(b)
	env := w.env(map[string]string{"CI_PIPELINE_ID": "10", "CI_PROJECT_PATH": "shop/web"})
	for _, image := range []string{"registry.example.com/shop:1", "registry.example.com/shop:2"} {
		if code, out, errOut := w.release(shopManifests(b), image, map[string]string{"CI_PIPELINE_ID": "10", "CI_PROJECT_PATH": "shop/web"}); code != 0 {
			b.Fatalf("sync: %s%s", out, errOut)
		}
	}
	ar := newArgoRolloutsBench(b)
	var gitops, direct, fast, arPromote, arAbort []time.Duration
	for i := 0; b.Loop(); i++ {
		if i > 0 {
			if code, out, errOut := runCLI(b, env, "sync"); code != 0 { // green was retired by the rollback
				b.Fatalf("sync: %s%s", out, errOut)
			}
		}
		gitops = append(gitops, w.timeSwitch(b, env, "green", "promote"))
		fast = append(fast, w.timeSwitch(b, env, "blue", "rollback", "--now"))
		if code, out, errOut := runCLI(b, env, "sync"); code != 0 {
			b.Fatalf("sync: %s%s", out, errOut)
		}
		direct = append(direct, w.timeSwitch(b, env, "green", "promote", "--direct"))
		if code, out, errOut := runCLI(b, env, "rollback", "--direct"); code != 0 {
			b.Fatalf("rollback: %s%s", out, errOut)
		}

		p, a := ar.round(b, i)
		arPromote, arAbort = append(arPromote, p), append(arAbort, a)
	}
	ratio := func(a, b time.Duration) float64 { return float64(a) / float64(b) }
	b.ReportMetric(float64(median(gitops).Milliseconds()), "bg-promote-gitops-ms")
	b.ReportMetric(float64(median(direct).Milliseconds()), "bg-promote-direct-ms")
	b.ReportMetric(float64(median(fast).Milliseconds()), "bg-rollback-fast-ms")
	b.ReportMetric(float64(median(arPromote).Milliseconds()), "argo-promote-ms")
	b.ReportMetric(float64(median(arAbort).Milliseconds()), "argo-abort-ms")
	b.Logf("medians over %d rounds: bluegreen promote (git + Argo CD) %s, promote --direct %s, rollback --now %s; "+
		"Argo Rollouts promote %s, abort %s; ratio bluegreen / Argo Rollouts: promote gitops %.2f, direct %.2f, rollback %.2f",
		len(gitops), median(gitops), median(direct), median(fast), median(arPromote), median(arAbort),
		ratio(median(gitops), median(arPromote)), ratio(median(direct), median(arPromote)), ratio(median(fast), median(arAbort)))
	b.Logf("rounds: bg gitops %v, direct %v, fast %v; argo promote %v, abort %v", gitops, direct, fast, arPromote, arAbort)
}

// argoRolloutsBench is a blue-green Rollout in its own namespace, applied
// directly (no Argo CD), with a post-promotion analysis that holds: its
// web metric's first measurement passes, the second is an hour away.
type argoRolloutsBench struct {
	w  *world
	ro dynamic.ResourceInterface
}

func newArgoRolloutsBench(b *testing.B) *argoRolloutsBench {
	b.Helper()
	c := realEnv.Cluster(b)
	hold := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) {
		rw.Header().Set("Content-Type", "application/json")
		fmt.Fprint(rw, `{"ok": true}`)
	}))
	b.Cleanup(hold.Close)
	app, err := os.ReadFile(filepath.Join(rolloutManifests(), "app.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	analysis := fmt.Sprintf(`apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata: {name: hold}
spec:
  metrics:
    - name: hold
      interval: 1h
      count: 2
      successCondition: result == true
      provider:
        web: {url: %q, jsonPath: "{$.ok}"}
`, hold.URL)
	w := &world{t: b, cluster: c, ns: c.Namespace(b)}
	ctx := context.Background()
	if err := c.Apply(ctx, w.ns, []byte(analysis+"---\n"+string(app))); err != nil {
		b.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(c.Config())
	if err != nil {
		b.Fatal(err)
	}
	ar := &argoRolloutsBench{w: w, ro: dyn.Resource(kube.RolloutGVR).Namespace(w.ns)}
	ar.patch(b, types.MergePatchType, `{"spec":{"strategy":{"blueGreen":{"postPromotionAnalysis":{"templates":[{"templateName":"hold"}]}}}}}`, "")
	st := ar.waitState(b, "the first revision stable", func(s kube.RolloutState) bool { return s.Promoted() })
	w.waitActiveOn(b, "shop", st.Stable)
	return ar
}

// round releases a new image (the Rollout pauses before its promotion),
// then times Argo Rollouts' promote and, during the post-promotion
// analysis, its abort.
func (ar *argoRolloutsBench) round(b *testing.B, i int) (promote, abort time.Duration) {
	b.Helper()
	image := fmt.Sprintf("registry.example.com/shop:%d", 100+i)
	ar.patch(b, types.JSONPatchType, fmt.Sprintf(`[{"op":"replace","path":"/spec/template/spec/containers/0/image","value":%q}]`, image), "")
	st := ar.waitState(b, "paused before promotion", func(s kube.RolloutState) bool { return s.Paused && s.Current != s.Stable })
	stable, next := st.Stable, st.Current
	ar.w.waitActiveOn(b, "shop-preview", next)

	start := time.Now()
	flipped := watchOnly(b, ar.w, "shop", next)
	ar.patch(b, types.MergePatchType, `{"status":{"pauseConditions":null}}`, "status") // as kubectl argo rollouts promote
	ar.patch(b, types.MergePatchType, `{"spec":{"paused":false}}`, "")
	promote = waitFlip(b, flipped, start, "promote")

	start = time.Now()
	flipped = watchOnly(b, ar.w, "shop", stable)
	ar.patch(b, types.MergePatchType, `{"status":{"abort":true}}`, "status") // as kubectl argo rollouts abort
	abort = waitFlip(b, flipped, start, "abort")
	return promote, abort
}

func (ar *argoRolloutsBench) patch(b *testing.B, pt types.PatchType, body, sub string) {
	b.Helper()
	var subs []string
	if sub != "" {
		subs = []string{sub}
	}
	if _, err := ar.ro.Patch(context.Background(), "shop", pt, []byte(body), metav1.PatchOptions{}, subs...); err != nil {
		b.Fatalf("patch Rollout %s: %v", body, err)
	}
}

func (ar *argoRolloutsBench) waitState(b *testing.B, what string, ok func(kube.RolloutState) bool) kube.RolloutState {
	b.Helper()
	var st kube.RolloutState
	err := wait.PollUntilContextTimeout(context.Background(), 20*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		st = ar.w.rollout(b)
		return ok(st), nil
	})
	if err != nil {
		b.Fatalf("Rollout not %s: %s", what, st)
	}
	return st
}

// watchOnly reports when Service svc's EndpointSlices first hold exactly
// the ReplicaSet hash's pods that are ready now, polling every 10 ms.
func watchOnly(tb testing.TB, w *world, svc, hash string) <-chan time.Time {
	tb.Helper()
	return watchEndpoints(tb, w, svc, kube.HashLabel+"="+hash)
}

func waitFlip(b *testing.B, flipped <-chan time.Time, start time.Time, what string) time.Duration {
	b.Helper()
	select {
	case at := <-flipped:
		return at.Sub(start)
	case <-time.After(30 * time.Second):
		b.Fatalf("Argo Rollouts %s: the active Service's endpoints never held only the expected pods", what)
	}
	return 0
}
