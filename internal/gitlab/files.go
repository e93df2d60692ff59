package gitlab

import (
	"context"
	"fmt"

	gl "gitlab.com/gitlab-org/api/client-go"
)

// File reads the content of the file at path (from the repository root) at
// ref, a branch, tag or commit SHA. A missing file is an error wrapping
// ErrNotFound. GET /projects/:id/repository/files/:path/raw
func (c *Client) File(ctx context.Context, project, ref, path string) ([]byte, error) {
	what := fmt.Sprintf("file %q at %s of project %s", path, short(ref), project)
	return call(ctx, c, what, true, func(opts ...gl.RequestOptionFunc) ([]byte, *gl.Response, error) {
		return c.api.RepositoryFiles.GetRawFile(project, path, &gl.GetRawFileOptions{Ref: gl.Ptr(ref)}, opts...)
	})
}
