package deploy

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"gitlab.com/platform/bluegreen/internal/outcome"
	"gitlab.com/platform/bluegreen/internal/plan"
)

type fakeRollout struct{ stable, current string }

func (f fakeRollout) WaitPreview(_ context.Context, _, _ string, progress func(string)) (string, string, error) {
	progress("paused")
	return f.stable, f.current, nil
}

// sync's proof of a Rollout records the ReplicaSet hashes verify and
// monitor query by; a hash the cluster reports that could not go into a
// label matcher is refused, and nothing is recorded.
func TestProveRollout_RecordsTheHashesAndRefusesABadOne(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, stable, current string
		want                  string // in the output, or in the error when bad
		bad                   bool
	}{
		{"paused", "7c9b6d5f8", "5d8f9c7b4", "preview reaches only the new ReplicaSet 5d8f9c7b4, the active Service the stable 7c9b6d5f8", false},
		{"first release", "5d8f9c7b4", "5d8f9c7b4", "has one ReplicaSet, 5d8f9c7b4", false},
		{"hostile", "7c9b6d5f8", `x"} or vector(1)`, `ReplicaSet hash "x\"} or vector(1)" is invalid`, true},
	} {
		var out bytes.Buffer
		s := &Stage{Rollouts: fakeRollout{tt.stable, tt.current}, Out: &out, Now: time.Now}
		p := &plan.Plan{Namespace: "shop", Workload: plan.Workload{Kind: "Rollout", Name: "shop"}}
		err := s.prove(context.Background(), p)
		if tt.bad {
			if outcome.Code(err) != 1 || !strings.Contains(err.Error(), tt.want) || p.Workload.Rollout != nil {
				t.Errorf("%s: %v, recorded %+v", tt.name, err, p.Workload.Rollout)
			}
			continue
		}
		if err != nil || !strings.Contains(out.String(), tt.want) {
			t.Errorf("%s: %v\n%s", tt.name, err, out.String())
		}
		if r := p.Workload.Rollout; r == nil || r.Stable != tt.stable || r.Preview != tt.current {
			t.Errorf("%s: recorded %+v", tt.name, r)
		}
	}
}
