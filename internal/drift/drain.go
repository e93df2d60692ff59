package drift

import (
	"fmt"
	"strings"
	"time"

	"gitlab.com/platform/bluegreen/internal/kube"
	"gitlab.com/platform/bluegreen/internal/plan"
)

// drained refuses to scale color down before the drain period has passed
// since the switch took its pods out of the active Services' endpoints (the
// check that passed before --fix proved they are out): proxies and load
// balancers may still send it new connections until then. The switch time
// is the Services' switched-at stamp, or, after a fast-path rollback, the
// time in its pending mark ("since <time>: ...").
func (s *Stage) drained(actives []kube.Active, color plan.Color) error {
	if s.Drain <= 0 {
		return nil
	}
	var out time.Time
	for _, a := range actives {
		t, ok := switchedAt(a)
		if !ok {
			return fmt.Errorf("the active Service %s records no switch time: not scaling %s down before it has drained", a.Name, color)
		}
		if t.After(out) {
			out = t
		}
	}
	if until := out.Add(s.Drain); s.Clock().Before(until) {
		return fmt.Errorf("%s's pods left the endpoints at %s and drain for %s, until %s: not scaling down yet", color, out.UTC().Format(time.RFC3339), s.Drain, until.UTC().Format(time.RFC3339))
	}
	return nil
}

func switchedAt(a kube.Active) (time.Time, bool) {
	if t, err := time.Parse(time.RFC3339, a.Annotations[kube.AnnoSwitchedAt]); err == nil {
		if p, ok := pendingSince(a); ok && p.After(t) {
			return p, true
		}
		return t, true
	}
	return pendingSince(a)
}

func pendingSince(a kube.Active) (time.Time, bool) {
	since, ok := strings.CutPrefix(a.Annotations[kube.AnnoPendingReconcile], "since ")
	if !ok {
		return time.Time{}, false
	}
	stamp, _, _ := strings.Cut(since, ": ")
	t, err := time.Parse(time.RFC3339, stamp)
	return t, err == nil
}
