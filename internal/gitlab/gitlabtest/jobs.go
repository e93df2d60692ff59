package gitlabtest

import (
	"fmt"
	"net/http"
	"slices"
)

// Job is a job as GET /projects/:id/pipelines/:pipeline_id/jobs lists it.
// Zero fields get plausible values.
type Job struct {
	ID                int64          `json:"id"`
	Name              string         `json:"name"`
	Stage             string         `json:"stage"`
	Status            string         `json:"status"`
	Ref               string         `json:"ref"`
	Tag               bool           `json:"tag"`
	Coverage          *float64       `json:"coverage"`
	AllowFailure      bool           `json:"allow_failure"`
	Archived          bool           `json:"archived"`
	CreatedAt         string         `json:"created_at"`
	StartedAt         *string        `json:"started_at"`
	FinishedAt        *string        `json:"finished_at"`
	ErasedAt          *string        `json:"erased_at"`
	Duration          *float64       `json:"duration"`
	QueuedDuration    *float64       `json:"queued_duration"`
	ArtifactsExpireAt *string        `json:"artifacts_expire_at"`
	TagList           []string       `json:"tag_list"`
	FailureReason     *string        `json:"failure_reason,omitempty"`
	WebURL            string         `json:"web_url"`
	Pipeline          JobPipeline    `json:"pipeline"`
	User              *UserRef       `json:"user"`
	Runner            *struct{}      `json:"runner"`
	Artifacts         []struct{}     `json:"artifacts"`
	Commit            map[string]any `json:"commit"`
	Project           map[string]any `json:"project"`
}

// JobPipeline is the pipeline a job belongs to, as a job embeds it.
type JobPipeline struct {
	ID        int64  `json:"id"`
	ProjectID int64  `json:"project_id"`
	Ref       string `json:"ref"`
	SHA       string `json:"sha"`
	Status    string `json:"status"`
}

func (j Job) filled(s *Server, project string, pipelineID int64) Job {
	if j.Status == "" {
		j.Status = "created"
	}
	if j.Ref == "" {
		j.Ref = "main"
	}
	if j.CreatedAt == "" {
		j.CreatedAt = Timestamp
	}
	if j.TagList == nil {
		j.TagList = []string{}
	}
	if j.Artifacts == nil {
		j.Artifacts = []struct{}{}
	}
	if j.WebURL == "" {
		j.WebURL = fmt.Sprintf("%s/%s/-/jobs/%d", s.URL(), project, j.ID)
	}
	if j.Pipeline.ID == 0 {
		j.Pipeline = JobPipeline{ID: pipelineID, Ref: j.Ref, SHA: "2b1c0b8f4a5d6e7f8091a2b3c4d5e6f708192a3b", Status: "running"}
	}
	if j.Commit == nil {
		j.Commit = map[string]any{"id": j.Pipeline.SHA, "short_id": j.Pipeline.SHA[:8], "title": "Release", "author_name": "Bob Builder", "author_email": "bob@example.com", "created_at": Timestamp}
	}
	if j.Project == nil {
		j.Project = map[string]any{"ci_job_token_scope_enabled": true}
	}
	if j.User != nil {
		u := j.User.filled(s.URL())
		j.User = &u
	}
	return j
}

// PipelineJobs serves GET /projects/:id/pipelines/:pipeline_id/jobs: jobs
// listed in the order given (GitLab lists newest first), filtered by scope[]
// as GitLab does, and paginated with GitLab's headers.
func (s *Server) PipelineJobs(project string, pipelineID int64, jobs ...Job) *Route {
	all := make([]Job, len(jobs))
	for i, j := range jobs {
		all[i] = j.filled(s, project, pipelineID)
	}
	return s.Handle("GET /projects/{project}/pipelines/{pipeline}/jobs", func(w http.ResponseWriter, r *http.Request) {
		scopes := r.URL.Query()["scope[]"]
		out := []Job{}
		for _, j := range all {
			if len(scopes) == 0 || slices.Contains(scopes, j.Status) {
				out = append(out, j)
			}
		}
		Paginate(w, r, out)
	}).Where("project", project).Where("pipeline", fmt.Sprint(pipelineID))
}
