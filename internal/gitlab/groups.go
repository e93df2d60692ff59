package gitlab

import (
	"context"
	"fmt"

	gl "gitlab.com/gitlab-org/api/client-go"
)

// Group is a GitLab group.
type Group struct {
	ID       int64
	FullPath string
	WebURL   string
}

// Group reads a group (an ID or full path). GET /groups/:id
func (c *Client) Group(ctx context.Context, group string) (Group, error) {
	what := fmt.Sprintf("group %q", group)
	g, err := call(ctx, c, what, true, func(opts ...gl.RequestOptionFunc) (*gl.Group, *gl.Response, error) {
		return c.api.Groups.GetGroup(group, nil, opts...)
	})
	if err != nil {
		return Group{}, err
	}
	return Group{ID: g.ID, FullPath: g.FullPath, WebURL: g.WebURL}, nil
}
