package testenv

import (
	"context"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// AppMetrics plays a blue/green app's request counters for a real
// Prometheus to scrape: the live traffic goes to whichever side the active
// Service selects (read every tick), and the idle side gets a trickle of QA
// traffic through its preview. A side is a colour (NewAppMetrics: series
// labelled color) or, for an Argo Rollouts app, a ReplicaSet
// (NewRolloutMetrics: series labelled rollouts_pod_template_hash, the
// relabelled pod label, following the hash the active and the preview
// Services select). Counts are deterministic (no sampling), so a side's
// error rate is exactly the one set. It serves on loopback until tb ends,
// or for fifteen minutes at most.
type AppMetrics struct {
	mu sync.Mutex
	// The share of 5xx per side when idle (QA traffic only) and when live.
	idle, live map[string]float64
	silent     map[string]bool // a side that reports nothing at all
	// The rates a side first seen from now on gets (see SetNew).
	newIdle, newLive float64
	target           string
}

// Request rates of AppMetrics, per second.
const (
	LiveRPS = 50.0 // to the live side
	QARPS   = 5.0  // to the idle side, through its preview
)

// NewAppMetrics starts the counters of app in namespace ns, both colours at
// 0.2% errors, live or idle.
func NewAppMetrics(tb testing.TB, client kubernetes.Interface, ns, app string) *AppMetrics {
	tb.Helper()
	live := "blue" // until the active Service says otherwise, and while it cannot be read
	m := newAppMetrics(tb, "color", func(ctx context.Context) (string, []string, []string) {
		if svc, err := client.CoreV1().Services(ns).Get(ctx, app, metav1.GetOptions{}); err == nil && svc.Spec.Selector["bluegreen.dev/color"] != "" {
			live = svc.Spec.Selector["bluegreen.dev/color"]
		}
		return live, []string{"blue", "green"}, nil
	}, ns, app)
	m.Set("blue", 0.002, false)
	m.Set("green", 0.002, false)
	return m
}

// RolloutHashLabel is the metric label NewRolloutMetrics's series carry:
// the pods' rollouts-pod-template-hash, as Prometheus's kubernetes_sd
// relabelling names it.
const RolloutHashLabel = "rollouts_pod_template_hash"

// NewRolloutMetrics starts the counters of an Argo Rollouts app in
// namespace ns whose active Service is app and whose preview Service is
// app-preview: the live traffic goes to the ReplicaSet hash the active
// Service selects, QA traffic to the one the preview selects when it is
// another. A ReplicaSet's counters exist, at 0, from when the ReplicaSet
// does, as a pod's do from its start, before its first request. Every
// ReplicaSet is at 0.2% errors unless SetNew said otherwise before it was
// first seen; Set and SetUnderLoad take a hash.
func NewRolloutMetrics(tb testing.TB, client kubernetes.Interface, ns, app string) *AppMetrics {
	tb.Helper()
	selected := func(ctx context.Context, svc string) string {
		s, err := client.CoreV1().Services(ns).Get(ctx, svc, metav1.GetOptions{})
		if err != nil {
			return ""
		}
		return s.Spec.Selector["rollouts-pod-template-hash"]
	}
	return newAppMetrics(tb, RolloutHashLabel, func(ctx context.Context) (string, []string, []string) {
		live, preview := selected(ctx, app), selected(ctx, app+"-preview")
		var sides, present []string
		for _, h := range []string{live, preview} {
			if h != "" && !slices.Contains(sides, h) {
				sides = append(sides, h)
			}
		}
		if rs, err := client.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{LabelSelector: "rollouts-pod-template-hash"}); err == nil {
			for _, r := range rs.Items {
				present = append(present, r.Labels["rollouts-pod-template-hash"])
			}
		}
		return live, sides, present
	}, ns, app)
}

