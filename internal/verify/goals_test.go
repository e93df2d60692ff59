package verify_test

import (
	"testing"

	"gitlab.com/platform/bluegreen/internal/verify/scenario"
)

// TestDecisionQuality_MeetsGoals asserts the goals on a fixed seed
// set (the benchmark's default): bad greens detected at least 2× sooner
// (median) than Argo Rollouts' documented rule with failureLimit 3, no good
// green failed, no green without data or without a baseline passed, and no
// bad family let through more often than the reference lets it through.
func TestDecisionQuality_MeetsGoals(t *testing.T) {
	t.Parallel()
	q := runQuality(t, 1, 20)
	t.Logf("\n%s", q.Markdown())
	if s := q.speedup(argoKey(3)); s < 2 {
		t.Errorf("median time to detect is %.2f× sooner than Argo (failureLimit 3), want ≥ 2×", s)
	}
	if good := q.pooled("bluegreen", scenario.Good); good.verdicts["fail"] != 0 {
		t.Errorf("%d good greens failed, want 0", good.verdicts["fail"])
	}
	for _, truth := range []scenario.Truth{scenario.NoData, scenario.NoBaseline} {
		if s := q.pooled("bluegreen", truth); s.verdicts["pass"] != 0 {
			t.Errorf("%d %s scenarios passed, want 0", s.verdicts["pass"], truth)
		}
	}
	bad := q.pooled("bluegreen", scenario.Bad)
	if rate := float64(bad.verdicts["fail"]) / float64(bad.n); rate < 0.9 {
		t.Errorf("detected %.0f%% of bad greens, want ≥ 90%%", rate*100)
	}
	for _, f := range q.families {
		if f.Truth != scenario.Bad {
			continue
		}
		bg, ref := q.stats[f.Name]["bluegreen"], q.stats[f.Name][argoKey(3)]
		if bg.verdicts["pass"] > ref.verdicts["pass"] {
			t.Errorf("%s: bluegreen passed %d bad greens, the reference %d", f.Name, bg.verdicts["pass"], ref.verdicts["pass"])
		}
	}
}
