package cli

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
)

// switchSettle ends "during the switch" for latency: a second for
// kube-proxy's sync and one for the kept-alive connections' redial.
const switchSettle = time.Second + connMaxAge

// steadyBefore is the benchmark's steady state before each command: about
// as long as "during the switch", so both p99s come from as many requests.
const steadyBefore = 3 * time.Second

// loadPath is one switch measured under load.
type loadPath struct {
	name     string
	failed   []int
	ratio    []float64       // p99 during the switch / p99 of the steady second before
	steady   []time.Duration // p99 of the steady second before
	during   []time.Duration // p99 from the start of the switch to switchSettle after the command
	lastOld  []time.Duration // from the start of the switch to the old colour's last answer
	requests int
}

func (l *loadPath) add(s switched, old string) {
	steady := s.rs.Between(time.Time{}, s.start).Percentile(0.99)
	during := s.rs.Between(s.start, s.end.Add(switchSettle)).Percentile(0.99)
	l.failed = append(l.failed, len(s.rs.Failed()))
	l.steady, l.during = append(l.steady, steady), append(l.during, during)
	if steady > 0 {
		l.ratio = append(l.ratio, float64(during)/float64(steady))
	}
	if old != "" {
		l.lastOld = append(l.lastOld, s.rs.Last(old).Sub(s.start))
	}
	l.requests += len(s.rs)
}

// BenchmarkSwitchUnderLoad measures each switch path on the real cluster,
// Argo CD and data plane while 300 requests per second go to the active
// Service's ClusterIP over 8 connections (half kept alive, redialled after
// 1 s; half new per request): failed requests (goal 0), p99 latency during
// the switch against the steady second before it (goal ≤ 1.2×), and the
// time from the start of the switch to the old colour's last answer. Each
// round runs promote (git + Argo CD), rollback (git + Argo CD, 2 s drain),
// promote --direct, rollback --direct, and rollback --now after an untimed
// promote. Three controls show what the switch itself costs: each promote
// is run a second time, when traffic is already on green, so the command
// does the same work (commit, Argo CD sync, stamps, proof; or the direct
// patch) while no endpoint changes; and the idle colour is scaled up by a
// pod, which changes the preview's EndpointSlices (kube-proxy resyncs its
// rules) but not where traffic goes. The steady state is the 3 s before
// each command. Run:
//
//	go test ./internal/cli -run '^$' -bench BenchmarkSwitchUnderLoad -benchtime 1x
func BenchmarkSwitchUnderLoad(b *testing.B) {
	w, _, url := servedWorld(b, dataplaneManifests("shop"), nil)
	paths := map[string]*loadPath{}
	order := []string{"promote (git + Argo CD)", "rollback (git + Argo CD)", "promote --direct", "rollback --direct", "rollback --now",
		"control: promote again (git + Argo CD), no traffic change", "control: promote --direct again, no traffic change",
		"control: the idle colour scaled 2 → 3 (kube-proxy resyncs), no traffic change"}
	for _, n := range order {
		paths[n] = &loadPath{name: n}
	}
	drain := map[string]string{"BG_DRAIN": "2s"}
	resync := func() {
		if code, out, errOut := w.run("sync", nil); code != 0 {
			b.Fatalf("sync: exit %d\n%s%s", code, out, errOut)
		}
	}
	for i := 0; b.Loop(); i++ {
		if i > 0 {
			resync() // green was retired by the last rollback
		}
		paths[order[0]].add(w.underLoadFor(b, steadyBefore, url, nil, "promote"), "blue")
		paths[order[5]].add(w.underLoadFor(b, steadyBefore, url, nil, "promote"), "")
		paths[order[1]].add(w.underLoadFor(b, steadyBefore, url, drain, "rollback"), "green")
		resync()
		paths[order[2]].add(w.underLoadFor(b, steadyBefore, url, nil, "promote", "--direct"), "blue")
		paths[order[6]].add(w.underLoadFor(b, steadyBefore, url, nil, "promote", "--direct"), "")
		paths[order[3]].add(w.underLoadFor(b, steadyBefore, url, nil, "rollback", "--direct"), "green")
		paths[order[7]].add(underLoadDo(b, steadyBefore, url, "scale green", func() (int, string, string) {
			w.scaleTo(b, "shop-green", 3)
			return 0, "", ""
		}), "")
		w.scaleTo(b, "shop-green", 2)
		if code, out, errOut := w.run("promote", nil); code != 0 {
			b.Fatalf("promote: exit %d\n%s%s", code, out, errOut)
		}
		waitAnswered(b, url, "green")
		paths[order[4]].add(w.underLoadFor(b, steadyBefore, url, drain, "rollback", "--now"), "green")
	}
	var table strings.Builder
	table.WriteString("| path | switches | requests | failed | p99 steady → during the switch (medians) | p99 during / steady (median, max) | switch start → last old-colour answer (median, max) |\n|---|---|---|---|---|---|---|\n")
	for _, n := range order {
		p := paths[n]
		failed := 0
		for _, f := range p.failed {
			failed += f
		}
		last := "—"
		if len(p.lastOld) > 0 {
			last = fmt.Sprintf("%s, %s", median(p.lastOld).Round(10*time.Millisecond), maxD(p.lastOld).Round(10*time.Millisecond))
		}
		fmt.Fprintf(&table, "| %s | %d | %d | %d | %s → %s | %.2f×, %.2f× | %s |\n", n, len(p.failed), p.requests, failed,
			median(p.steady).Round(100*time.Microsecond), median(p.during).Round(100*time.Microsecond), medianF(p.ratio), maxF(p.ratio), last)
		b.ReportMetric(float64(failed), strings.NewReplacer(" ", "-", "(", "", ")", "", "+", "", "--", "").Replace(n)+"-failed")
	}
	fmt.Print(table.String()) // whole: a benchmark's log is cut short
}

func medianF(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}

func maxF(v []float64) float64 {
	m := 0.0
	for _, x := range v {
		m = max(m, x)
	}
	return m
}

func maxD(v []time.Duration) time.Duration {
	var m time.Duration
	for _, x := range v {
		m = max(m, x)
	}
	return m
}

// scaleTo scales the Deployment to n and waits until the preview Service's
// EndpointSlices hold n ready endpoints.
func (w *world) scaleTo(b *testing.B, name string, n int32) {
	b.Helper()
	ctx := context.Background()
	body := fmt.Sprintf(`{"spec":{"replicas":%d}}`, n)
	if _, err := w.cluster.Client().AppsV1().Deployments(w.ns).Patch(ctx, name, types.MergePatchType, []byte(body), metav1.PatchOptions{}, "scale"); err != nil {
		b.Fatal(err)
	}
	err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		sl, err := w.cluster.Client().DiscoveryV1().EndpointSlices(w.ns).List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=shop-preview"})
		if err != nil {
			return false, nil
		}
		ready := int32(0)
		for _, s := range sl.Items {
			for _, e := range s.Endpoints {
				if e.Conditions.Ready == nil || *e.Conditions.Ready {
					ready++
				}
			}
		}
		return ready == n, nil
	})
	if err != nil {
		b.Fatalf("%s to %d: the preview's endpoints: %v", name, n, err)
	}
}
