package drift

import (
	"context"
	"fmt"
	"strings"
)

// Announcement is what Slack is told when an environment's state changes.
type Announcement struct {
	Environment string
	Drift       bool     // drift now (else: it cleared)
	Title       string   // one line, plain text
	Lines       []string // the dangerous findings (at most maxAnnounced) and the repairs, plain text
	IssueURL    string
	JobURL      string
}

// Announcer tells a channel. A failure is logged, never the run's.
type Announcer interface {
	Announce(ctx context.Context, a Announcement) error
}

// maxAnnounced caps the findings a Slack message lists.
const maxAnnounced = 10

// announce tells Slack when the state changed since the last run: drift
// appeared, cleared, or its findings changed (another fingerprint). The
// last state comes from the issue; without an issue tracker every run with
// drift is told. A run that is incomplete and clean tells nothing: its
// state is unknown.
func (s *Stage) announce(ctx context.Context, r *Report, prev lastState) {
	if s.Announcer == nil {
		return
	}
	changed := r.Drift
	if prev.known {
		changed = prev.drift != r.Drift || (r.Drift && prev.fingerprint != r.Fingerprint)
	}
	if !r.Complete && !r.Drift {
		changed = false
	}
	if !changed {
		fmt.Fprintf(s.Out, "slack: the state of %s did not change; nothing sent\n", s.Environment)
		return
	}
	a := Announcement{Environment: s.Environment, Drift: r.Drift, JobURL: s.JobURL}
	if r.Issue != nil {
		a.IssueURL = r.Issue.URL
	}
	switch {
	case !r.Drift:
		a.Title = fmt.Sprintf("Drift in %s cleared: %s.", s.Environment, verdictLine(r))
	case prev.drift:
		a.Title = fmt.Sprintf("Drift in %s changed: %s.", s.Environment, verdictLine(r))
	default:
		a.Title = fmt.Sprintf("Drift in %s: %s.", s.Environment, verdictLine(r))
	}
	lines := r.failing()
	if len(lines) > maxAnnounced {
		lines = append(lines[:maxAnnounced], fmt.Sprintf("… and %d more", len(lines)-maxAnnounced))
	}
	for _, f := range r.Fixes {
		lines = append(lines, fmt.Sprintf("--fix %s %s for %s: %s", f.Action, f.Status, f.App, f.Message))
	}
	a.Lines = lines
	if err := s.Announcer.Announce(ctx, a); err != nil {
		s.Log.Warn("slack not told of the drift state", "err", err.Error())
		fmt.Fprintf(s.Out, "slack: not sent: %v\n", err)
		return
	}
	r.Announced = true
	fmt.Fprintf(s.Out, "slack: told the channel (%s)\n", strings.TrimSuffix(a.Title, "."))
}
