package cli

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"

	"gitlab.com/platform/bluegreen/internal/drift"
	"gitlab.com/platform/bluegreen/internal/plan"
	"gitlab.com/platform/bluegreen/internal/testenv"
)

// proxySync is how long kube-proxy may take to program a change of
// EndpointSlices: nftables mode syncs at most once a second, and with the
// whole suite on two cores it was seen taking 2 s.
const proxySync = 3 * time.Second

// connMaxAge is how old the load's kept-alive connections get before they
// are redialled, as clients and proxies do.
const connMaxAge = time.Second

func dataplaneManifests(name string) string { return filepath.Join("testdata", "dataplane", name) }

// servedWorld is a world on the data-plane app with blue live and green
// synced, both served by the pod runner, and the URL of the active
// Service's ClusterIP. before runs between the two releases.
func servedWorld(t testing.TB, manifests string, before func(w *world)) (*world, *testenv.DataPlane, string) {
	t.Helper()
	dp := realEnv.Cluster(t).DataPlane(t)
	w := newWorld(t)
	for i, image := range []string{"registry.example.com/shop:1", "registry.example.com/shop:2"} {
		if i == 1 && before != nil {
			before(w)
		}
		env := map[string]string{"CI_PIPELINE_ID": "10", "CI_PROJECT_PATH": "shop/web"}
		if code, out, errOut := w.release(manifests, image, env); code != 0 {
			t.Fatalf("release %d: exit %d\n%s\n%s", i+1, code, out, errOut)
		}
	}
	svc, err := w.cluster.Client().CoreV1().Services(w.ns).Get(context.Background(), "shop", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	url := testenv.ClusterURL(svc.Spec.ClusterIP, 80)
	waitAnswered(t, url, "blue")
	return w, dp, url
}

// promotedWorld is servedWorld on the data-plane app with green promoted
// and answering.
func promotedWorld(t *testing.T) (*world, *testenv.DataPlane, string) {
	t.Helper()
	w, dp, url := servedWorld(t, dataplaneManifests("shop"), nil)
	if code, out, errOut := w.run("promote", nil); code != 0 {
		t.Fatalf("promote: exit %d\n%s\n%s", code, out, errOut)
	}
	waitAnswered(t, url, "green")
	return w, dp, url
}

// waitAnswered waits up to 45 s until url answers 200 from color.
func waitAnswered(t testing.TB, url, color string) {
	t.Helper()
	waitAnsweredBy(t, url, testenv.HeaderColor, color)
}

// waitAnsweredBy waits up to 45 s until url answers 200 with value in the
// pod server's header.
func waitAnsweredBy(t testing.TB, url, header, value string) {
	t.Helper()
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	state := ""
	for deadline := time.Now().Add(45 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		res, err := client.Get(url)
		if err != nil {
			state = err.Error()
			continue
		}
		res.Body.Close()
		if state = res.Header.Get(header); res.StatusCode == http.StatusOK && state == value {
			return
		}
	}
	t.Fatalf("%s is not answered by %s: %s", url, value, state)
}

// switched is one command run under load.
type switched struct {
	rs         testenv.Responses
	start, end time.Time // the command's
	out        string
}

// underLoad runs a mode while 300 requests per second go to url over 8
// connections: a second of steady state before, and 2 s more after it
// returned than kube-proxy and a kept-alive connection's redial may take.
func (w *world) underLoad(t testing.TB, url string, extra map[string]string, mode string, args ...string) switched {
	t.Helper()
	return w.underLoadFor(t, time.Second, url, extra, mode, args...)
}

// underLoadFor is underLoad with steady state for steady before the mode.
func (w *world) underLoadFor(t testing.TB, steady time.Duration, url string, extra map[string]string, mode string, args ...string) switched {
	t.Helper()
	return underLoadDo(t, steady, url, fmt.Sprint(mode, args), func() (int, string, string) { return w.run(mode, extra, args...) })
}

// underLoadDo runs do under load at url, steady state for steady before.
func underLoadDo(t testing.TB, steady time.Duration, url, what string, do func() (int, string, string)) switched {
	t.Helper()
	run := testenv.Load{URL: url, Rate: 300, Conns: 8, Duration: 2 * time.Minute, ConnMaxAge: connMaxAge}.Start(context.Background())
	defer run.Stop()
	time.Sleep(steady)
	s := switched{start: time.Now()}
	code, out, errOut := do()
	s.end, s.out = time.Now(), out
	time.Sleep(proxySync + connMaxAge + 2*time.Second)
	run.Stop()
	s.rs = run.Wait()
	if code != 0 {
		t.Fatalf("%s: exit %d\n%s\n%s", what, code, out, errOut)
	}
	return s
}

// assertNoneFailedThenOnly checks the switch under load: no request
// failed, and once kube-proxy had the switch every new connection, and
// after connMaxAge every answer, came from color.
func assertNoneFailedThenOnly(t *testing.T, dp *testenv.DataPlane, s switched, color, old string) {
	t.Helper()
	assertNoneFailedThenOnlyBy(t, dp, s, testenv.ByColor, color, old)
}

// assertNoneFailedThenOnlyBy is assertNoneFailedThenOnly for the sides
// side tells apart (ReplicaSet hashes for an Argo Rollouts app).
func assertNoneFailedThenOnlyBy(t *testing.T, dp *testenv.DataPlane, s switched, side testenv.Side, want, old string) {
	t.Helper()
	if f := s.rs.Failed(); len(f) > 0 {
		t.Errorf("%d of %d requests failed during the switch; first %+v\nkube-proxy:\n%s", len(f), len(s.rs), f[0], dp.Log(15))
	}
	if n, c := len(s.rs), s.rs.Conns(); n < 900 || c < 8 {
		t.Errorf("the load sent %d requests over %d connections, want ≥ 900 over ≥ 8", n, c)
	}
	if got := s.rs.Between(time.Time{}, s.start).Count(side); got[old] == 0 || got[want] > 0 {
		t.Errorf("before the switch the answers came from %v, want only %s", got, old)
	}
	settled := s.end.Add(proxySync)
	if got := s.rs.DialedAfter(settled).Count(side); got[old] > 0 || got[want] == 0 {
		t.Errorf("connections dialled %s after the switch were answered by %v, want only %s", proxySync, got, want)
	}
	if got := s.rs.Between(settled.Add(connMaxAge), s.end.Add(time.Hour)).Count(side); got[old] > 0 || got[want] == 0 {
		t.Errorf("answers %s after the switch came from %v, want only %s", proxySync+connMaxAge, got, want)
	}
	last, lag := s.rs.LastOf(side, old), time.Duration(0)
	for _, r := range s.rs.DialedAfter(s.end) {
		if side(r) == old && !r.Failed() {
			lag = max(lag, r.Dialed.Sub(s.end))
		}
	}
	t.Logf("%d requests over %d connections, %d failed; %s answered last %s after the switch began (the command took %s; its last new connection was dialled %s after the command); p99 %s",
		len(s.rs), s.rs.Conns(), len(s.rs.Failed()), old, last.Sub(s.start).Round(time.Millisecond), s.end.Sub(s.start).Round(time.Millisecond), lag.Round(time.Millisecond), s.rs.Percentile(0.99))
}

func TestDataPlaneReal_GitOpsPromoteThenRollbackUnderLoadFailNoRequest(t *testing.T) {
	t.Parallel()
	w, dp, url := servedWorld(t, dataplaneManifests("shop"), nil)
	s := w.underLoad(t, url, nil, "promote")
	assertNoneFailedThenOnly(t, dp, s, "green", "blue")
	if !strings.Contains(s.out, "capacity: live blue has 2 ready pod(s), green has 2") {
		t.Errorf("promote does not print both counts:\n%s", s.out)
	}

	// The rollback drains green before it scales it down.
	s = w.underLoad(t, url, map[string]string{"BG_DRAIN": "3s"}, "rollback")
	assertNoneFailedThenOnly(t, dp, s, "blue", "green")
	if n := w.replicas(t, "shop-green"); n != 0 {
		t.Errorf("green has %d replicas after the rollback, want 0", n)
	}
	if !strings.Contains(s.out, "drain: green's pods are out of [shop]'s endpoints; scaling it down in") {
		t.Errorf("the rollback does not drain green:\n%s", s.out)
	}
	last := s.rs.Last("green")
	for _, e := range dp.Pods.Events(w.ns) {
		if e.Color == "green" && e.What == "draining" && e.At.Before(last) {
			t.Errorf("pod %s began draining at %s, before green's last answer at %s", e.Pod, e.At, last)
		}
		if e.Color == "green" && e.What == "draining" && e.At.Sub(s.start) < 3*time.Second {
			t.Errorf("pod %s began draining %s after the rollback began, before the 3s drain", e.Pod, e.At.Sub(s.start))
		}
	}
}

func TestDataPlaneReal_DirectPromoteThenDirectRollbackUnderLoadFailNoRequest(t *testing.T) {
	t.Parallel()
	w, dp, url := servedWorld(t, dataplaneManifests("shop"), nil)
	s := w.underLoad(t, url, nil, "promote", "--direct")
	assertNoneFailedThenOnly(t, dp, s, "green", "blue")
	s = w.underLoad(t, url, nil, "rollback", "--direct")
	assertNoneFailedThenOnly(t, dp, s, "blue", "green")
}

func TestDataPlaneReal_FastPathRollbackUnderLoadFailsNoRequest(t *testing.T) {
	t.Parallel()
	w, dp, url := promotedWorld(t)
	s := w.underLoad(t, url, map[string]string{"BG_DRAIN": "2s"}, "rollback", "--now")
	assertNoneFailedThenOnly(t, dp, s, "blue", "green")
	if !strings.Contains(s.out, "fast path (--now)") || !strings.Contains(s.out, "reconcile: git and Argo CD agree") {
		t.Errorf("no fast path and reconcile in the log:\n%s", s.out)
	}
	if n := w.replicas(t, "shop-green"); n != 0 {
		t.Errorf("green has %d replicas after the reconcile, want 0", n)
	}
}

// scaledOutBlue scales blue to 6 replicas, as its HPA would under load.
func scaledOutBlue(t *testing.T) func(w *world) {
	return func(w *world) {
		w.patch(t, "Deployment", "shop-blue", types.MergePatchType, `{"spec":{"replicas":6}}`)
		w.waitRolledOut(t, "shop-blue")
	}
}

// waitReady waits until the Deployment has n ready replicas.
func (w *world) waitReady(t *testing.T, name string, n int32) {
	t.Helper()
	waitFor(t, name+" ready", func() (bool, string) {
		d, err := w.cluster.Client().AppsV1().Deployments(w.ns).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		return d.Status.ReadyReplicas == n && w.replicas(t, name) == n, fmt.Sprintf("%d ready", d.Status.ReadyReplicas)
	})
}

// endpointsAtFlip reports how many green endpoints the active Service held
// when it first held only green ones.
func (w *world) endpointsAtFlip(t *testing.T) <-chan int {
	t.Helper()
	at := make(chan int, 1)
	go func() {
		_ = wait.PollUntilContextTimeout(context.Background(), 20*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
			sl, err := w.cluster.Client().DiscoveryV1().EndpointSlices(w.ns).List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=shop"})
			if err != nil {
				return false, nil
			}
			pods, err := w.cluster.Client().CoreV1().Pods(w.ns).List(ctx, metav1.ListOptions{LabelSelector: "bluegreen.dev/color=green"})
			if err != nil {
				return false, nil
			}
			green := map[string]bool{}
			for _, p := range pods.Items {
				green[p.Status.PodIP] = true
			}
			n := 0
			for _, s := range sl.Items {
				for _, e := range s.Endpoints {
					for _, a := range e.Addresses {
						if !green[a] {
							return false, nil
						}
						n++
					}
				}
			}
			if n > 0 {
				at <- n
				return true, nil
			}
			return false, nil
		})
		close(at)
	}()
	return at
}

