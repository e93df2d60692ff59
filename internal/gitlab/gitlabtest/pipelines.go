package gitlabtest

import (
	"fmt"
	"net/http"
)

// UserRef is a user as GitLab embeds it in other objects (a pipeline's or a
// job's "user").
type UserRef struct {
	ID        int64  `json:"id"`
	Username  string `json:"username"`
	Name      string `json:"name"`
	State     string `json:"state"`
	Locked    bool   `json:"locked"`
	AvatarURL string `json:"avatar_url"`
	WebURL    string `json:"web_url"`
}

func (u UserRef) filled(base string) UserRef {
	if u.State == "" {
		u.State = "active"
	}
	if u.Name == "" {
		u.Name = u.Username
	}
	if u.WebURL == "" {
		u.WebURL = base + "/" + u.Username
	}
	if u.AvatarURL == "" {
		u.AvatarURL = "https://secure.gravatar.com/avatar/0?s=80&d=identicon"
	}
	return u
}

// Pipeline is a pipeline as GET /projects/:id/pipelines/:pipeline_id
// returns it. Zero fields get plausible values.
type Pipeline struct {
	ID             int64    `json:"id"`
	IID            int64    `json:"iid"`
	ProjectID      int64    `json:"project_id"`
	Name           *string  `json:"name"`
	Status         string   `json:"status"`
	Source         string   `json:"source"`
	Ref            string   `json:"ref"`
	SHA            string   `json:"sha"`
	BeforeSHA      string   `json:"before_sha"`
	Tag            bool     `json:"tag"`
	YAMLErrors     *string  `json:"yaml_errors"`
	User           *UserRef `json:"user"`
	CreatedAt      string   `json:"created_at"`
	UpdatedAt      string   `json:"updated_at"`
	StartedAt      *string  `json:"started_at"`
	FinishedAt     *string  `json:"finished_at"`
	CommittedAt    *string  `json:"committed_at"`
	Duration       *float64 `json:"duration"`
	QueuedDuration *float64 `json:"queued_duration"`
	Coverage       *string  `json:"coverage"`
	WebURL         string   `json:"web_url"`
}

// Timestamp is the time the fixtures use.
const Timestamp = "2026-11-26T10:00:00.000Z"

func (p Pipeline) filled(s *Server, project string) Pipeline {
	if p.IID == 0 {
		p.IID = p.ID
	}
	if p.Status == "" {
		p.Status = "running"
	}
	if p.Source == "" {
		p.Source = "push"
	}
	if p.Ref == "" {
		p.Ref = "main"
	}
	if p.SHA == "" {
		p.SHA = "2b1c0b8f4a5d6e7f8091a2b3c4d5e6f708192a3b"
	}
	if p.BeforeSHA == "" {
		p.BeforeSHA = "0000000000000000000000000000000000000000"
	}
	if p.CreatedAt == "" {
		p.CreatedAt = Timestamp
	}
	if p.UpdatedAt == "" {
		p.UpdatedAt = p.CreatedAt
	}
	if p.WebURL == "" {
		p.WebURL = fmt.Sprintf("%s/%s/-/pipelines/%d", s.URL(), project, p.ID)
	}
	if p.User != nil {
		u := p.User.filled(s.URL())
		p.User = &u
	}
	return p
}

// Pipeline serves GET /projects/:id/pipelines/:pipeline_id for one pipeline
// of project (as the client sends it: an ID, or a full path).
func (s *Server) Pipeline(project string, p Pipeline) *Route {
	p = p.filled(s, project)
	return s.Handle("GET /projects/{project}/pipelines/{pipeline}", func(w http.ResponseWriter, _ *http.Request) {
		JSON(w, http.StatusOK, p)
	}).Where("project", project).Where("pipeline", fmt.Sprint(p.ID))
}
