package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gitlab.com/platform/bluegreen/internal/plan"
	"gitlab.com/platform/bluegreen/internal/testenv"
)

// verify on a Rollout app, against the real Argo Rollouts controller and a
// real Prometheus: sync left the Rollout paused with the new ReplicaSet
// behind the preview, and its pods answer 8% errors on their QA traffic
// while the stable ones, under the live traffic, answer 0.2%. verify
// compares the two ReplicaSets by hash and fails, and the traffic stays on
// the stable ReplicaSet. A checks file that tells the sides apart by colour
// is refused first, naming the check.
func TestVerifyRolloutReal_AFailingNewReplicaSetFailsAgainstTheStableOne(t *testing.T) {
	t.Parallel()
	w := newRolloutMonitorWorld(t)
	if code, out, errOut := w.release(rolloutManifests(), "registry.example.com/shop:1", nil); code != 0 {
		t.Fatalf("first release: exit %d\n%s\n%s", code, out, errOut)
	}
	w.metrics.SetNew(0.08, 0.08)
	h1, h2 := w.pausedRelease(t, "registry.example.com/shop:2")

	colour := filepath.Join(t.TempDir(), "colour.yaml")
	if err := os.WriteFile(colour, []byte(testenv.AppMetricsChecks), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := w.run("verify", w.withEnv(map[string]string{"BG_CHECKS": colour}))
	if code != 2 || !strings.Contains(errOut, `check "error-rate-vs-before": query: uses {{.Color}}, not {{.Hash}}`) || !strings.Contains(errOut, `rollouts_pod_template_hash="{{.Hash}}"`) {
		t.Fatalf("verify with colour checks: exit %d, want 2 naming the check\n%s\n%s", code, out, errOut)
	}

	code, out, errOut = w.run("verify", w.withEnv(nil))
	t.Logf("verify:\n%s", out)
	if code != 1 || !strings.Contains(out, "error-rate-vs-before: fail after") {
		t.Fatalf("verify: exit %d, want 1 (fail)\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{
		"Rollout shop: new ReplicaSet " + h2 + " (target) against stable " + h1 + " (live)",
		"new " + h2 + " 0.08", "stable " + h1 + " 0.002",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("verify's log lacks %q", want)
		}
	}
	p := loadPlanT(t, w.out)
	if v := p.Verification; v == nil || v.Result != "fail" || len(v.Checks) != 1 || !strings.Contains(v.Checks[0].Query, testenv.RolloutHashLabel+`="`+h2+`"`) {
		t.Fatalf("plan.json verification: %+v", v)
	}
	if last, _ := p.Last(plan.Verify); last.Outcome != "negative" {
		t.Errorf("ledger: %+v", last)
	}
	if why := w.reaches(t.Context(), "shop", h1); why != "" {
		t.Errorf("after the failed verify: the active Service left the stable %s: %s", h1, why)
	}
}