// newAppMetrics serves counters labelled app, namespace, label and code,
// and adds to them every tick for the sides sides reports as serving, live
// the one with the live traffic; a side only present has its counters at 0.
func newAppMetrics(tb testing.TB, label string, sides func(context.Context) (live string, serving, present []string), ns, app string) *AppMetrics {
	m := &AppMetrics{idle: map[string]float64{}, live: map[string]float64{}, silent: map[string]bool{}, newIdle: 0.002, newLive: 0.002}
	reg := prometheus.NewRegistry()
	reqs := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "http_requests_total", Help: "requests"}, []string{"app", "namespace", label, "code"})
	reg.MustRegister(reqs)
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	tb.Cleanup(srv.Close)
	m.target = strings.TrimPrefix(srv.URL, "http://")
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	tb.Cleanup(cancel)
	const tick = 100 * time.Millisecond
	go func() {
		tk := time.NewTicker(tick)
		defer tk.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tk.C:
			}
			live, all, present := sides(ctx)
			m.mu.Lock()
			for _, c := range present {
				if !m.silent[c] {
					reqs.WithLabelValues(app, ns, c, "200").Add(0)
					reqs.WithLabelValues(app, ns, c, "500").Add(0)
				}
			}
			for _, c := range all {
				if _, ok := m.idle[c]; !ok {
					m.idle[c] = m.newIdle
				}
				if _, ok := m.live[c]; !ok {
					m.live[c] = m.newLive
				}
				if m.silent[c] {
					continue
				}
				n, e := QARPS*tick.Seconds(), m.idle[c]
				if c == live {
					n, e = LiveRPS*tick.Seconds(), m.live[c]
				}
				reqs.WithLabelValues(app, ns, c, "200").Add(n * (1 - e))
				reqs.WithLabelValues(app, ns, c, "500").Add(n * e)
			}
			m.mu.Unlock()
		}
	}()
	return m
}

// SetNew gives every side first seen from now on (a Rollout's next
// ReplicaSet) the error rate idle while it is idle and live while it is
// live: a release that fails QA (idle high), or that passes it and fails
// under real traffic (live high).
func (m *AppMetrics) SetNew(idle, live float64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.newIdle, m.newLive = idle, live
}

// Set gives side c (a colour, or a Rollout's hash) the error rate
// errRate, live or idle, or silences it.
func (m *AppMetrics) Set(c string, errRate float64, silent bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.idle[c], m.live[c], m.silent[c] = errRate, errRate, silent
}

// SetUnderLoad gives side c the error rate errRate only while it is live:
// a release that passes QA and fails under real traffic.
func (m *AppMetrics) SetUnderLoad(c string, errRate float64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.live[c] = errRate
}

// ScrapeConfig is Prometheus's scrape_configs entry for these counters.
func (m *AppMetrics) ScrapeConfig(job string) string {
	return "- job_name: " + job + "\n  static_configs: [{targets: ['" + m.target + "']}]"
}

// AppMetricsChecks is a checks file for second-scale tests of these
// counters: the error rate, absolutely (after the switch) and against the
// live colour (or, after the switch, its baseline).
const AppMetricsChecks = `interval: 3s
window: 15s
checks:
  - name: error-rate
    query: sum(rate(http_requests_total{app="{{.App}}",namespace="{{.Namespace}}",color="{{.Color}}",code=~"5.."}[{{.Window}}])) / sum(rate(http_requests_total{app="{{.App}}",namespace="{{.Namespace}}",color="{{.Color}}"}[{{.Window}}]))
    max: 0.01
    when: after-switch
  - name: error-rate-vs-before
    query: sum(rate(http_requests_total{app="{{.App}}",namespace="{{.Namespace}}",color="{{.Color}}",code=~"5.."}[{{.Window}}])) / sum(rate(http_requests_total{app="{{.App}}",namespace="{{.Namespace}}",color="{{.Color}}"}[{{.Window}}]))
    compare: {with: live, max-increase: 0.02}
`

// RolloutMetricsChecks is AppMetricsChecks for a Rollout app's counters:
// the same checks, telling the sides apart by ReplicaSet hash.
var RolloutMetricsChecks = strings.ReplaceAll(AppMetricsChecks, `color="{{.Color}}"`, RolloutHashLabel+`="{{.Hash}}"`)
