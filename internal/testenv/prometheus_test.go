package testenv_test

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	"k8s.io/apimachinery/pkg/util/wait"

	"gitlab.com/platform/bluegreen/internal/testenv"
)

func TestPrometheus_BackfilledHistoryAnswersRate(t *testing.T) {
	t.Parallel()
	// 30 minutes of a counter that grows by 10 every 15s (0.667/s) for
	// green and by 30 (2/s) for blue, ending a minute ago.
	end := time.Now().Add(-time.Minute).Truncate(time.Second)
	var b strings.Builder
	b.WriteString("# TYPE http_requests counter\n")
	for _, s := range []struct {
		color string
		step  int
	}{{"blue", 30}, {"green", 10}} {
		for i := 0; i <= 120; i++ {
			ts := end.Add(time.Duration(i-120) * 15 * time.Second)
			fmt.Fprintf(&b, "http_requests_total{color=%q} %d %d\n", s.color, i*s.step, ts.Unix())
		}
	}
	b.WriteString("# EOF\n")

	start := time.Now()
	p := testenv.NewPrometheus(t, testenv.PrometheusOptions{History: b.String()})
	t.Logf("backfilled and ready in %s", time.Since(start).Round(time.Millisecond))

	client, err := api.NewClient(api.Config{Address: p.URL()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	v, warnings, _, err := promv1.NewAPI(client).Query(ctx, `rate(http_requests_total[5m])`, end)
	if err != nil {
		t.Fatalf("query: %v (warnings %v)", err, warnings)
	}
	vec, ok := v.(model.Vector)
	if !ok || len(vec) != 2 {
		t.Fatalf("result = %v, want 2 series", v)
	}
	want := map[string]float64{"blue": 2, "green": 10.0 / 15}
	for _, s := range vec {
		color := string(s.Metric["color"])
		if got := float64(s.Value); math.Abs(got-want[color]) > 1e-6 {
			t.Errorf("rate for %s = %v, want %v", color, got, want[color])
		}
	}
}

func TestPrometheus_ScrapesConfiguredTarget(t *testing.T) {
	t.Parallel()
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "# TYPE bluegreen_probe gauge\nbluegreen_probe 42")
	}))
	defer app.Close()
	target := strings.TrimPrefix(app.URL, "http://")
	p := testenv.NewPrometheus(t, testenv.PrometheusOptions{
		ScrapeConfigs: fmt.Sprintf("- job_name: app\n  static_configs: [{targets: [%q]}]", target),
	})
	client, err := api.NewClient(api.Config{Address: p.URL()})
	if err != nil {
		t.Fatal(err)
	}
	prom := promv1.NewAPI(client)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	start := time.Now()
	// Targets are applied on a 5s throttle, so the first scrape takes ~6s.
	err = wait.PollUntilContextCancel(ctx, 200*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		v, _, _, err := prom.Query(ctx, `bluegreen_probe{job="app"}`, time.Now())
		if err != nil {
			return false, err
		}
		vec, _ := v.(model.Vector)
		return len(vec) == 1 && vec[0].Value == 42, nil
	})
	if err != nil {
		t.Fatalf("bluegreen_probe never scraped from %s: %v", target, err)
	}
	t.Logf("first sample after %s", time.Since(start).Round(time.Millisecond))
}
