package scenario_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"text/template"
	"time"

	"sigs.k8s.io/yaml"

	"gitlab.com/platform/bluegreen/internal/prom"
	"gitlab.com/platform/bluegreen/internal/testenv"
	"gitlab.com/platform/bluegreen/internal/verify/scenario"
)

// queries renders ChecksYAML's two queries for a colour and a range.
func queries(t *testing.T, color, window string) []string {
	t.Helper()
	var f struct {
		Checks []struct{ Query string } `json:"checks"`
	}
	if err := yaml.Unmarshal([]byte(scenario.ChecksYAML), &f); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range f.Checks {
		var b strings.Builder
		tmpl := template.Must(template.New("q").Parse(c.Query))
		if err := tmpl.Execute(&b, map[string]string{"App": scenario.App, "Namespace": scenario.Namespace, "Color": color, "Window": window}); err != nil {
			t.Fatal(err)
		}
		out = append(out, b.String())
	}
	return out
}

// The benchmark's verdicts are only as good as the in-memory source's
// agreement with Prometheus itself. This backfills a generated history into
// a real Prometheus and compares every answer.
func TestMemory_AgreesWithRealPrometheus(t *testing.T) {
	t.Parallel()
	since := time.Now().Add(-time.Hour).Truncate(time.Minute)
	for _, name := range []string{"slow-leak", "noisy-good", "no-traffic"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f, _ := scenario.FamilyNamed(name)
			h := f.Spec(7).History(since)
			p := testenv.NewPrometheus(t, testenv.PrometheusOptions{History: string(h.OpenMetrics())})
			real, err := prom.New(prom.Config{URL: p.URL()})
			if err != nil {
				t.Fatal(err)
			}
			mem := h.Memory()
			ctx := context.Background()
			compared := 0
			for _, color := range []string{"green", "blue"} {
				for _, window := range []string{"1m", "3m", "10m"} {
					for _, q := range queries(t, color, window) {
						for k := 1; k <= 10; k++ {
							at := since.Add(time.Duration(k) * time.Minute)
							want, werr := real.Query(ctx, q, at)
							got, gerr := mem.Query(ctx, q, at)
							if errors.Is(werr, prom.ErrNoData) != errors.Is(gerr, prom.ErrNoData) {
								t.Fatalf("%s at +%dm: Prometheus err %v, memory err %v", q, k, werr, gerr)
							}
							if werr != nil {
								continue
							}
							if gerr != nil {
								t.Fatal(gerr)
							}
							w, g := want.Series[0].Points[0].V, got.Series[0].Points[0].V
							if !close(w, g) {
								t.Errorf("%s at +%dm: Prometheus %v, memory %v", q, k, w, g)
							}
							compared++
						}
					}
				}
			}
			if compared == 0 && name != "no-traffic" {
				t.Fatal("compared nothing")
			}
			t.Logf("%d answers agree", compared)
		})
	}
}

func close(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(a))
}
