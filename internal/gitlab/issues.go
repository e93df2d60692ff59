package gitlab

import (
	"context"
	"fmt"
	"slices"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go"

	"gitlab.com/platform/bluegreen/internal/outcome"
)

// Issue is a project issue.
type Issue struct {
	ID          int64
	IID         int64 // the number shown in the project, #IID
	Title       string
	Description string
	State       string // opened or closed
	Labels      []string
	WebURL      string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Open reports whether the issue is open.
func (i Issue) Open() bool { return i.State == "opened" }

// IssueQuery filters a project's issues. Zero fields do not filter.
type IssueQuery struct {
	Labels []string // issues carrying every one of these
	Search string   // in the title or the description
	State  string   // opened, closed or all (the default)
	// OrTitle adds the issues (in State) whose title is exactly this,
	// whatever their labels: GitLab silently drops the labels of an issue
	// created by a role below Reporter, and such an issue is never found by
	// its label.
	OrTitle string
}

// Issues lists project's issues that match q, every page of them, newest
// first; those only OrTitle matched come after.
// GET /projects/:id/issues, and with OrTitle again with ?search=&in=title
func (c *Client) Issues(ctx context.Context, project string, q IssueQuery) ([]Issue, error) {
	opt := &gl.ListProjectIssuesOptions{}
	if len(q.Labels) > 0 {
		l := gl.LabelOptions(q.Labels)
		opt.Labels = &l
	}
	if q.Search != "" {
		opt.Search = gl.Ptr(q.Search)
	}
	if q.State != "" {
		opt.State = gl.Ptr(q.State)
	}
	out, err := c.listIssues(ctx, project, opt)
	if err != nil || q.OrTitle == "" {
		return out, err
	}
	// GitLab's search matches words, so it finds more than the exact title.
	titled, err := c.listIssues(ctx, project, &gl.ListProjectIssuesOptions{Search: gl.Ptr(q.OrTitle), In: gl.Ptr("title"), State: opt.State})
	if err != nil {
		return nil, err
	}
	for _, i := range titled {
		if i.Title == q.OrTitle && !slices.ContainsFunc(out, func(o Issue) bool { return o.IID == i.IID }) {
			out = append(out, i)
		}
	}
	return out, nil
}

func (c *Client) listIssues(ctx context.Context, project string, opt *gl.ListProjectIssuesOptions) ([]Issue, error) {
	what := fmt.Sprintf("issues of project %s", project)
	opt.ListOptions = gl.ListOptions{PerPage: 100, Page: 1}
	var out []Issue
	for {
		var resp *gl.Response
		issues, err := call(ctx, c, what, true, func(opts ...gl.RequestOptionFunc) ([]*gl.Issue, *gl.Response, error) {
			is, r, err := c.api.Issues.ListProjectIssues(project, opt, opts...)
			resp = r
			return is, r, err
		})
		if err != nil {
			return nil, err
		}
		for _, i := range issues {
			out = append(out, issueOf(i))
		}
		if resp == nil || resp.NextPage == 0 {
			return out, nil
		}
		opt.Page = resp.NextPage
	}
}

// NewIssue is an issue to create.
type NewIssue struct {
	Title       string
	Description string
	Labels      []string
}

// CreateIssue opens an issue in project. It is not retried after a server
// error, which may have created it: the caller finds it on its next run.
// POST /projects/:id/issues
func (c *Client) CreateIssue(ctx context.Context, project string, n NewIssue) (Issue, error) {
	what := fmt.Sprintf("new issue %q in project %s", n.Title, project)
	opt := &gl.CreateIssueOptions{Title: gl.Ptr(n.Title), Description: gl.Ptr(n.Description)}
	if len(n.Labels) > 0 {
		l := gl.LabelOptions(n.Labels)
		opt.Labels = &l
	}
	i, err := call(ctx, c, what, false, func(opts ...gl.RequestOptionFunc) (*gl.Issue, *gl.Response, error) {
		return c.api.Issues.CreateIssue(project, opt, opts...)
	})
	if err != nil {
		return Issue{}, err
	}
	got := issueOf(i)
	if err := CheckLabels(project, got, n.Labels); err != nil {
		// GitLab drops the labels a low role may not set, and answers 201.
		return got, fmt.Errorf("gitlab %s: created, but %w", what, err)
	}
	return got, nil
}

// CheckLabels is a usage error naming the role needed when issue i lacks
// one of labels, nil when it has them all. GitLab silently drops the labels
// that a role below Reporter sets, on create and on edit.
func CheckLabels(project string, i Issue, labels []string) error {
	for _, l := range labels {
		if !slices.Contains(i.Labels, l) {
			return outcome.Usagef("issue #%d has no label %q: BG_GITLAB_TOKEN needs at least the Reporter role (Planner on GitLab 17.7+) in project %s to set labels (or add the label by hand)",
				i.IID, l, project)
		}
	}
	return nil
}

// IssueEdit changes an issue. Nil and empty fields are left alone.
type IssueEdit struct {
	Description *string
	StateEvent  string // close or reopen
}

// EditIssue changes issue iid of project. An edit sets values, so it is
// retried like a read. PUT /projects/:id/issues/:iid
func (c *Client) EditIssue(ctx context.Context, project string, iid int64, e IssueEdit) (Issue, error) {
	what := fmt.Sprintf("issue #%d of project %s", iid, project)
	opt := &gl.UpdateIssueOptions{Description: e.Description}
	if e.StateEvent != "" {
		opt.StateEvent = gl.Ptr(e.StateEvent)
	}
	i, err := call(ctx, c, what, true, func(opts ...gl.RequestOptionFunc) (*gl.Issue, *gl.Response, error) {
		return c.api.Issues.UpdateIssue(project, iid, opt, opts...)
	})
	if err != nil {
		return Issue{}, err
	}
	return issueOf(i), nil
}

// AddNote comments on issue iid of project. Not retried after a server
// error, which may have posted it. POST /projects/:id/issues/:iid/notes
func (c *Client) AddNote(ctx context.Context, project string, iid int64, body string) error {
	what := fmt.Sprintf("note on issue #%d of project %s", iid, project)
	_, err := call(ctx, c, what, false, func(opts ...gl.RequestOptionFunc) (*gl.Note, *gl.Response, error) {
		return c.api.Notes.CreateIssueNote(project, iid, &gl.CreateIssueNoteOptions{Body: gl.Ptr(body)}, opts...)
	})
	return err
}

func issueOf(i *gl.Issue) Issue {
	out := Issue{
		ID: i.ID, IID: i.IID, Title: i.Title, Description: i.Description, State: i.State,
		Labels: append([]string(nil), i.Labels...), WebURL: i.WebURL,
	}
	if i.CreatedAt != nil {
		out.CreatedAt = *i.CreatedAt
	}
	if i.UpdatedAt != nil {
		out.UpdatedAt = *i.UpdatedAt
	}
	return out
}
