package traffic

import (
	"fmt"
	"strings"
	"time"

	"gitlab.com/platform/bluegreen/internal/outcome"
	"gitlab.com/platform/bluegreen/internal/plan"
)

// Evidence is what promote must find in the plan before it switches.
type Evidence struct {
	// Verification: a passing verification of this release is required.
	// Off only when the pipeline has no verify job (require-verification:
	// false).
	Verification bool
	// Approval: the pipeline has an approve job, so an approval of the
	// very digest being promoted is required.
	Approval bool
	// MaxAge, when set, is how old the verification may be at promote.
	MaxAge time.Duration
}

// check refuses a promote whose evidence chain is incomplete, naming every
// missing link (outcome.Negative: the pipeline's own record says no).
func (e Evidence) check(p *plan.Plan, now time.Time) error {
	var missing []string
	if v := p.Verification; v != nil && v.Result != "pass" {
		return outcome.Negativef("verification was %s, not pass: refusing to promote %s", v.Result, p.TargetColor)
	}
	if e.Verification {
		switch v := p.Verification; {
		case v == nil:
			missing = append(missing, "no verification: plan.json has no verify result (run verify first, or set require-verification: false when the pipeline has no verify job)")
		case v.Target != p.TargetColor:
			missing = append(missing, fmt.Sprintf("the verification judged %s, not the release's %s", v.Target, p.TargetColor))
		case e.MaxAge > 0 && now.Sub(v.Finished) > e.MaxAge:
			missing = append(missing, fmt.Sprintf("the verification finished %s ago, more than max-age %s: re-run verify", now.Sub(v.Finished).Round(time.Second), e.MaxAge))
		}
	}
	if e.Approval {
		switch a := p.Approval; {
		case a == nil:
			missing = append(missing, "no approval: the pipeline has an approve job, but plan.json records no approval (press play on approve)")
		case a.Digest != p.Rendered.Digest:
			missing = append(missing, fmt.Sprintf("the approval by %s was for %s, but the release to promote is %s: the rendered manifests changed after approval", a.Approver.Login, a.Digest, p.Rendered.Digest))
		}
	}
	if len(missing) > 0 {
		return outcome.Negativef("refusing to promote %s: %s", p.TargetColor, strings.Join(missing, "; "))
	}
	return nil
}
