package gitlab

import (
	"context"
	"errors"
	"fmt"

	gl "gitlab.com/gitlab-org/api/client-go"

	"gitlab.com/platform/bluegreen/internal/outcome"
)

// Access levels, as GitLab numbers them.
const (
	AccessMinimal    = 5
	AccessGuest      = 10
	AccessPlanner    = 15
	AccessReporter   = 20
	AccessDeveloper  = 30
	AccessMaintainer = 40
	AccessOwner      = 50
)

// Member is a user's membership of a group.
type Member struct {
	User
	State       string // active, awaiting, blocked, ...
	AccessLevel int
}

// Active reports whether the membership is in force and grants at least
// Guest: Minimal Access members and pending invitations do not count.
func (m Member) Active() bool { return m.State == "active" && m.AccessLevel >= AccessGuest }

// ErrNotMember is returned by GroupMember when the group exists but the
// user is not in it, directly or through a parent group or a shared group.
var ErrNotMember = errors.New("not a member")

// GroupMember returns userID's membership of group (an ID or full path),
// counting memberships inherited from parent groups and from groups the
// group was shared with. GET /groups/:id/members/all/:user_id
//
// GitLab answers 404 both for "no such member" and "no such group", so on a
// 404 the group itself is read, to tell a typo in the configuration (an
// error wrapping ErrNotFound, exit 2) from a plain non-member (ErrNotMember).
func (c *Client) GroupMember(ctx context.Context, group string, userID int64) (Member, error) {
	what := fmt.Sprintf("group %q member %d", group, userID)
	m, err := call(ctx, c, what, true, func(opts ...gl.RequestOptionFunc) (*gl.GroupMember, *gl.Response, error) {
		return c.api.GroupMembers.GetInheritedGroupMember(group, userID, opts...)
	})
	if err == nil {
		return Member{
			User:        User{ID: m.ID, Username: m.Username, Name: m.Name},
			State:       m.State,
			AccessLevel: int(m.AccessLevel),
		}, nil
	}
	if !errors.Is(err, ErrNotFound) {
		return Member{}, err
	}
	if _, gerr := c.Group(ctx, group); gerr != nil {
		if errors.Is(gerr, ErrNotFound) {
			return Member{}, outcome.As(outcome.Usage, gerr)
		}
		return Member{}, gerr
	}
	return Member{}, &Error{What: what, Status: 404, Err: ErrNotMember}
}
