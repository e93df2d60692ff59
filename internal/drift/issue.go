package drift

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"gitlab.com/platform/bluegreen/internal/gitlab"
)

// Issues is the GitLab project that holds the drift issues.
type Issues interface {
	Issues(ctx context.Context, project string, q gitlab.IssueQuery) ([]gitlab.Issue, error)
	CreateIssue(ctx context.Context, project string, n gitlab.NewIssue) (gitlab.Issue, error)
	EditIssue(ctx context.Context, project string, iid int64, e gitlab.IssueEdit) (gitlab.Issue, error)
	AddNote(ctx context.Context, project string, iid int64, body string) error
}

// lastState is the environment's state at the previous run, as its issue
// records it: open means drift, and the marker holds the fingerprint.
type lastState struct {
	known       bool // an issue tracker answered
	drift       bool
	fingerprint string
}

// marker is the first line of an issue's description: it names the
// environment and the fingerprint of the drift it describes.
var marker = regexp.MustCompile(`<!-- bluegreen-drift environment="([^"]*)" fingerprint="([^"]*)" -->`)

// IssueTitle is the title of an environment's drift issue.
func IssueTitle(environment string) string { return "bluegreen drift: " + environment }

// keepIssue makes the environment's one issue say what the report says:
// created (or reopened) when drift appears, updated while its findings
// change, closed when it clears. An incomplete run never closes it. It
// returns the state the issue recorded before.
func (s *Stage) keepIssue(ctx context.Context, r *Report) (lastState, error) {
	if s.Issues == nil || s.IssuesProject == "" {
		return lastState{}, nil
	}
	issue, err := s.findIssue(ctx)
	if err != nil {
		return lastState{}, err
	}
	prev := lastState{known: true}
	if issue != nil && issue.Open() {
		prev.drift = true
		if m := marker.FindStringSubmatch(issue.Description); m != nil {
			prev.fingerprint = m[2]
		}
	}
	desc := s.describe(r)
	err = s.writeIssue(ctx, r, issue, desc)
	if r.Issue != nil {
		fmt.Fprintf(s.Out, "issue #%d %s: %s\n", r.Issue.IID, r.Issue.Action, r.Issue.URL)
	}
	if issue != nil && r.Drift {
		// Found by its title alone: the token may not set labels. Said on
		// every run with drift, whose exit code (1) it leaves alone.
		if lerr := gitlab.CheckLabels(s.IssuesProject, *issue, []string{s.IssueLabel}); lerr != nil {
			fmt.Fprintf(s.Out, "issue: %v\n", lerr)
			s.Log.Warn("drift issue without its label", "issue", issue.IID, "label", s.IssueLabel)
		}
	}
	return prev, err
}

// writeIssue creates, reopens, updates or closes the issue as r says.
func (s *Stage) writeIssue(ctx context.Context, r *Report, issue *gitlab.Issue, desc string) error {
	p := s.IssuesProject
	switch {
	case r.Drift && issue == nil:
		created, err := s.Issues.CreateIssue(ctx, p, gitlab.NewIssue{Title: IssueTitle(s.Environment), Description: desc, Labels: []string{s.IssueLabel}})
		if err != nil {
			return err
		}
		r.Issue = &IssueRef{IID: created.IID, URL: created.WebURL, Action: "created"}
	case r.Drift && !issue.Open():
		if _, err := s.Issues.EditIssue(ctx, p, issue.IID, gitlab.IssueEdit{Description: &desc, StateEvent: "reopen"}); err != nil {
			return err
		}
		r.Issue = &IssueRef{IID: issue.IID, URL: issue.WebURL, Action: "reopened"}
		return s.Issues.AddNote(ctx, p, issue.IID, s.note("Drift is back.", "", desc, r.Fixes))
	case r.Drift && issue.Description == desc:
		r.Issue = &IssueRef{IID: issue.IID, URL: issue.WebURL, Action: "unchanged"}
	case r.Drift:
		if _, err := s.Issues.EditIssue(ctx, p, issue.IID, gitlab.IssueEdit{Description: &desc}); err != nil {
			return err
		}
		r.Issue = &IssueRef{IID: issue.IID, URL: issue.WebURL, Action: "updated"}
		return s.Issues.AddNote(ctx, p, issue.IID, s.note("The drift changed.", issue.Description, desc, r.Fixes))
	case issue != nil && issue.Open() && r.Complete:
		if err := s.Issues.AddNote(ctx, p, issue.IID, s.note("The drift cleared: every check passes.", "", "", r.Fixes)); err != nil {
			return err
		}
		if _, err := s.Issues.EditIssue(ctx, p, issue.IID, gitlab.IssueEdit{StateEvent: "close"}); err != nil {
			return err
		}
		r.Issue = &IssueRef{IID: issue.IID, URL: issue.WebURL, Action: "closed"}
	case issue != nil:
		r.Issue = &IssueRef{IID: issue.IID, URL: issue.WebURL, Action: "unchanged"}
	}
	return nil
}

