package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"gitlab.com/platform/bluegreen/internal/kube"
	"gitlab.com/platform/bluegreen/internal/plan"
	"gitlab.com/platform/bluegreen/internal/testenv"
)

// monitorWorld is blue live and green synced, with the app's metrics
// scraped by a real Prometheus since before the switch, and green promoted.
type monitorWorld struct {
	*world
	metrics *testenv.AppMetrics
	env     map[string]string
}

func promotedWithMetrics(t testing.TB, green float64, greenSilent bool) *monitorWorld {
	t.Helper()
	w := newMonitorWorld(t, green, greenSilent)
	w.promoteGreen(t, "registry.example.com/shop:1", "registry.example.com/shop:2")
	return w
}

// newMonitorWorld is a world whose app reports its metrics to a real
// Prometheus, green with the error rate given (or silent).
func newMonitorWorld(t testing.TB, green float64, greenSilent bool) *monitorWorld {
	t.Helper()
	w := newWorld(t)
	m := testenv.NewAppMetrics(t, w.cluster.Client(), w.ns, "shop")
	m.Set("green", green, greenSilent)
	return withMetrics(t, w, m, testenv.AppMetricsChecks)
}

// newRolloutMonitorWorld is newMonitorWorld for a Rollout app: its
// counters are labelled by ReplicaSet hash, and so are its checks.
func newRolloutMonitorWorld(t testing.TB) *monitorWorld {
	t.Helper()
	realEnv.Rollouts(t)
	w := newWorld(t)
	return withMetrics(t, w, testenv.NewRolloutMetrics(t, w.cluster.Client(), w.ns, "shop"), testenv.RolloutMetricsChecks)
}

