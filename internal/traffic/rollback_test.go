package traffic

import (
	"context"
	"testing"
	"time"

	"gitlab.com/platform/bluegreen/internal/kube"
	"gitlab.com/platform/bluegreen/internal/plan"
)

// stamps records the annotations outSince writes.
type stamps struct {
	Services
	set map[string]string
}

func (s *stamps) Annotate(_ context.Context, _, name string, a map[string]*string) error {
	for k, v := range a {
		s.set[name+" "+k] = *v
	}
	return nil
}

func TestOutSince_CountsFromTheSwitchBackNotFromThePromotesStamp(t *testing.T) {
	t.Parallel()
	promoted := time.Date(2026, 12, 4, 10, 0, 0, 400e6, time.UTC)
	now := promoted.Add(5 * time.Minute)
	rolledBackAt := promoted.Add(4 * time.Minute)
	p := &plan.Plan{Namespace: "shop", TargetColor: plan.Green, LiveColor: plan.Blue,
		Workload: plan.Workload{Services: []plan.ServicePair{{Active: "shop"}}}}
	afterPromote := &plan.Traffic{Live: plan.Green, Previous: plan.Blue, SwitchedAt: promoted}
	stamp := func(t time.Time) kube.Active {
		return kube.Active{Name: "shop", Selected: plan.Blue, Annotations: map[string]string{kube.AnnoSwitchedAt: t.Format(time.RFC3339)}}
	}
	tests := []struct {
		name    string
		traffic *plan.Traffic
		before  kube.Active
		want    time.Time
	}{
		{"this run switches back", afterPromote, kube.Active{Name: "shop", Selected: plan.Green}, now},
		{"a re-run after the stamp", afterPromote, stamp(rolledBackAt), rolledBackAt},
		{"a re-run killed between the commit and the stamp: the stamp is the promote's", afterPromote, stamp(promoted), now},
		{"after a failed verify (no promote): green never had traffic", nil, stamp(promoted.Add(-time.Hour)), promoted.Add(-time.Hour)},
		{"no stamp at all", afterPromote, kube.Active{Name: "shop", Selected: plan.Blue}, now},
	}
	for _, tt := range tests {
		p.Traffic = tt.traffic
		svcs := &stamps{set: map[string]string{}}
		s := &Stage{Services: svcs, Clock: func() time.Time { return now }}
		got, err := s.outSince(context.Background(), p, tt.before)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if !got.Equal(tt.want.Truncate(time.Second)) && !got.Equal(tt.want) {
			t.Errorf("%s: out since %s, want %s", tt.name, got, tt.want)
		}
		if stamped := svcs.set["shop "+kube.AnnoSwitchedAt] != ""; stamped != (tt.want == now) {
			t.Errorf("%s: stamped %v, want %v", tt.name, stamped, tt.want == now)
		}
	}
}
