package gitlabtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// IssueWrite names a write route of the issues fake. Issues registers only
// the list route by itself; a test names the writes it expects, so that an
// unexpected write fails it (no route) and an expected one that never
// happens fails it too (a route never requested).
type IssueWrite string

// The issue writes.
const (
	IssueCreate IssueWrite = "create" // POST /projects/:id/issues
	IssueEdit   IssueWrite = "edit"   // PUT /projects/:id/issues/:iid
	IssueNote   IssueWrite = "note"   // POST /projects/:id/issues/:iid/notes
)

// Issues fakes one project's issue tracker in memory: listing (with the
// labels, search (and its in: title, description) and state filters, newest
// first, paginated), creating,
// editing (description, state_event close/reopen) and commenting, with
// GitLab's JSON.
type Issues struct {
	srv     *Server
	project string

	mu     sync.Mutex
	issues []*issueRecord
	clock  int // fake seconds since Timestamp, for ordering

	// The routes, for hit counts; nil when not registered.
	List, Create, Edit, Notes *Route

	// TokenRole is the token's role in the project (0: Owner). Below
	// Reporter, GitLab creates the issue but silently drops its labels,
	// and still answers 201.
	TokenRole int
}

// TrackedIssue is an issue as the fake holds it.
type TrackedIssue struct {
	IID         int64
	Title       string
	Description string
	State       string // opened or closed
	Labels      []string
	Notes       []string // bodies, oldest first
	Edits       int      // PUT requests that changed it
}

type issueRecord struct {
	TrackedIssue
	created, updated, closed time.Time
}

// Issues serves project's issues: the list route always, and the writes
// named.
func (s *Server) Issues(project string, writes ...IssueWrite) *Issues {
	i := &Issues{srv: s, project: project}
	i.List = s.Handle("GET /projects/{project}/issues", i.list).Where("project", project)
	for _, w := range writes {
		switch w {
		case IssueCreate:
			i.Create = s.Handle("POST /projects/{project}/issues", i.create).Where("project", project)
		case IssueEdit:
			i.Edit = s.Handle("PUT /projects/{project}/issues/{iid}", i.edit).Where("project", project)
		case IssueNote:
			i.Notes = s.Handle("POST /projects/{project}/issues/{iid}/notes", i.note).Where("project", project)
		default:
			s.t.Fatalf("gitlabtest: unknown issue write %q", w)
		}
	}
	return i
}

// Seed adds an issue, as if someone had created it earlier, and returns it.
func (i *Issues) Seed(t TrackedIssue) TrackedIssue {
	i.mu.Lock()
	defer i.mu.Unlock()
	now := i.tick()
	t.IID = int64(len(i.issues) + 1)
	if t.State == "" {
		t.State = "opened"
	}
	r := &issueRecord{TrackedIssue: t, created: now, updated: now}
	if t.State == "closed" {
		r.closed = now
	}
	i.issues = append(i.issues, r)
	return r.copy()
}

// All returns every issue, by IID.
func (i *Issues) All() []TrackedIssue {
	i.mu.Lock()
	defer i.mu.Unlock()
	var out []TrackedIssue
	for _, r := range i.issues {
		out = append(out, r.copy())
	}
	return out
}

func (r *issueRecord) copy() TrackedIssue {
	t := r.TrackedIssue
	t.Labels = slices.Clone(t.Labels)
	t.Notes = slices.Clone(t.Notes)
	return t
}

// tick advances the fake clock by a second. Call with mu held.
func (i *Issues) tick() time.Time {
	base, _ := time.Parse(time.RFC3339, Timestamp)
	i.clock++
	return base.Add(time.Duration(i.clock) * time.Second)
}

