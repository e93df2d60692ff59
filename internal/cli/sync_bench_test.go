package cli

import (
	"regexp"
	"sort"
	"strconv"
	"testing"
	"time"
)

var (
	totalRE   = regexp.MustCompile(`sync done in ([0-9.]+m?s)`)
	argoRE    = regexp.MustCompile(`and Healthy \[([0-9.]+m?s)\]`)
	previewRE = regexp.MustCompile(`preflight: preview reaches only \w+ pods \[([0-9.]+m?s)\]`)
)

// BenchmarkSyncOverhead measures the sync stage's own time on the real
// servers: the whole stage minus the time spent waiting for Argo CD and for
// the rollout (the preflight). Each iteration is a new release of the idle
// colour while the live one stays: render, then sync. Run:
//
//	go test ./internal/cli -run '^$' -bench BenchmarkSyncOverhead -benchtime 10x
func BenchmarkSyncOverhead(b *testing.B) {
	w := newWorld(b)
	var overheads, totals []time.Duration
	i := 0
	for b.Loop() {
		i++
		code, out, errOut := w.release(shopManifests(b), "registry.example.com/shop:"+strconv.Itoa(i), nil)
		if code != 0 {
			b.Fatalf("release %d: exit %d\n%s\n%s", i, code, out, errOut)
		}
		total, argo, preview := durationOf(b, totalRE, out), durationOf(b, argoRE, out), durationOf(b, previewRE, out)
		overheads = append(overheads, total-argo-preview)
		totals = append(totals, total)
	}
	b.ReportMetric(float64(median(overheads).Milliseconds()), "overhead-ms")
	b.ReportMetric(float64(median(totals).Milliseconds()), "stage-ms")
	b.Logf("median over %d releases: stage %s, own overhead %s", len(totals), median(totals), median(overheads))
}

func durationOf(b *testing.B, re *regexp.Regexp, out string) time.Duration {
	m := re.FindStringSubmatch(out)
	if m == nil {
		b.Fatalf("no %s in:\n%s", re, out)
	}
	d, err := time.ParseDuration(m[1])
	if err != nil {
		b.Fatal(err)
	}
	return d
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}
