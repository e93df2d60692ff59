package verify

import (
	"strings"
	"testing"
	"time"

	"gitlab.com/platform/bluegreen/internal/plan"
)

func TestObservationStart_SinceThenSyncThenThePlanThenNow(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	made, synced, given := now.Add(-time.Hour), now.Add(-10*time.Minute), now.Add(-30*time.Minute)
	withSync := &plan.Plan{CreatedAt: made}
	withSync.Append(plan.Result{Stage: plan.Sync, Outcome: "ok", Finished: synced})
	tests := []struct {
		name            string
		p               *plan.Plan
		given, fromDisk bool
		want            time.Time
		says            string
	}{
		{"--since wins", withSync, true, true, given, "(--since)"},
		{"sync finished", withSync, false, true, synced, "when sync finished"},
		{"no sync: the plan's time", &plan.Plan{CreatedAt: made}, false, true, made, "when the plan was made"},
		{"no plan: now", &plan.Plan{}, false, false, now, "starts now"},
	}
	for _, tt := range tests {
		at, why := ObservationStart(tt.p, given, tt.given, tt.fromDisk, now)
		if !at.Equal(tt.want) || !strings.Contains(why, tt.says) {
			t.Errorf("%s: %s (%q), want %s (%q)", tt.name, at, why, tt.want, tt.says)
		}
	}
}