func TestDataPlaneReal_PromoteRaisesGreensHPAToBluesScaledOutReplicasBeforeTheSwitch(t *testing.T) {
	t.Parallel()
	w, dp, url := servedWorld(t, dataplaneManifests("shop-hpa"), scaledOutBlue(t))
	w.waitReady(t, "shop-green", 2) // its HPA's minReplicas
	flip := w.endpointsAtFlip(t)
	s := w.underLoad(t, url, nil, "promote")
	assertNoneFailedThenOnly(t, dp, s, "green", "blue")
	if n := <-flip; n != 6 {
		t.Errorf("the active Service switched to %d green pods, want 6 (blue's ready replicas)", n)
	}
	for _, want := range []string{"capacity: live blue has 6 ready pod(s), green has 2", "HorizontalPodAutoscaler shop-green minReplicas 2 → 6 at", "capacity: green has 6 Ready pod(s) in [shop-preview]"} {
		if !strings.Contains(s.out, want) {
			t.Errorf("promote's log lacks %q:\n%s", want, s.out)
		}
	}
	if got := gitShow(t, w, "HEAD:production/shop/green/horizontalpodautoscaler-shop-green.yaml"); !strings.Contains(got, "minReplicas: 6") {
		t.Errorf("git does not hold green's raised minReplicas:\n%s", got)
	}
	p, _ := plan.Load(w.out)
	if c := p.Traffic.Capacity; c == nil || c.Live != 6 || c.Before != 2 || c.After != 6 || c.HPAMin != 2 || c.RaisedMin != 6 {
		t.Errorf("plan records capacity %+v, want live 6, green 2 → 6, HPA min 2 → 6", c)
	}
	if pods := s.rs.Between(s.end.Add(proxySync+connMaxAge), s.end.Add(time.Hour)).Pods(); len(pods) != 6 {
		t.Errorf("after the switch %d green pods answered, want 6: %v", len(pods), pods)
	}
}

