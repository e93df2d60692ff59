package testenv

import (
	"context"
	"net/http/httptest"
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
// Prometheus to scrape: the live traffic goes to whichever colour the
// active Service selects (read every tick), and the idle colour gets a
// trickle of QA traffic through its preview. Counts are deterministic (no
// sampling), so a colour's error rate is exactly the one set. It serves on
// loopback until tb ends, or for fifteen minutes at most.
type AppMetrics struct {
	mu sync.Mutex
	// The share of 5xx per colour when idle (QA traffic only) and when live.
	idle, live map[string]float64
	silent     map[string]bool // a colour that reports nothing at all
	target     string
}

// Request rates of AppMetrics, per second.
const (
	LiveRPS = 50.0 // to the live colour
	QARPS   = 5.0  // to the idle colour, through its preview
)

// NewAppMetrics starts the counters of app in namespace ns, both colours at
// 0.2% errors, live or idle.
func NewAppMetrics(tb testing.TB, client kubernetes.Interface, ns, app string) *AppMetrics {
	tb.Helper()
	m := &AppMetrics{
		idle:   map[string]float64{"blue": 0.002, "green": 0.002},
		live:   map[string]float64{"blue": 0.002, "green": 0.002},
		silent: map[string]bool{},
	}
	reg := prometheus.NewRegistry()
	reqs := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "http_requests_total", Help: "requests"}, []string{"app", "namespace", "color", "code"})
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
		live := "blue"
		for {
			select {
			case <-ctx.Done():
				return
			case <-tk.C:
			}
			if svc, err := client.CoreV1().Services(ns).Get(ctx, app, metav1.GetOptions{}); err == nil && svc.Spec.Selector["bluegreen.dev/color"] != "" {
				live = svc.Spec.Selector["bluegreen.dev/color"]
			}
			m.mu.Lock()
			for _, c := range []string{"blue", "green"} {
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

// Set gives colour c the error rate errRate, live or idle, or silences it.
func (m *AppMetrics) Set(c string, errRate float64, silent bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.idle[c], m.live[c], m.silent[c] = errRate, errRate, silent
}

// SetUnderLoad gives colour c the error rate errRate only while it is live:
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
