package plan

import (
	"errors"
	"fmt"
	"strings"

	"gitlab.com/platform/bluegreen/internal/outcome"

	"gitlab.com/platform/bluegreen/internal/names"
)

// ErrFlagMismatch is wrapped by CheckFlags's refusals.
var ErrFlagMismatch = errors.New("a flag disagrees with the plan")

// Flag is a mode's flag (or its variable) for a value that the plan holds.
type Flag struct {
	Name  string // as the user knows it, e.g. --namespace (BG_NAMESPACE)
	Field string // the plan's field as plan.json spells it: app, namespace, environment, image, targetColor or liveColor
	Value string // "" when the flag was not given
}

// CheckFlags refuses flags that disagree with the plan. The plan is the
// record of what render decided, and every later mode acts on it, so a
// mode's flags never rewrite it: a flag that names another namespace or
// colour is a mistake (a stale dotenv, another job's artifacts), not an
// override. A flag that was not given, or that agrees, passes. file names
// the plan in the message, which names each flag and both values; the
// error wraps ErrFlagMismatch and is outcome.Usage (exit 2).
//
// No flag is a query-only override. One that should be must change only
// what its stage queries (for verify, the verify.Target), never the plan.
func (p *Plan) CheckFlags(file string, flags ...Flag) error {
	var msgs []string
	for _, f := range flags {
		have, ok := p.field(f.Field)
		switch {
		case !ok:
			return fmt.Errorf("%s: the plan has no field %q that a flag could name", f.Name, f.Field)
		case f.Value != "" && f.Value != have:
			msgs = append(msgs, fmt.Sprintf("%s is %s but %s has %s %s", f.Name, names.Quote(f.Value), file, f.Field, names.Quote(have)))
		}
	}
	if len(msgs) == 0 {
		return nil
	}
	return outcome.Usagef("%w: %s; a flag never changes a stored plan: drop the flag, or render again", ErrFlagMismatch, strings.Join(msgs, "; "))
}

// field is the value of a plan field that a flag may name.
func (p *Plan) field(name string) (string, bool) {
	switch name {
	case "app":
		return p.App, true
	case "namespace":
		return p.Namespace, true
	case "environment":
		return p.Environment, true
	case "image":
		return p.Image, true
	case "targetColor":
		return string(p.TargetColor), true
	case "liveColor":
		return string(p.LiveColor), true
	}
	return "", false
}
