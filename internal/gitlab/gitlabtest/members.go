package gitlabtest

import (
	"fmt"
	"net/http"
)

// Member is a membership as GET /groups/:id/members/all/:user_id returns it.
// Zero fields get plausible values.
type Member struct {
	ID                int64          `json:"id"`
	Username          string         `json:"username"`
	Name              string         `json:"name"`
	State             string         `json:"state"`
	AvatarURL         string         `json:"avatar_url"`
	WebURL            string         `json:"web_url"`
	AccessLevel       int            `json:"access_level"`
	CreatedAt         string         `json:"created_at"`
	CreatedBy         *UserRef       `json:"created_by,omitempty"`
	ExpiresAt         *string        `json:"expires_at"`
	GroupSAMLIdentity map[string]any `json:"group_saml_identity"`
	MembershipState   string         `json:"membership_state"`
}

func (m Member) filled(s *Server) Member {
	if m.State == "" {
		m.State = "active"
	}
	if m.MembershipState == "" {
		// The membership's state, apart from the account's "state".
		m.MembershipState = "active"
	}
	if m.Name == "" {
		m.Name = m.Username
	}
	if m.AccessLevel == 0 {
		m.AccessLevel = 30 // Developer
	}
	if m.CreatedAt == "" {
		m.CreatedAt = Timestamp
	}
	if m.WebURL == "" {
		m.WebURL = s.URL() + "/" + m.Username
	}
	if m.AvatarURL == "" {
		m.AvatarURL = "https://secure.gravatar.com/avatar/0?s=80&d=identicon"
	}
	return m
}

// GroupMember serves GET /groups/:id/members/all/:user_id for a user who is
// a member of group (directly, inherited or through a shared group: the
// endpoint does not say which).
func (s *Server) GroupMember(group string, m Member) *Route {
	m = m.filled(s)
	return s.Handle("GET /groups/{group}/members/all/{user}", func(w http.ResponseWriter, _ *http.Request) {
		JSON(w, http.StatusOK, m)
	}).Where("group", group).Where("user", fmt.Sprint(m.ID))
}

// NotGroupMember serves GitLab's 404 for a user who is not in group.
func (s *Server) NotGroupMember(group string, userID int64) *Route {
	return s.Handle("GET /groups/{group}/members/all/{user}", Error(http.StatusNotFound, "404 Not found")).
		Where("group", group).Where("user", fmt.Sprint(userID))
}
