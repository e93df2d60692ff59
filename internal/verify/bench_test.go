package verify_test

import (
	"fmt"
	"os"
	"strconv"
	"testing"

	"gitlab.com/platform/bluegreen/internal/verify/scenario"
)

// BenchmarkDecisionQuality compares bluegreen's early-decision rule with
// Argo Rollouts' documented analysis rule on every scenario family × seed,
// and prints the markdown table in README.md. Run it with
//
//	go test ./internal/verify -run '^$' -bench BenchmarkDecisionQuality -benchtime 1x -v
//
// BLUEGREEN_BENCH_SEEDS sets the seeds per family (default 20) and
// BLUEGREEN_BENCH_FIRST_SEED the first one (default 1), to try scenarios the
// rule was never tuned on.
func BenchmarkDecisionQuality(b *testing.B) {
	seeds, first := envInt("BLUEGREEN_BENCH_SEEDS", 20), envInt("BLUEGREEN_BENCH_FIRST_SEED", 1)
	var q *quality
	for i := 0; i < b.N; i++ {
		q = runQuality(b, first, seeds)
	}
	b.StopTimer()
	fmt.Fprintf(os.Stdout, "\n%s\n", q.Markdown())
	bad, good := q.pooled("bluegreen", scenario.Bad), q.pooled("bluegreen", scenario.Good)
	nd, nb := q.pooled("bluegreen", scenario.NoData), q.pooled("bluegreen", scenario.NoBaseline)
	m, _ := median(bad.ttds)
	b.ReportMetric(100*float64(bad.verdicts["fail"])/float64(bad.n), "detect-%")
	b.ReportMetric(m.Seconds(), "median-ttd-s")
	b.ReportMetric(q.speedup(argoKey(3)), "x-sooner-than-argo-fl3")
	b.ReportMetric(100*float64(good.verdicts["fail"])/float64(good.n), "false-fail-%")
	b.ReportMetric(float64(nd.verdicts["pass"]+nb.verdicts["pass"]), "nodata-passes")
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}
