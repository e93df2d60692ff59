package gitlabtest

import (
	"net/http"
	"path"
)

// Group is a group as GET /groups/:id returns it (without projects).
// Zero fields get plausible values.
type Group struct {
	ID                   int64   `json:"id"`
	Name                 string  `json:"name"`
	Path                 string  `json:"path"`
	FullName             string  `json:"full_name"`
	FullPath             string  `json:"full_path"`
	Description          string  `json:"description"`
	Visibility           string  `json:"visibility"`
	WebURL               string  `json:"web_url"`
	AvatarURL            *string `json:"avatar_url"`
	ParentID             *int64  `json:"parent_id"`
	CreatedAt            string  `json:"created_at"`
	RequestAccessEnabled bool    `json:"request_access_enabled"`
	Projects             []any   `json:"projects"`
	SharedProjects       []any   `json:"shared_projects"`
}

func (g Group) filled(s *Server) Group {
	if g.Path == "" {
		g.Path = path.Base(g.FullPath)
	}
	if g.Name == "" {
		g.Name = g.Path
	}
	if g.FullName == "" {
		g.FullName = g.FullPath
	}
	if g.Visibility == "" {
		g.Visibility = "private"
	}
	if g.WebURL == "" {
		g.WebURL = s.URL() + "/groups/" + g.FullPath
	}
	if g.CreatedAt == "" {
		g.CreatedAt = Timestamp
	}
	if g.Projects == nil {
		g.Projects = []any{}
	}
	if g.SharedProjects == nil {
		g.SharedProjects = []any{}
	}
	return g
}

// Group serves GET /groups/:id for g, addressed by its full path.
func (s *Server) Group(g Group) *Route {
	g = g.filled(s)
	return s.Handle("GET /groups/{group}", func(w http.ResponseWriter, _ *http.Request) {
		JSON(w, http.StatusOK, g)
	}).Where("group", g.FullPath)
}

// NoGroup serves GitLab's 404 for a group that does not exist, or that the
// token cannot see.
func (s *Server) NoGroup(fullPath string) *Route {
	return s.Handle("GET /groups/{group}", Error(http.StatusNotFound, "404 Group Not Found")).Where("group", fullPath)
}
