package cli

import (
	"context"
	"strings"
	"testing"

	"gitlab.com/platform/bluegreen/internal/plan"
	"gitlab.com/platform/bluegreen/internal/testenv"
)

// A Rollout app through verify, promote and monitor, against the real Argo
// Rollouts controller and a real Prometheus whose series are labelled by
// ReplicaSet hash (testenv.NewRolloutMetrics): the release passes verify on
// its QA traffic, new ReplicaSet against stable; promote (which requires
// that passing verification) makes it live; under the live traffic it
// degrades, and monitor, comparing the new hash with the old stable hash's
// baseline, rolls it back. The release is fully promoted when monitor
// starts, so an abort would move nothing; monitor's rollback (the same
// traffic.Stage.Rollback, built by switchStage) undoes the Rollout to its
// previous revision, still warm, and commits that revision's images to git.
func TestMonitorRolloutReal_ADegradingRolloutIsUndoneToTheWarmRevision(t *testing.T) {
	t.Parallel()
	w := newRolloutMonitorWorld(t)
	if code, out, errOut := w.release(rolloutManifests(), "registry.example.com/shop:1", nil); code != 0 {
		t.Fatalf("first release: exit %d\n%s\n%s", code, out, errOut)
	}
	// The next ReplicaSet is fine on QA traffic, bad under live traffic.
	w.metrics.SetNew(0.002, 0.08)
	h1, h2 := w.pausedRelease(t, "registry.example.com/shop:2")
	p := loadPlanT(t, w.out)
	if r := p.Workload.Rollout; r == nil || r.Stable != h1 || r.Preview != h2 {
		t.Fatalf("plan.json workload.rollout after sync: %+v, want stable %s, preview %s", r, h1, h2)
	}

	code, out, errOut := w.run("verify", w.withEnv(nil))
	t.Logf("verify:\n%s", out)
	if code != 0 {
		t.Fatalf("verify: exit %d, want 0 (pass)\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{
		"Rollout shop: new ReplicaSet " + h2 + " (target) against stable " + h1 + " (live)",
		"STABLE " + strings.ToUpper(h1), testenv.RolloutHashLabel + `="` + h2 + `"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("verify's log lacks %q", want)
		}
	}
	v := loadPlanT(t, w.out).Verification
	if v == nil || v.Result != "pass" || len(v.Checks) != 1 || !strings.Contains(v.Checks[0].LiveQuery, testenv.RolloutHashLabel+`="`+h1+`"`) {
		t.Fatalf("plan.json verification: %+v", v)
	}

	if code, out, errOut := w.run("promote", map[string]string{"BG_REQUIRE_VERIFICATION": "true"}); code != 0 {
		t.Fatalf("promote: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, errOut, p = w.monitor(t, nil)
	t.Logf("monitor:\n%s", out)
	if code != 1 || !strings.Contains(errOut, "rolled back to ReplicaSet "+h1) || !strings.Contains(out, "undoing to the previous revision") {
		t.Fatalf("exit %d, want 1 (rolled back through an undo)\n%s\n%s", code, out, errOut)
	}
	// The comparison was the new hash, live, against the old stable
	// hash's baseline from before the switch.
	for _, want := range []string{
		"new ReplicaSet " + h2 + " (target) against stable " + h1 + " (live)",
		"stable " + h1 + " baseline 0.002 over the 15s before the switch",
		"error-rate: fail after", testenv.RolloutHashLabel + `="` + h2 + `"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("monitor's log lacks %q", want)
		}
	}
	if why := w.reaches(context.Background(), "shop", h1); why != "" {
		t.Fatalf("after monitor's rollback: the active Service is not back on %s (from %s): %s", h1, h2, why)
	}
	if p.Monitor == nil || p.Monitor.Action != plan.MonitorRolledBack || p.Monitor.Result != "fail" {
		t.Fatalf("plan.json monitor: %+v", p.Monitor)
	}
}

func loadPlanT(t *testing.T, dir string) *plan.Plan {
	t.Helper()
	p, err := plan.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
