package verify

import (
	"fmt"
	"time"

	"gitlab.com/platform/bluegreen/internal/plan"
)

// ObservationStart is when the target colour's observation starts: the
// given time (--since) when there is one; else, with a plan, when sync last
// finished, or when the plan was made if nothing synced; else now. The
// string says which, for the job log.
func ObservationStart(p *plan.Plan, since time.Time, given, fromPlan bool, now time.Time) (time.Time, string) {
	switch {
	case given:
		return since, fmt.Sprintf("observation starts at %s (--since)", stamp(since))
	case !fromPlan:
		return now, fmt.Sprintf("observation starts now, %s (no plan.json and no --since)", stamp(now))
	}
	if r, ok := p.Last(plan.Sync); ok && !r.Finished.IsZero() {
		return r.Finished, fmt.Sprintf("observation starts at %s, when sync finished (plan.json)", stamp(r.Finished))
	}
	return p.CreatedAt, fmt.Sprintf("observation starts at %s, when the plan was made (plan.json has no sync)", stamp(p.CreatedAt))
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }
