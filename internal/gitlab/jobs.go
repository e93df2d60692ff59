package gitlab

import (
	"context"
	"fmt"

	gl "gitlab.com/gitlab-org/api/client-go"
)

// Job is a CI job.
type Job struct {
	ID     int64
	Name   string
	Stage  string
	Status string // created, pending, running, manual, success, failed, canceled, skipped, ...
	WebURL string // the job's page, which has the play button of a manual job
}

// IsPlayable reports whether the job waits for someone to press play.
func (j Job) IsPlayable() bool { return j.Status == "manual" }

const jobsPerPage = 100

// PipelineJobs lists every job of a pipeline, newest first, following
// pagination. GET /projects/:id/pipelines/:pipeline_id/jobs
func (c *Client) PipelineJobs(ctx context.Context, project string, pipelineID int64) ([]Job, error) {
	var jobs []Job
	page := int64(1)
	for page > 0 {
		what := fmt.Sprintf("jobs of pipeline %d of project %s (page %d)", pipelineID, project, page)
		opts := &gl.ListJobsOptions{ListOptions: gl.ListOptions{Page: page, PerPage: jobsPerPage}}
		var next int64
		got, err := call(ctx, c, what, true, func(ro ...gl.RequestOptionFunc) ([]*gl.Job, *gl.Response, error) {
			js, resp, err := c.api.Jobs.ListPipelineJobs(project, pipelineID, opts, ro...)
			if resp != nil {
				next = resp.NextPage
			}
			return js, resp, err
		})
		if err != nil {
			return nil, err
		}
		for _, j := range got {
			jobs = append(jobs, Job{ID: j.ID, Name: j.Name, Stage: j.Stage, Status: j.Status, WebURL: j.WebURL})
		}
		page = next
	}
	return jobs, nil
}

// PipelineJob finds the newest job called name in a pipeline. It returns an
// error wrapping ErrNotFound when the pipeline has no such job.
func (c *Client) PipelineJob(ctx context.Context, project string, pipelineID int64, name string) (Job, error) {
	jobs, err := c.PipelineJobs(ctx, project, pipelineID)
	if err != nil {
		return Job{}, err
	}
	// GitLab lists jobs newest first, retried ones included when asked; the
	// first match is the one a person would press play on.
	for _, j := range jobs {
		if j.Name == name {
			return j, nil
		}
	}
	return Job{}, &Error{What: fmt.Sprintf("job %q of pipeline %d", name, pipelineID), Status: 0, Err: ErrNotFound}
}
