package verify

import (
	"fmt"
	"strings"

	"gitlab.com/platform/bluegreen/internal/names"
	"gitlab.com/platform/bluegreen/internal/outcome"
	"gitlab.com/platform/bluegreen/internal/plan"
)

// Target is what is verified: the app, and which colour is judged against
// which.
type Target struct {
	App       string
	Namespace string
	Color     plan.Color // the colour under test (the release)
	Live      plan.Color // the live colour it is compared with; plan.None on a first release
	// Hash and LiveHash are a Rollout app's sides instead of colours: the
	// rollouts-pod-template-hash of the new ReplicaSet (the release) and of
	// the stable one it is compared with (plan.Workload.Rollout). Both are
	// "" for a Deployment app; LiveHash is "" or Hash on a first release.
	Hash, LiveHash string
}

// Rollout says whether the target is a Rollout app's, told apart from the
// live side by ReplicaSet hash ({{.Hash}}) rather than by colour.
func (t Target) Rollout() bool { return t.Hash != "" }

// HasLive says whether there is a live side to compare the release with.
func (t Target) HasLive() bool {
	if t.Rollout() {
		return t.LiveHash != "" && t.LiveHash != t.Hash
	}
	return t.Live != plan.None && t.Live != ""
}

// Name labels the release in logs and reports: its colour, or "new" and
// its ReplicaSet hash.
func (t Target) Name() string {
	if t.Rollout() {
		return "new " + t.Hash
	}
	return string(t.Color)
}

// LiveName labels the live side: its colour, "stable" and its ReplicaSet
// hash, or none.
func (t Target) LiveName() string {
	switch {
	case !t.HasLive():
		return string(plan.None)
	case t.Rollout():
		return "stable " + t.LiveHash
	}
	return string(t.Live)
}

// side is what a query is rendered for: the release, or the live side.
func (t Target) side(live bool) Side {
	s := Side{App: t.App, Namespace: t.Namespace, Color: t.Color, Hash: t.Hash}
	switch {
	case live && t.Rollout():
		s.Hash = t.LiveHash
	case live:
		s.Color = t.Live
	}
	return s
}

// TargetOf is what plan p verifies: its target colour against its live
// colour or, for a Rollout app, the new ReplicaSet's hash against the
// stable one's, as sync recorded them (plan.Workload.Rollout). After
// promote (monitor) the new ReplicaSet is live and the stable one the
// baseline: the same two hashes. A Rollout plan without them is a usage
// error: its checks would have nothing to tell the sides apart by.
func TargetOf(p *plan.Plan) (Target, error) {
	t := Target{App: p.App, Namespace: p.Namespace, Color: p.TargetColor, Live: p.LiveColor}
	if p.Workload.Kind != "Rollout" {
		return t, nil
	}
	r := p.Workload.Rollout
	if r == nil {
		return t, outcome.Usagef("plan.json: workload.rollout is missing: a Rollout app's release is told from its stable side by ReplicaSet hash, which sync records once the Rollout is paused; run %s after sync", "verify and monitor")
	}
	t.Hash, t.LiveHash = r.Preview, r.Stable
	return t, nil
}

// Validate checks the target's identities with package names before any
// of them reaches a query: the app, the namespace, the colour under test
// (blue or green), a different live colour (blue, green, or none or empty
// on a first release), and a Rollout app's ReplicaSet hashes.
func (t Target) Validate() error {
	live := t.Live
	if live == "" {
		live = plan.None
	}
	var msgs []string
	for _, err := range []error{names.App(t.App), names.Namespace(t.Namespace), names.Color(string(t.Color), false), names.Color(string(live), true)} {
		if err != nil {
			msgs = append(msgs, err.Error())
		}
	}
	if t.Color == t.Live {
		msgs = append(msgs, fmt.Sprintf("the colour under test %q is the live colour too", t.Color))
	}
	for _, h := range []struct{ what, hash string }{{"the new ReplicaSet", t.Hash}, {"the stable ReplicaSet", t.LiveHash}} {
		if h.hash == "" {
			continue
		}
		if err := names.PodTemplateHash(h.hash); err != nil {
			msgs = append(msgs, h.what+": "+err.Error())
		}
	}
	if t.Hash == "" && t.LiveHash != "" {
		msgs = append(msgs, "a stable ReplicaSet hash without the new one's")
	}
	if len(msgs) > 0 {
		return fmt.Errorf("verify target: %s", strings.Join(msgs, "; "))
	}
	return nil
}