func (i *Issues) list(w http.ResponseWriter, req *http.Request) {
	q := req.URL.Query()
	state := q.Get("state")
	if state != "" && state != "opened" && state != "closed" && state != "all" {
		JSON(w, http.StatusBadRequest, map[string]string{"error": "state does not have a valid value"})
		return
	}
	var labels []string
	if l := q.Get("labels"); l != "" && l != "None" && l != "Any" {
		labels = strings.Split(l, ",")
	}
	search := strings.ToLower(q.Get("search"))
	in := q.Get("in") // title, description, or both comma-joined (the default)
	if in == "" {
		in = "title,description"
	}
	searched := func(r *issueRecord) string {
		var s []string
		for _, f := range strings.Split(in, ",") {
			switch strings.TrimSpace(f) {
			case "title":
				s = append(s, r.Title)
			case "description":
				s = append(s, r.Description)
			}
		}
		return strings.ToLower(strings.Join(s, "\n"))
	}
	i.mu.Lock()
	var out []map[string]any
	for k := len(i.issues) - 1; k >= 0; k-- { // newest first, GitLab's default order
		r := i.issues[k]
		switch {
		case state != "" && state != "all" && r.State != state:
		case !containsAll(r.Labels, labels):
		case search != "" && !strings.Contains(searched(r), search):
		default:
			out = append(out, i.wire(r))
		}
	}
	i.mu.Unlock()
	if out == nil {
		out = []map[string]any{}
	}
	Paginate(w, req, out)
}

func containsAll(have, want []string) bool {
	for _, l := range want {
		if !slices.Contains(have, strings.TrimSpace(l)) {
			return false
		}
	}
	return true
}

func (i *Issues) create(w http.ResponseWriter, req *http.Request) {
	var body struct {
		Title       string `json:"title"`
		Description string `json:"description"`
		Labels      string `json:"labels"` // the client sends them comma-joined
	}
	if err := json.NewDecoder(req.Body).Decode(&body); err != nil {
		JSON(w, http.StatusBadRequest, map[string]string{"error": "invalid JSON"})
		return
	}
	if strings.TrimSpace(body.Title) == "" {
		JSON(w, http.StatusBadRequest, map[string]any{"message": map[string][]string{"title": {"can't be blank"}}})
		return
	}
	var labels []string
	for _, l := range strings.Split(body.Labels, ",") {
		if l = strings.TrimSpace(l); l != "" {
			labels = append(labels, l)
		}
	}
	i.mu.Lock()
	if i.TokenRole != 0 && i.TokenRole < Reporter {
		labels = nil
	}
	now := i.tick()
	r := &issueRecord{TrackedIssue: TrackedIssue{
		IID: int64(len(i.issues) + 1), Title: body.Title, Description: body.Description, State: "opened", Labels: labels,
	}, created: now, updated: now}
	i.issues = append(i.issues, r)
	out := i.wire(r)
	i.mu.Unlock()
	JSON(w, http.StatusCreated, out)
}

