package gitlab

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	gl "gitlab.com/gitlab-org/api/client-go"
)

// Token is what GitLab says of the token a Client calls with. Project and
// group access tokens are personal access tokens of a bot user, so the same
// endpoint describes them.
type Token struct {
	ID        int64
	Name      string
	UserID    int64
	Scopes    []string
	Active    bool
	Revoked   bool
	ExpiresAt string // YYYY-MM-DD, or "" when it never expires
}

// HasScope reports whether the token carries scope.
func (t Token) HasScope(scope string) bool {
	for _, s := range t.Scopes {
		if s == scope {
			return true
		}
	}
	return false
}

// TokenSelf describes the calling token. GET /personal_access_tokens/self
// GitLab answers any scope here, and 400 for a token that is no personal,
// project or group access token (a CI job token, an OAuth token).
func (c *Client) TokenSelf(ctx context.Context) (Token, error) {
	t, err := call(ctx, c, "token self-inspection", true, func(opts ...gl.RequestOptionFunc) (*gl.PersonalAccessToken, *gl.Response, error) {
		return c.api.PersonalAccessTokens.GetSinglePersonalAccessToken(opts...)
	})
	if err != nil {
		return Token{}, err
	}
	out := Token{ID: t.ID, Name: t.Name, UserID: t.UserID, Scopes: t.Scopes, Active: t.Active, Revoked: t.Revoked}
	if t.ExpiresAt != nil {
		out.ExpiresAt = t.ExpiresAt.String()
	}
	return out, nil
}

// ProjectAccess is the calling token's standing in a project.
type ProjectAccess struct {
	ID       int64
	Path     string // path with namespace
	WebURL   string
	Archived bool
	// AccessLevel is the higher of the token's project and group
	// membership levels (GitLab's "permissions"); 0 when it has neither.
	AccessLevel int
}

// ProjectAccess reads project and the token's access level in it.
// GET /projects/:id (its "permissions")
func (c *Client) ProjectAccess(ctx context.Context, project string) (ProjectAccess, error) {
	p, err := call(ctx, c, fmt.Sprintf("project %s", project), true, func(opts ...gl.RequestOptionFunc) (*gl.Project, *gl.Response, error) {
		return c.api.Projects.GetProject(project, nil, opts...)
	})
	if err != nil {
		return ProjectAccess{}, err
	}
	out := ProjectAccess{ID: p.ID, Path: p.PathWithNamespace, WebURL: p.WebURL, Archived: p.Archived}
	if perm := p.Permissions; perm != nil {
		if perm.ProjectAccess != nil {
			out.AccessLevel = int(perm.ProjectAccess.AccessLevel)
		}
		if perm.GroupAccess != nil {
			out.AccessLevel = max(out.AccessLevel, int(perm.GroupAccess.AccessLevel))
		}
	}
	return out, nil
}

// Branch is a branch as the calling token sees it.
type Branch struct {
	Name      string
	Protected bool
	// CanPush is GitLab's own answer for the calling user: its role, the
	// protection rules (wildcards, users, groups) and deploy keys weighed.
	CanPush bool
}

// Branch reads branch of project. GET /projects/:id/repository/branches/:branch
func (c *Client) Branch(ctx context.Context, project, branch string) (Branch, error) {
	b, err := call(ctx, c, fmt.Sprintf("branch %q of project %s", branch, project), true, func(opts ...gl.RequestOptionFunc) (*gl.Branch, *gl.Response, error) {
		return c.api.Branches.GetBranch(project, branch, opts...)
	})
	if err != nil {
		return Branch{}, err
	}
	return Branch{Name: b.Name, Protected: b.Protected, CanPush: b.CanPush}, nil
}

// Protection is one protected-branch rule: a name or a wildcard, and who
// may push to the branches it matches.
type Protection struct {
	Name string // e.g. main, or release/*
	// PushLevels are the roles allowed to push (30 Developer, 40
	// Maintainer, 60 Admin; 0 means no one).
	PushLevels []int
	// PushUsers and PushGroups are the users and groups allowed besides.
	PushUsers, PushGroups []int64
}

// Matches reports whether the rule protects branch: an exact name, or a
// wildcard whose '*' stands for any characters, '/' included, as GitLab's
// ref matcher reads it.
func (p Protection) Matches(branch string) bool {
	if !strings.Contains(p.Name, "*") {
		return p.Name == branch
	}
	parts := strings.Split(p.Name, "*")
	for i, s := range parts {
		parts[i] = regexp.QuoteMeta(s)
	}
	return regexp.MustCompile("^" + strings.Join(parts, ".*?") + "$").MatchString(branch)
}

// MayPush reports whether a member at level, with user ID userID, may push
// to the branches the rule protects.
func (p Protection) MayPush(level int, userID int64) bool {
	for _, l := range p.PushLevels {
		if l > 0 && level >= l {
			return true
		}
	}
	for _, u := range p.PushUsers {
		if u == userID {
			return true
		}
	}
	return false
}

// Protections lists project's protected-branch rules. GitLab lets
// Maintainers read them (Developers too on newer versions); a lower role
// gets 403. GET /projects/:id/protected_branches
func (c *Client) Protections(ctx context.Context, project string) ([]Protection, error) {
	var out []Protection
	opt := &gl.ListProtectedBranchesOptions{ListOptions: gl.ListOptions{PerPage: 100, Page: 1}}
	for {
		var next int64
		bs, err := call(ctx, c, fmt.Sprintf("protected branches of project %s", project), true, func(opts ...gl.RequestOptionFunc) ([]*gl.ProtectedBranch, *gl.Response, error) {
			bs, resp, err := c.api.ProtectedBranches.ListProtectedBranches(project, opt, opts...)
			if resp != nil {
				next = resp.NextPage
			}
			return bs, resp, err
		})
		if err != nil {
			return nil, err
		}
		for _, b := range bs {
			p := Protection{Name: b.Name}
			for _, a := range b.PushAccessLevels {
				switch {
				case a.UserID != 0:
					p.PushUsers = append(p.PushUsers, a.UserID)
				case a.GroupID != 0:
					p.PushGroups = append(p.PushGroups, a.GroupID)
				case a.DeployKeyID != 0:
				default:
					p.PushLevels = append(p.PushLevels, int(a.AccessLevel))
				}
			}
			out = append(out, p)
		}
		if next == 0 {
			return out, nil
		}
		opt.Page = next
	}
}

// RoleName names an access level as GitLab's UI does.
func RoleName(level int) string {
	switch {
	case level >= AccessOwner:
		return "Owner"
	case level >= AccessMaintainer:
		return "Maintainer"
	case level >= AccessDeveloper:
		return "Developer"
	case level >= AccessReporter:
		return "Reporter"
	case level >= AccessPlanner:
		return "Planner"
	case level >= AccessGuest:
		return "Guest"
	case level >= AccessMinimal:
		return "Minimal Access"
	}
	return "no role"
}
