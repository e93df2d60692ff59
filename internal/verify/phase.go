package verify

import (
	"fmt"
	"time"
)

// Phase is when a check runs: before the switch (verify, on the preview
// traffic), after it (monitor, on the real traffic), or both.
type Phase string

// The phases a check's `when` may name. Always is the default.
const (
	BeforeSwitch Phase = "before-switch"
	AfterSwitch  Phase = "after-switch"
	Always       Phase = "always"
)

func (p *problems) phase(label, s string) Phase {
	switch ph := Phase(s); ph {
	case "":
		return Always
	case BeforeSwitch, AfterSwitch, Always:
		return ph
	}
	p.add(label, "when", "%q: want before-switch, after-switch or always", s)
	return Always
}

// For returns the checks that run in phase (BeforeSwitch for verify,
// AfterSwitch for monitor), or nil when none does. The checks are shared,
// not copied.
func (cs *Checks) For(phase Phase) *Checks {
	out := &Checks{Path: cs.Path, PassScore: cs.PassScore}
	for _, c := range cs.Checks {
		if c.When == Always || c.When == phase {
			out.Checks = append(out.Checks, c)
		}
	}
	if len(out.Checks) == 0 {
		return nil
	}
	out.PassScore = passScoreFor(out.Checks, cs.PassScore)
	return out
}

// passScoreFor keeps the file's pass-score while some check of the subset
// has a weight; without one it is 0, as for a file with no weights.
func passScoreFor(checks []*Check, score float64) float64 {
	for _, c := range checks {
		if c.Weight > 0 {
			return score
		}
	}
	return 0
}

// Over returns copies of the checks judged over window instead of their
// own: monitor judges every check over its bake time, at the check's own
// interval. The window is cut to a whole number of intervals; a check
// whose interval is longer than window, or that would need more than
// MaxEvaluations evaluations, is an error naming it.
func (cs *Checks) Over(window time.Duration) (*Checks, error) {
	out := &Checks{Path: cs.Path, PassScore: cs.PassScore}
	total := 0
	for _, c := range cs.Checks {
		n := int(window / c.Interval)
		switch {
		case n < 1:
			return nil, fmt.Errorf("checks file %s: check %q: interval %s is longer than the bake time %s", cs.Path, c.Name, c.Interval, window)
		case n > 1000:
			return nil, fmt.Errorf("checks file %s: check %q: interval %s makes %d evaluations in the bake time %s; use at most 1000", cs.Path, c.Name, c.Interval, n, window)
		}
		total += n
		cp := *c
		cp.Window = time.Duration(n) * c.Interval
		out.Checks = append(out.Checks, &cp)
	}
	if total > MaxEvaluations {
		return nil, fmt.Errorf("checks file %s: %d evaluations in the bake time %s, more than %d (verify.MaxEvaluations): use a longer interval or a shorter bake", cs.Path, total, window, MaxEvaluations)
	}
	return out, nil
}