func (i *Issues) edit(w http.ResponseWriter, req *http.Request) {
	var body struct {
		Description *string `json:"description"`
		StateEvent  string  `json:"state_event"`
	}
	if err := json.NewDecoder(req.Body).Decode(&body); err != nil {
		JSON(w, http.StatusBadRequest, map[string]string{"error": "invalid JSON"})
		return
	}
	if body.StateEvent != "" && body.StateEvent != "close" && body.StateEvent != "reopen" {
		JSON(w, http.StatusBadRequest, map[string]string{"error": "state_event does not have a valid value"})
		return
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	r := i.find(req.PathValue("iid"))
	if r == nil {
		JSON(w, http.StatusNotFound, map[string]string{"message": "404 Issue Not Found"})
		return
	}
	changed := false
	if body.Description != nil && *body.Description != r.Description {
		r.Description, changed = *body.Description, true
	}
	switch {
	case body.StateEvent == "close" && r.State == "opened":
		r.State, changed = "closed", true
		r.closed = i.tick()
	case body.StateEvent == "reopen" && r.State == "closed":
		r.State, changed = "opened", true
		r.closed = time.Time{}
	}
	if changed {
		r.Edits++
		r.updated = i.tick()
	}
	JSON(w, http.StatusOK, i.wire(r))
}

func (i *Issues) note(w http.ResponseWriter, req *http.Request) {
	var body struct {
		Body string `json:"body"`
	}
	if err := json.NewDecoder(req.Body).Decode(&body); err != nil || strings.TrimSpace(body.Body) == "" {
		JSON(w, http.StatusBadRequest, map[string]any{"message": map[string][]string{"note": {"can't be blank"}}})
		return
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	r := i.find(req.PathValue("iid"))
	if r == nil {
		JSON(w, http.StatusNotFound, map[string]string{"message": "404 Issue Not Found"})
		return
	}
	r.Notes = append(r.Notes, body.Body)
	now := i.tick()
	r.updated = now
	JSON(w, http.StatusCreated, map[string]any{
		"id": 1000*r.IID + int64(len(r.Notes)), "type": nil, "body": body.Body, "attachment": nil,
		"author": botAuthor(i.srv), "created_at": now.Format(time.RFC3339Nano), "updated_at": now.Format(time.RFC3339Nano),
		"system": false, "noteable_id": 5000 + r.IID, "noteable_type": "Issue", "project_id": 42, "noteable_iid": r.IID,
		"resolvable": false, "confidential": false, "internal": false,
	})
}

// find returns the issue with the IID in the path. Call with mu held.
func (i *Issues) find(iid string) *issueRecord {
	n, err := strconv.ParseInt(iid, 10, 64)
	if err != nil || n < 1 || n > int64(len(i.issues)) {
		return nil
	}
	return i.issues[n-1]
}

func botAuthor(s *Server) map[string]any {
	return map[string]any{
		"id": 900, "username": "project_42_bot", "name": "bluegreen", "state": "active", "locked": false,
		"avatar_url": "https://secure.gravatar.com/avatar/0?s=80&d=identicon", "web_url": s.URL() + "/project_42_bot",
	}
}

// wire is the issue as the Issues API returns it. Call with mu held.
func (i *Issues) wire(r *issueRecord) map[string]any {
	url := fmt.Sprintf("%s/%s/-/issues/%d", i.srv.URL(), i.project, r.IID)
	var closedAt, closedBy any
	if r.State == "closed" {
		closedAt, closedBy = r.closed.Format(time.RFC3339Nano), botAuthor(i.srv)
	}
	labels := r.Labels
	if labels == nil {
		labels = []string{}
	}
	return map[string]any{
		"id": 5000 + r.IID, "iid": r.IID, "project_id": 42, "title": r.Title, "description": r.Description,
		"state": r.State, "created_at": r.created.Format(time.RFC3339Nano), "updated_at": r.updated.Format(time.RFC3339Nano),
		"closed_at": closedAt, "closed_by": closedBy, "labels": labels, "milestone": nil, "assignees": []any{},
		"author": botAuthor(i.srv), "type": "ISSUE", "issue_type": "issue", "assignee": nil, "user_notes_count": len(r.Notes),
		"merge_requests_count": 0, "upvotes": 0, "downvotes": 0, "due_date": nil, "confidential": false,
		"discussion_locked": nil, "web_url": url,
		"references": map[string]string{"short": fmt.Sprintf("#%d", r.IID), "relative": fmt.Sprintf("#%d", r.IID), "full": fmt.Sprintf("%s#%d", i.project, r.IID)},
		"time_stats": map[string]any{"time_estimate": 0, "total_time_spent": 0, "human_time_estimate": nil, "human_total_time_spent": nil},
		"_links": map[string]string{
			"self":        fmt.Sprintf("%s/api/v4/projects/42/issues/%d", i.srv.URL(), r.IID),
			"notes":       fmt.Sprintf("%s/api/v4/projects/42/issues/%d/notes", i.srv.URL(), r.IID),
			"award_emoji": fmt.Sprintf("%s/api/v4/projects/42/issues/%d/award_emoji", i.srv.URL(), r.IID),
			"project":     fmt.Sprintf("%s/api/v4/projects/42", i.srv.URL()),
		},
		"task_completion_status": map[string]int{"count": 0, "completed_count": 0},
	}
}
