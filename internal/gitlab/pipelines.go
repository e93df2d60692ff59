package gitlab

import (
	"context"
	"fmt"

	gl "gitlab.com/gitlab-org/api/client-go"
)

// User is a GitLab user as other objects reference it.
type User struct {
	ID       int64
	Username string
	Name     string
}

// Pipeline is a CI pipeline.
type Pipeline struct {
	ID     int64
	Status string
	Source string
	Ref    string
	SHA    string
	WebURL string
	// Creator is the user who started the pipeline: the pusher, the merge
	// request's author, the schedule's owner or the trigger's owner. Nil
	// when GitLab does not say.
	Creator *User
}

// Pipeline reads one pipeline of project (an ID or a full path).
// GET /projects/:id/pipelines/:pipeline_id
func (c *Client) Pipeline(ctx context.Context, project string, id int64) (Pipeline, error) {
	what := fmt.Sprintf("pipeline %d of project %s", id, project)
	p, err := call(ctx, c, what, true, func(opts ...gl.RequestOptionFunc) (*gl.Pipeline, *gl.Response, error) {
		return c.api.Pipelines.GetPipeline(project, id, opts...)
	})
	if err != nil {
		return Pipeline{}, err
	}
	out := Pipeline{ID: p.ID, Status: p.Status, Source: string(p.Source), Ref: p.Ref, SHA: p.SHA, WebURL: p.WebURL}
	if p.User != nil {
		out.Creator = &User{ID: p.User.ID, Username: p.User.Username, Name: p.User.Name}
	}
	return out, nil
}
