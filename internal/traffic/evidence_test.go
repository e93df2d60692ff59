package traffic

import (
	"strings"
	"testing"
	"time"

	"gitlab.com/platform/bluegreen/internal/outcome"
	"gitlab.com/platform/bluegreen/internal/plan"
)

func TestEvidence_RefusesAPromoteWithAMissingLink(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	digest := "sha256:" + strings.Repeat("a", 64)
	other := "sha256:" + strings.Repeat("b", 64)
	base := func() *plan.Plan {
		return &plan.Plan{
			TargetColor: plan.Green, LiveColor: plan.Blue, Rendered: plan.Rendered{Digest: digest},
			Verification: &plan.Verification{Result: "pass", Target: plan.Green, Finished: now.Add(-time.Minute)},
			Approval:     &plan.Approval{Approver: plan.Approver{Login: "ana"}, Digest: digest},
		}
	}
	all := Evidence{Verification: true, Approval: true, MaxAge: time.Hour}
	tests := []struct {
		name string
		e    Evidence
		edit func(*plan.Plan)
		want string // "" means allowed
	}{
		{"complete", all, func(*plan.Plan) {}, ""},
		{"no verification", all, func(p *plan.Plan) { p.Verification = nil }, "no verification"},
		{"no verification, not required", Evidence{Approval: true}, func(p *plan.Plan) { p.Verification = nil }, ""},
		{"failed verification, even when not required", Evidence{}, func(p *plan.Plan) { p.Verification.Result = "fail" }, "verification was fail"},
		{"verification of the other colour", all, func(p *plan.Plan) { p.Verification.Target = plan.Blue }, "judged blue"},
		{"verification too old", all, func(p *plan.Plan) { p.Verification.Finished = now.Add(-2 * time.Hour) }, "more than max-age 1h0m0s"},
		{"no approval", all, func(p *plan.Plan) { p.Approval = nil }, "no approval"},
		{"approval of another digest", all, func(p *plan.Plan) { p.Approval.Digest = other }, "was for " + other},
		{"no approve job", Evidence{Verification: true}, func(p *plan.Plan) { p.Approval = nil }, ""},
		{"both missing, both named", all, func(p *plan.Plan) { p.Approval, p.Verification = nil, nil }, "no verification: plan.json has no verify result (run verify first, or set require-verification: false when the pipeline has no verify job); no approval"},
	}
	for _, tt := range tests {
		p := base()
		tt.edit(p)
		err := tt.e.check(p, now)
		if tt.want == "" {
			if err != nil {
				t.Errorf("%s: %v, want allowed", tt.name, err)
			}
			continue
		}
		if outcome.KindOf(err) != outcome.Negative || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v (%s), want exit 1 naming %q", tt.name, err, outcome.KindOf(err), tt.want)
		}
	}
}