func TestDataPlaneReal_WithoutCapacityMatchGreenTakesBluesTrafficWithItsHPAMinimum(t *testing.T) {
	t.Parallel()
	w, _, _ := servedWorld(t, dataplaneManifests("shop-hpa"), scaledOutBlue(t))
	w.waitReady(t, "shop-green", 2)
	flip := w.endpointsAtFlip(t)
	code, out, errOut := w.run("promote", nil, "--no-capacity-match")
	if code != 0 {
		t.Fatalf("promote: exit %d\n%s\n%s", code, out, errOut)
	}
	if n := <-flip; n != 2 {
		t.Errorf("without capacity matching the active Service switched to %d green pods, want 2 (the counter-proof)", n)
	}
	if !strings.Contains(out, "capacity: not matched (--no-capacity-match)") {
		t.Errorf("promote does not say capacity was not matched:\n%s", out)
	}
}

// The usual retirement: after a promote's rollback window, drift --fix
// scales blue down, but only once blue has been out of the active
// Service's endpoints for the drain. Under load no request fails, every
// answer is green's, and blue's pod servers drain and stop only after
// the fix began.
func TestDataPlaneReal_DriftRetiresBlueOnlyAfterItsDrainAndUnderLoadFailsNoRequest(t *testing.T) {
	t.Parallel()
	w, dp, url := promotedWorld(t)
	past := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	w.patch(t, "Service", "shop", types.MergePatchType, `{"metadata":{"annotations":{"bluegreen.dev/idle-until":"`+past+`"}}}`)

	// The window is over, the drain is not: nothing is scaled down.
	_, out, r := w.drift(t, map[string]string{"BG_DRAIN": "1h"}, "--fix")
	if len(r.Fixes) != 1 || r.Fixes[0].Status == "done" || !strings.Contains(r.Fixes[0].Message, "not scaling down yet") {
		t.Fatalf("--fix within the drain: fixes %+v\n%s", r.Fixes, out)
	}
	if n := w.replicas(t, "shop-blue"); n != 2 {
		t.Fatalf("shop-blue has %d replicas within the drain, want 2", n)
	}

	var fixed []drift.Fix
	s := underLoadDo(t, time.Second, url, "drift --fix", func() (int, string, string) {
		code, out, r := w.drift(t, map[string]string{"BG_DRAIN": "1s"}, "--fix")
		fixed = r.Fixes
		return code, out, ""
	})
	if len(fixed) != 1 || fixed[0].Action != drift.FixScaleDown || fixed[0].Status != "done" {
		t.Fatalf("--fix after the drain: fixes %+v\n%s", fixed, s.out)
	}
	if f := s.rs.Failed(); len(f) > 0 {
		t.Errorf("%d of %d requests failed during the retirement; first %+v\nkube-proxy:\n%s", len(f), len(s.rs), f[0], dp.Log(15))
	}
	if got := s.rs.Colors(); got["blue"] > 0 || got["green"] < 900 {
		t.Errorf("during the retirement the answers came from %v, want ≥ 900 and only from green", got)
	}
	if n := w.replicas(t, "shop-blue"); n != 0 {
		t.Errorf("shop-blue has %d replicas after --fix, want 0", n)
	}
	stopped := func() (n int) {
		for _, e := range dp.Pods.Events(w.ns) {
			if e.Color == "blue" && e.What == "stopped" {
				n++
			}
		}
		return n
	}
	waitFor(t, "blue's pod servers stopped", func() (bool, string) {
		return stopped() == 2 && len(dp.Pods.Serving(w.ns, "blue")) == 0, fmt.Sprintf("%d stopped, serving %v", stopped(), dp.Pods.Serving(w.ns, "blue"))
	})
	for _, e := range dp.Pods.Events(w.ns) {
		if e.Color == "blue" && (e.What == "draining" || e.What == "stopped") && e.At.Before(s.start) {
			t.Errorf("pod %s was %s at %s, before drift --fix began at %s", e.Pod, e.What, e.At, s.start)
		}
	}
}
