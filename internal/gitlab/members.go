package gitlab

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

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
	// State is the user's account state (active, blocked, deactivated, ...),
	// as GitLab's member entity sends it in "state".
	State string
	// MembershipState is the membership's own state: active, or awaiting
	// (e.g. waiting for a seat or for approval), sent as "membership_state".
	MembershipState string
	AccessLevel     int
}

// Active reports whether the membership is in force and grants at least
// Guest: a blocked account, a membership awaiting a seat, Minimal Access
// members and pending invitations do not count.
//
// A member entity without membership_state comes from a GitLab older than
// the awaiting membership states, where every membership was active: it is
// judged on the account state alone.
func (m Member) Active() bool {
	membership := m.MembershipState == "active" || m.MembershipState == ""
	return m.State == "active" && membership && m.AccessLevel >= AccessGuest
}

// groupMember is the member entity with membership_state, which client-go's
// GroupMember does not decode.
type groupMember struct {
	ID              int64  `json:"id"`
	Username        string `json:"username"`
	Name            string `json:"name"`
	State           string `json:"state"`
	MembershipState string `json:"membership_state"`
	AccessLevel     int    `json:"access_level"`
}

func groupID(group string) string {
	if _, err := strconv.ParseInt(group, 10, 64); err == nil {
		return group
	}
	return gl.PathEscape(group)
}

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
	m, err := call(ctx, c, what, true, func(opts ...gl.RequestOptionFunc) (*groupMember, *gl.Response, error) {
		req, err := c.api.NewRequest(http.MethodGet, fmt.Sprintf("groups/%s/members/all/%d", groupID(group), userID), nil, opts)
		if err != nil {
			return nil, nil, err
		}
		var m groupMember
		resp, err := c.api.Do(req, &m)
		return &m, resp, err
	})
	if err == nil {
		return Member{
			User:            User{ID: m.ID, Username: m.Username, Name: m.Name},
			State:           m.State,
			MembershipState: m.MembershipState,
			AccessLevel:     m.AccessLevel,
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
