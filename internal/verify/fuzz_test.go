package verify_test

import (
	"errors"
	"strings"
	"testing"

	"gitlab.com/platform/bluegreen/internal/outcome"
	"gitlab.com/platform/bluegreen/internal/plan"
	"gitlab.com/platform/bluegreen/internal/verify"
)

// FuzzChecks feeds checks files to the parser. It must never panic; a
// refusal is a usage error naming the file; a file it accepts stays within
// the limits, and each of its queries renders for both colours.
func FuzzChecks(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		cs, err := verify.ParseChecks("checks.yaml", data)
		if err != nil {
			if outcome.Code(err) != 2 || !strings.HasPrefix(err.Error(), "checks file checks.yaml: ") {
				t.Fatalf("a refusal that is not exit 2 naming the file: %v", err)
			}
			return
		}
		if n := len(cs.Checks); n == 0 || n > verify.MaxChecks {
			t.Fatalf("accepted %d checks", n)
		}
		evaluations := 0
		for _, c := range cs.Checks {
			evaluations += c.Intervals()
			for _, color := range []plan.Color{plan.Green, plan.Blue} {
				q, err := c.Render("checkout", "shop", color, c.Window)
				if err != nil && !errors.Is(err, verify.ErrQueryTooLong) {
					t.Fatalf("check %q accepted but does not render: %v", c.Name, err)
				}
				if len(q) > verify.MaxQuerySize {
					t.Fatalf("check %q renders %d bytes", c.Name, len(q))
				}
			}
			if c.Interval <= 0 || c.Window < c.Interval || c.Window%c.Interval != 0 || c.Window > 1000*c.Interval {
				t.Fatalf("check %q: window %s, interval %s", c.Name, c.Window, c.Interval)
			}
		}
		if evaluations > verify.MaxEvaluations {
			t.Fatalf("accepted %d evaluations", evaluations)
		}
	})
}