// withMetrics has a real Prometheus scrape m, and the world's jobs run
// checks against it.
func withMetrics(t testing.TB, w *world, m *testenv.AppMetrics, checksYAML string) *monitorWorld {
	t.Helper()
	prom := testenv.NewPrometheus(t, testenv.PrometheusOptions{ScrapeConfigs: m.ScrapeConfig("shop")})
	checks := filepath.Join(t.TempDir(), "checks.yaml")
	if err := os.WriteFile(checks, []byte(checksYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"BG_CHECKS": checks, "BG_PROMETHEUS_URL": prom.URL(), "BG_BAKE": "15s", "BG_VERIFY_SETTLE": monitorSettle.String()}
	return &monitorWorld{world: w, metrics: m, env: env}
}

// monitorSettle is the settle time of these tests: Prometheus scrapes
// every second.
const monitorSettle = time.Second

// promoteGreen releases each image in turn (the last one to green) and
// promotes it, once Prometheus holds the baseline of the live colour.
func (w *monitorWorld) promoteGreen(t testing.TB, images ...string) {
	t.Helper()
	for i, image := range images {
		env := map[string]string{"CI_PIPELINE_ID": "10", "CI_PROJECT_PATH": "shop/web"}
		if code, out, errOut := w.release(shopManifests(t), image, env); code != 0 {
			t.Fatalf("release %d: exit %d\n%s\n%s", i+1, code, out, errOut)
		}
	}
	// Blue's baseline is the 15s before the switch: wait until Prometheus
	// has scraped that much of it.
	time.Sleep(16 * time.Second)
	if code, out, errOut := w.run("promote", nil); code != 0 {
		t.Fatalf("promote: exit %d\n%s\n%s", code, out, errOut)
	}
}

// withEnv is the world's settings with extra on top.
func (w *monitorWorld) withEnv(extra map[string]string) map[string]string {
	env := map[string]string{}
	for k, v := range w.env {
		env[k] = v
	}
	for k, v := range extra {
		env[k] = v
	}
	return env
}

func (w *monitorWorld) monitor(t testing.TB, extra map[string]string) (int, string, string, *plan.Plan) {
	t.Helper()
	code, out, errOut := w.run("monitor", w.withEnv(extra))
	p, err := plan.Load(w.out)
	if err != nil {
		t.Fatal(err)
	}
	return code, out, errOut, p
}

func TestMonitorReal_AGoodReleaseIsConfirmed(t *testing.T) {
	t.Parallel()
	w := promotedWithMetrics(t, 0.002, false)
	code, out, errOut, p := w.monitor(t, nil)
	if code != 0 || !strings.Contains(out, "release confirmed: green held under real traffic for 15s") {
		t.Fatalf("exit %d, want 0 and confirmed\n%s\n%s", code, out, errOut)
	}
	assertActiveSelects(t, w.world, plan.Green)
	m := p.Monitor
	if m == nil || m.Action != plan.MonitorConfirmed || m.Result != "pass" || len(m.Checks) != 2 {
		t.Fatalf("plan.json monitor: %+v", m)
	}
	// The comparison used blue's baseline from before the switch, not blue
	// now (it has only QA traffic left).
	if !strings.Contains(out, "blue baseline 0.002 over the 15s before the switch") {
		t.Errorf("the log lacks blue's baseline:\n%s", out)
	}
	if last, _ := p.Last(plan.Monitor); last.Outcome != "ok" {
		t.Errorf("ledger: %+v", last)
	}
	if _, err := os.Stat(filepath.Join(w.out, "monitor.junit.xml")); err != nil {
		t.Errorf("no JUnit report: %v", err)
	}
}

// A release that degrades under real traffic is rolled back by monitor
// through the fast path, even with Argo CD down: the Services are patched,
// the EndpointSlices hold only blue within a second of the decision, and
// the reconcile waits for Argo CD.
func TestMonitorReal_ADegradingReleaseIsRolledBackThroughTheFastPathWithArgoCDDown(t *testing.T) {
	t.Parallel()
	w := promotedWithMetrics(t, 0.08, false)
	head := gitHead(t, w.world)
	flipped := w.watchFlip(t, "blue")
	code, out, errOut, p := w.monitor(t, map[string]string{"BG_ARGOCD_SERVER": "127.0.0.1:1"})
	if code != 1 || !strings.Contains(errOut, "rolled back to blue") {
		t.Fatalf("exit %d, want 1 (rolled back)\n%s\n%s", code, out, errOut)
	}
	assertActiveSelects(t, w.world, plan.Blue)
	assertPreviewOnly(t, w.world, "shop", plan.Blue)
	for _, want := range []string{"error-rate: fail after", "clear breach", "rollback: fast path (monitor: fail under real traffic)", "reconcile: not done"} {
		if !strings.Contains(out, want) {
			t.Errorf("the log lacks %q:\n%s", want, out)
		}
	}
	m := p.Monitor
	if m == nil || m.Action != plan.MonitorRolledBack || m.Result != "fail" || m.RolledBackAt == nil || m.DecidedAt == nil {
		t.Fatalf("plan.json monitor: %+v", m)
	}
	if p.Traffic.Live != plan.Blue || p.Traffic.PendingReconcile == "" {
		t.Errorf("plan.json traffic: %+v", p.Traffic)
	}
	select {
	case at := <-flipped:
		// The decision could be made once its interval ended and settled.
		ready := m.DecidedAt.Add(monitorSettle)
		if took := at.Sub(ready); took > time.Second {
			t.Errorf("EndpointSlices held only blue %s after the decisive interval (+settle), want ≤ 1s", took)
		}
		t.Logf("time to rollback: %s after the decisive interval ended (+1s settle)", at.Sub(ready))
	case <-time.After(5 * time.Second):
		t.Fatal("EndpointSlices never held only blue")
	}
	if gitHead(t, w.world) != head {
		t.Error("git changed although Argo CD was down")
	}
	svc, _ := w.cluster.Client().CoreV1().Services(w.ns).Get(context.Background(), "shop", metav1.GetOptions{})
	if svc.Annotations[kube.AnnoPendingReconcile] == "" {
		t.Errorf("no pending-reconcile mark on the Service: %v", svc.Annotations)
	}

	// rollback-on-monitor-failure, with Argo CD back: it finishes the
	// reconcile monitor could not, and switches nothing more.
	code, out, errOut = w.run("rollback", w.withEnv(map[string]string{"BG_NOW": "true", "BG_UNLESS_HELD": "true"}))
	if code != 0 {
		t.Fatalf("rollback-on-monitor-failure: exit %d\n%s\n%s", code, out, errOut)
	}
	assertActiveSelects(t, w.world, plan.Blue)
	p, err := plan.Load(w.out)
	if err != nil {
		t.Fatal(err)
	}
	if p.Traffic.PendingReconcile != "" || gitHead(t, w.world) == head {
		t.Errorf("the reconcile was not finished: pending %q, git head moved %v\n%s", p.Traffic.PendingReconcile, gitHead(t, w.world) != head, out)
	}
	if last, ok := p.Last(plan.Rollback); !ok || last.Outcome != "ok" {
		t.Errorf("the rollback is not recorded: %+v", last)
	}
}

// No data for green after the switch is not a pass: monitor says so,
// exits 1, and leaves traffic where it is (--on-inconclusive hold).
func TestMonitorReal_NoDataAfterTheSwitchIsNotAPass(t *testing.T) {
	t.Parallel()
	w := promotedWithMetrics(t, 0, true)
	code, out, errOut, p := w.monitor(t, map[string]string{"BG_ON_INCONCLUSIVE": "hold"})
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "no data") || !strings.Contains(errOut, "traffic stays on green") {
		t.Errorf("the log should say why:\n%s\n%s", out, errOut)
	}
	assertActiveSelects(t, w.world, plan.Green)
	if m := p.Monitor; m == nil || m.Action != plan.MonitorHeld || m.Result == "pass" {
		t.Fatalf("plan.json monitor: %+v", m)
	}

	// rollback-on-monitor-failure leaves the held traffic alone.
	code, out, errOut = w.run("rollback", w.withEnv(map[string]string{"BG_NOW": "true", "BG_UNLESS_HELD": "true"}))
	if code != 0 || !strings.Contains(out, "monitor held traffic on green after an inconclusive verdict") {
		t.Fatalf("rollback --unless-held: exit %d, want 0 and a word on the hold\n%s\n%s", code, out, errOut)
	}
	assertActiveSelects(t, w.world, plan.Green)
	// Without --unless-held (the manual rollback job) it rolls back.
	code, out, errOut = w.run("rollback", w.withEnv(map[string]string{"BG_NOW": "true"}))
	if code != 0 {
		t.Fatalf("manual rollback: exit %d\n%s\n%s", code, out, errOut)
	}
	assertActiveSelects(t, w.world, plan.Blue)
}

