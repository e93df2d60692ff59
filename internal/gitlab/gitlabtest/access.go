package gitlabtest

import (
	"net/http"
	"path"
)

// Token is a token as GET /personal_access_tokens/self describes it (the
// PersonalAccessTokenWithLastUsedIps entity). Project and group access
// tokens are personal access tokens of a bot user, and GitLab describes
// them here too. Zero fields get plausible values.
type Token struct {
	ID          int64    `json:"id"`
	Name        string   `json:"name"`
	Revoked     bool     `json:"revoked"`
	CreatedAt   string   `json:"created_at"`
	Description string   `json:"description"`
	Scopes      []string `json:"scopes"`
	UserID      int64    `json:"user_id"`
	LastUsedAt  *string  `json:"last_used_at"`
	Active      bool     `json:"active"`
	ExpiresAt   *string  `json:"expires_at"` // YYYY-MM-DD
	LastUsedIPs []string `json:"last_used_ips"`
}

// TokenSelf serves GET /personal_access_tokens/self for the server's token.
// GitLab answers it whatever the token's scopes; a revoked or expired
// token gets 401 before it (see Server.WithToken), so the answer is active.
func (s *Server) TokenSelf(t Token) *Route {
	if t.ID == 0 {
		t.ID = 1
	}
	if t.Name == "" {
		t.Name = "bluegreen"
	}
	if t.CreatedAt == "" {
		t.CreatedAt = Timestamp
	}
	if t.Scopes == nil {
		t.Scopes = []string{}
	}
	if t.LastUsedIPs == nil {
		t.LastUsedIPs = []string{}
	}
	t.Active = !t.Revoked
	return s.Handle("GET /personal_access_tokens/self", func(w http.ResponseWriter, _ *http.Request) {
		JSON(w, http.StatusOK, t)
	})
}

// NotAccessToken serves GitLab's answer to a token that is no personal,
// project or group access token (a CI job token, an OAuth token).
func (s *Server) NotAccessToken() *Route {
	return s.Handle("GET /personal_access_tokens/self", Error(http.StatusBadRequest, "400 Bad request - This endpoint requires token type to be a personal access token"))
}

// Project is a project as GET /projects/:id returns it, with the calling
// token's "permissions". Only the fields bluegreen reads, and the ones
// every answer has, are modelled.
type Project struct {
	ID                int64  `json:"id"`
	Name              string `json:"name"`
	Path              string `json:"path"`
	PathWithNamespace string `json:"path_with_namespace"`
	DefaultBranch     string `json:"default_branch"`
	Visibility        string `json:"visibility"`
	WebURL            string `json:"web_url"`
	Archived          bool   `json:"archived"`
	CreatedAt         string `json:"created_at"`
	// ProjectAccess and GroupAccess are the token's membership levels (0:
	// none, sent as null, as GitLab does).
	ProjectAccess int `json:"-"`
	GroupAccess   int `json:"-"`
}

// Project serves GET /projects/:id for p, addressed by its path.
func (s *Server) Project(p Project) *Route {
	if p.ID == 0 {
		p.ID = 1
	}
	if p.Path == "" {
		p.Path = path.Base(p.PathWithNamespace)
	}
	if p.Name == "" {
		p.Name = p.Path
	}
	if p.DefaultBranch == "" {
		p.DefaultBranch = "main"
	}
	if p.Visibility == "" {
		p.Visibility = "private"
	}
	if p.WebURL == "" {
		p.WebURL = s.URL() + "/" + p.PathWithNamespace
	}
	if p.CreatedAt == "" {
		p.CreatedAt = Timestamp
	}
	level := func(l int) any {
		if l == 0 {
			return nil
		}
		return map[string]int{"access_level": l, "notification_level": 3}
	}
	body := map[string]any{
		"id": p.ID, "name": p.Name, "path": p.Path, "path_with_namespace": p.PathWithNamespace,
		"default_branch": p.DefaultBranch, "visibility": p.Visibility, "web_url": p.WebURL,
		"archived": p.Archived, "created_at": p.CreatedAt,
		"permissions": map[string]any{"project_access": level(p.ProjectAccess), "group_access": level(p.GroupAccess)},
	}
	return s.Handle("GET /projects/{project}", func(w http.ResponseWriter, _ *http.Request) {
		JSON(w, http.StatusOK, body)
	}).Where("project", p.PathWithNamespace)
}

// ProtectedBranch is a protected-branch rule as GET
// /projects/:id/protected_branches lists it.
type ProtectedBranch struct {
	Name string
	// Push are the roles allowed to push (0 No one, 30 Developer, 40
	// Maintainer).
	Push []int
}

// ProtectedBranches serves GET /projects/:id/protected_branches for
// project: to a token below minRole, GitLab's 403 (Maintainer on older
// versions, Developer on newer ones); else the rules, paginated.
func (s *Server) ProtectedBranches(project string, tokenAt, minRole int, rules ...ProtectedBranch) *Route {
	items := make([]map[string]any, len(rules))
	id := int64(100)
	for i, r := range rules {
		var push []map[string]any
		for _, l := range r.Push {
			id++
			push = append(push, map[string]any{"id": id, "access_level": l, "access_level_description": roleDescription(l), "deploy_key_id": nil, "user_id": nil, "group_id": nil})
		}
		items[i] = map[string]any{
			"id": i + 1, "name": r.Name, "push_access_levels": push,
			"merge_access_levels":     []map[string]any{{"id": id + 1000, "access_level": 40, "access_level_description": "Maintainers"}},
			"unprotect_access_levels": []map[string]any{},
			"allow_force_push":        false, "code_owner_approval_required": false,
		}
	}
	return s.Handle("GET /projects/{project}/protected_branches", func(w http.ResponseWriter, r *http.Request) {
		if tokenAt < minRole {
			JSON(w, http.StatusForbidden, map[string]string{"message": "403 Forbidden"})
			return
		}
		Paginate(w, r, items)
	}).Where("project", project)
}

func roleDescription(level int) string {
	switch level {
	case 0:
		return "No one"
	case Developer:
		return "Developers + Maintainers"
	case Maintainer:
		return "Maintainers"
	}
	return "Admins"
}
