package drift

import (
	"strings"
	"testing"
	"time"

	"gitlab.com/platform/bluegreen/internal/kube"
	"gitlab.com/platform/bluegreen/internal/plan"
)

func TestDrained_ScalesDownOnlyADrainAfterTheSwitch(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) string { return now.Add(-d).Format(time.RFC3339) }
	for _, tc := range []struct {
		name string
		ann  map[string]string
		want string // "" when it may scale down
	}{
		{"switched long ago", map[string]string{kube.AnnoSwitchedAt: at(time.Hour)}, ""},
		{"switched 10s ago", map[string]string{kube.AnnoSwitchedAt: at(10 * time.Second)}, "drain for 30s"},
		{"fast rollback 10s ago after an old promote", map[string]string{kube.AnnoSwitchedAt: at(time.Hour), kube.AnnoPendingReconcile: "since " + at(10*time.Second) + ": --now"}, "drain for 30s"},
		{"fast rollback long ago", map[string]string{kube.AnnoPendingReconcile: "since " + at(time.Hour) + ": Argo CD unreachable"}, ""},
		{"no switch time", map[string]string{}, "records no switch time"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := &Stage{Drain: 30 * time.Second, Clock: func() time.Time { return now }}
			err := s.drained([]kube.Active{{Name: "shop", Annotations: tc.ann}}, plan.Green)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("got %v, want an error with %q", err, tc.want)
			}
		})
	}
}