// BenchmarkMonitorRollback measures monitor's time to rollback on the real
// cluster: from the end of the first decisive interval plus the settle time
// (the moment the verdict can be known) to the active Service's
// EndpointSlices holding only blue's pods. Each run releases green again
// (bad: 8% errors under live traffic), promotes it and lets monitor roll it
// back. Run it with
//
//	go test ./internal/cli -run '^$' -bench BenchmarkMonitorRollback -benchtime 10x
func BenchmarkMonitorRollback(b *testing.B) {
	w := newMonitorWorld(b, 0.08, false)
	var took []time.Duration
	for i := 0; i < b.N; i++ {
		images := []string{fmt.Sprintf("registry.example.com/shop:%d", i+2)}
		if i == 0 {
			images = append([]string{"registry.example.com/shop:1"}, images...)
		}
		w.promoteGreen(b, images...)
		flipped := w.watchFlip(b, "blue")
		code, out, errOut, p := w.monitor(b, nil)
		if code != 1 || p.Monitor == nil || p.Monitor.Action != plan.MonitorRolledBack || p.Monitor.DecidedAt == nil {
			b.Fatalf("run %d: exit %d, monitor %+v\n%s\n%s", i+1, code, p.Monitor, out, errOut)
		}
		select {
		case at := <-flipped:
			took = append(took, at.Sub(p.Monitor.DecidedAt.Add(monitorSettle)))
		case <-time.After(10 * time.Second):
			b.Fatalf("run %d: EndpointSlices never held only blue", i+1)
		}
	}
	b.StopTimer()
	slices.Sort(took)
	b.ReportMetric(median(took).Seconds()*1000, "median-ms")
	b.ReportMetric(took[len(took)-1].Seconds()*1000, "worst-ms")
	b.Logf("time to rollback over %d runs: median %s, worst %s (%v)", len(took), median(took), took[len(took)-1], took)
}