// findIssue returns the environment's issue: the oldest open one, else
// the most recently updated closed one (to reopen: never a duplicate).
func (s *Stage) findIssue(ctx context.Context) (*gitlab.Issue, error) {
	// By label, and by the exact title: GitLab drops the labels of an issue
	// that a role below Reporter created, and answers 201 all the same.
	found, err := s.Issues.Issues(ctx, s.IssuesProject, gitlab.IssueQuery{Labels: []string{s.IssueLabel}, State: "all", OrTitle: IssueTitle(s.Environment)})
	if err != nil {
		return nil, fmt.Errorf("find the drift issue of %s in %s: %w", s.Environment, s.IssuesProject, err)
	}
	var open, closed []gitlab.Issue
	for _, i := range found {
		// The exact title identifies the environment's issue; a marker,
		// when present, must agree. An issue whose marker was edited away
		// is still adopted: never a duplicate.
		m := marker.FindStringSubmatch(i.Description)
		if i.Title != IssueTitle(s.Environment) || (m != nil && m[1] != s.Environment) {
			continue
		}
		if i.Open() {
			open = append(open, i)
		} else {
			closed = append(closed, i)
		}
	}
	sort.Slice(open, func(a, b int) bool { return open[a].IID < open[b].IID })
	sort.Slice(closed, func(a, b int) bool { return closed[a].UpdatedAt.After(closed[b].UpdatedAt) })
	switch {
	case len(open) > 1:
		s.Log.Warn("several open drift issues for one environment; using the oldest", "environment", s.Environment, "issue", open[0].IID, "others", len(open)-1)
		fallthrough
	case len(open) == 1:
		return &open[0], nil
	case len(closed) > 0:
		return &closed[0], nil
	}
	return nil, nil
}

// maxIssueFindings caps the findings listed per app in the issue.
const maxIssueFindings = 40

// describe is the issue's description: deterministic (no times, no job
// links), so that an unchanged drift leaves the issue untouched.
func (s *Stage) describe(r *Report) string {
	var b strings.Builder
	fmt.Fprintf(&b, "<!-- bluegreen-drift environment=%q fingerprint=%q -->\n", s.Environment, r.Fingerprint)
	if !r.Drift {
		fmt.Fprintf(&b, "No drift in **%s** (namespace `%s`).\n", s.Environment, s.Namespace)
		return b.String()
	}
	fmt.Fprintf(&b, "`bluegreen drift` finds drift in **%s** (namespace `%s`): %s.\n", s.Environment, s.Namespace, verdictLine(r))
	fixable := map[string]bool{}
	for _, a := range r.Apps {
		var lines []string
		for _, c := range a.Checks {
			for _, f := range c.Dangerous() {
				lines = append(lines, fmt.Sprintf("- **%s**: %s", c.Name, mdEscape(f.line())))
				if f.Fix != "" {
					fixable[f.Fix] = true
				}
			}
		}
		if len(lines) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n### %s (live: %s)\n\n", a.App, orNone(string(a.Live)))
		if len(lines) > maxIssueFindings {
			lines = append(lines[:maxIssueFindings], fmt.Sprintf("- … and %d more in the job's drift.json", len(lines)-maxIssueFindings))
		}
		b.WriteString(strings.Join(lines, "\n") + "\n")
	}
	if len(fixable) > 0 {
		var what []string
		for k := range fixable {
			what = append(what, k)
		}
		sort.Strings(what)
		fmt.Fprintf(&b, "\n`bluegreen drift --fix` can repair: %s.\n", strings.Join(what, ", "))
	}
	b.WriteString("\n---\nKept by the scheduled `bluegreen drift` job: updated while the drift lasts, closed when it clears. " +
		"Its `drift.json` and `drift.junit.xml` list every finding, the expected and benign ones too.\n")
	return b.String()
}

// note is a comment on the issue: what happened, what --fix did, what
// changed, the job.
func (s *Stage) note(what, before, after string, fixes []Fix) string {
	var b strings.Builder
	b.WriteString(what)
	if s.JobURL != "" {
		fmt.Fprintf(&b, " ([drift job](%s))", s.JobURL)
	}
	b.WriteString("\n")
	for _, f := range fixes {
		fmt.Fprintf(&b, "\n`--fix` %s %s: %s", f.Action, f.Status, mdEscape(f.Message))
	}
	gone, added := bulletDiff(before, after)
	n := 0
	for _, l := range append(prefixed("New: ", added), prefixed("Resolved: ", gone)...) {
		if n++; n > maxNoteLines {
			fmt.Fprintf(&b, "\n… and %d more (see the description)", len(added)+len(gone)-maxNoteLines)
			break
		}
		b.WriteString("\n" + l)
	}
	return b.String()
}

// maxNoteLines caps the changes a note lists.
const maxNoteLines = 20

func prefixed(p string, lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = p + strings.TrimPrefix(l, "- ")
	}
	return out
}

// bulletDiff lists the finding lines only in before, and only in after.
func bulletDiff(before, after string) (gone, added []string) {
	lines := func(s string) map[string]bool {
		m := map[string]bool{}
		for _, l := range strings.Split(s, "\n") {
			if strings.HasPrefix(l, "- **") {
				m[l] = true
			}
		}
		return m
	}
	b, a := lines(before), lines(after)
	for l := range b {
		if !a[l] {
			gone = append(gone, l)
		}
	}
	for l := range a {
		if !b[l] {
			added = append(added, l)
		}
	}
	sort.Strings(gone)
	sort.Strings(added)
	return gone, added
}

// mdEscape keeps a finding from turning into markdown or HTML.
func mdEscape(s string) string {
	return strings.NewReplacer("<", "&lt;", ">", "&gt;", "`", "'", "*", "\\*", "_", "\\_").Replace(s)
}
