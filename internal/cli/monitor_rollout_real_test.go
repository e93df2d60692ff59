package cli

import (
	"context"
	"strings"
	"testing"

	"gitlab.com/platform/bluegreen/internal/plan"
)

// monitor on a Rollout app, against the real Argo Rollouts controller: the
// release is fully promoted when monitor starts, so an abort would move
// nothing; monitor's rollback (the same traffic.Stage.Rollback, built by
// switchStage) undoes the Rollout to its previous revision, still warm, and
// commits that revision's images to git.
func TestMonitorRolloutReal_ADegradingRolloutIsUndoneToTheWarmRevision(t *testing.T) {
	t.Parallel()
	realEnv.Rollouts(t)
	w := newMonitorWorld(t, 0.002, false)
	// A Rollout app has no colours: render plans every release as blue,
	// and the counters give the live traffic to blue.
	w.metrics.Set("blue", 0.08, false)
	if code, out, errOut := w.release(rolloutManifests(), "registry.example.com/shop:1", nil); code != 0 {
		t.Fatalf("first release: exit %d\n%s\n%s", code, out, errOut)
	}
	h1, h2 := w.pausedRelease(t, "registry.example.com/shop:2")
	if code, out, errOut := runCLI(t, w.world.env(nil), "promote"); code != 0 {
		t.Fatalf("promote: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, errOut, p := w.monitor(t, nil)
	t.Logf("monitor:\n%s", out)
	if code != 1 || !strings.Contains(errOut, "rolled back") || !strings.Contains(out, "undoing to the previous revision") {
		t.Fatalf("exit %d, want 1 (rolled back through an undo)\n%s\n%s", code, out, errOut)
	}
	if why := w.reaches(context.Background(), "shop", h1); why != "" {
		t.Fatalf("after monitor's rollback: the active Service is not back on %s (from %s): %s", h1, h2, why)
	}
	if p.Monitor == nil || p.Monitor.Action != plan.MonitorRolledBack {
		t.Fatalf("plan.json monitor: %+v", p.Monitor)
	}
}
