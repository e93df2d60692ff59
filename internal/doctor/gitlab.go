package doctor

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"gitlab.com/platform/bluegreen/internal/gitlab"
	"gitlab.com/platform/bluegreen/internal/outcome"
)

// GitLabAPI is what the GitLab checks ask (gitlab.Client); all reads.
type GitLabAPI interface {
	TokenSelf(ctx context.Context) (gitlab.Token, error)
	ProjectAccess(ctx context.Context, project string) (gitlab.ProjectAccess, error)
	Branch(ctx context.Context, project, branch string) (gitlab.Branch, error)
	Protections(ctx context.Context, project string) ([]gitlab.Protection, error)
	LastCommit(ctx context.Context, project, ref, path string) (gitlab.Commit, bool, error)
	GroupMember(ctx context.Context, group string, userID int64) (gitlab.Member, error)
}

// GitLabSetup is what the pipeline needs of GitLab.
type GitLabSetup struct {
	Project, Branch, Folder string
	Groups                  []string // approve's allowed-groups
	Now                     func() time.Time
}

// GitLab checks BG_GITLAB_TOKEN: its scopes, its role in the GitOps
// project, the branch and whether it may push there, the Commits API, and
// the group-membership reads approve's allowed-groups rule makes.
func GitLab(api GitLabAPI, set GitLabSetup) System {
	return System{Name: "gitlab", Run: func(ctx context.Context, _ *State) []Result {
		tok, r := tokenResult(ctx, api, set.Now)
		rs := []Result{r}
		if r.Verdict == Down {
			return rs
		}
		if set.Project != "" {
			rs = append(rs, project(ctx, api, set, tok)...)
		}
		for _, g := range set.Groups {
			rs = append(rs, groupRead(ctx, api, g, tok.UserID))
		}
		return rs
	}}
}

// glResult turns a failed call into a result: unreachable is Down, a
// refusal or a 404 is Fix.
func glResult(name string, err error, fix string) Result {
	var ge *gitlab.Error
	if errors.As(err, &ge) && ge.Status != 0 && ge.Status < 500 && ge.Status != 429 {
		return Result{Name: name, Verdict: Fix, Detail: err.Error(), Fix: fix}
	}
	if outcome.KindOf(err) == outcome.Usage {
		return Result{Name: name, Verdict: Fix, Detail: err.Error(), Fix: fix}
	}
	return Result{Name: name, Verdict: Down, Detail: err.Error(), Fix: "check that GitLab is reachable from the runner (BG_GITLAB_API_URL, default $CI_API_V4_URL)"}
}

const newToken = "create a project access token on the GitOps project with the api scope and the Developer role (Maintainer for a protected branch), and store it as the masked variable BG_GITLAB_TOKEN"

func tokenResult(ctx context.Context, api GitLabAPI, now func() time.Time) (gitlab.Token, Result) {
	tok, err := api.TokenSelf(ctx)
	if err != nil {
		var ge *gitlab.Error
		if errors.As(err, &ge) && ge.Status == 400 {
			return tok, Result{Name: "token", Verdict: Fix, Detail: "not a personal, project or group access token: " + ge.Message, Fix: newToken + " (CI_JOB_TOKEN cannot commit to another project)"}
		}
		return tok, glResult("token", err, "the token is invalid, expired or revoked: "+newToken)
	}
	r := Result{Name: "token scopes", Detail: fmt.Sprintf("%q: %s", tok.Name, strings.Join(tok.Scopes, ", "))}
	switch {
	case !tok.HasScope("api"):
		r.Verdict = Fix
		r.Detail += "; without api the GitOps commits of sync, promote and rollback are refused"
		r.Fix = "scopes cannot be changed: " + newToken
	case tok.ExpiresAt != "":
		if at, err := time.Parse("2006-01-02", tok.ExpiresAt); err == nil && at.Sub(now()) < 14*24*time.Hour {
			r.Verdict, r.Detail = Warn, r.Detail+"; expires on "+tok.ExpiresAt
			r.Fix = "rotate the token before it expires, and update BG_GITLAB_TOKEN"
			break
		}
		r.Verdict = OK
	default:
		r.Verdict = OK
	}
	return tok, r
}

func project(ctx context.Context, api GitLabAPI, set GitLabSetup, tok gitlab.Token) []Result {
	p, err := api.ProjectAccess(ctx, set.Project)
	if err != nil {
		return []Result{glResult("project "+set.Project, err, "check BG_GITOPS_PROJECT, and that the token is a member of that project")}
	}
	role := Result{Name: "role in " + set.Project, Verdict: OK, Detail: gitlab.RoleName(p.AccessLevel)}
	if p.AccessLevel < gitlab.AccessDeveloper {
		role.Verdict, role.Fix = Fix, "give the token at least Developer on "+set.Project+" (Maintainer for a protected branch)"
	}
	if p.Archived {
		role.Verdict, role.Detail, role.Fix = Fix, role.Detail+"; the project is archived and takes no commits", "unarchive "+set.Project
	}
	rs := []Result{role}
	b, err := api.Branch(ctx, set.Project, set.Branch)
	if err != nil {
		return append(rs, glResult("branch "+set.Branch, err, fmt.Sprintf("create branch %s in %s, or set BG_GITOPS_BRANCH to the branch Argo CD follows", set.Branch, set.Project)))
	}
	rs = append(rs, Result{Name: "branch " + set.Branch, Verdict: OK, Detail: map[bool]string{true: "exists, protected", false: "exists"}[b.Protected]})
	rs = append(rs, push(ctx, api, set, p.AccessLevel, tok.UserID, b))
	if _, found, err := api.LastCommit(ctx, set.Project, set.Branch, set.Folder); err != nil {
		rs = append(rs, glResult("Commits API", err, "the token needs the api scope and at least Reporter to read the repository"))
	} else {
		d := "readable; " + set.Folder + " has commits"
		if !found {
			d = "readable; no commit has touched " + set.Folder + " yet (a first release)"
		}
		rs = append(rs, Result{Name: "Commits API", Verdict: OK, Detail: d})
	}
	return rs
}

// push decides whether the token may push to the branch: from the
// protection rules when the token may read them (the most permissive
// matching rule applies, as in GitLab), else from the branch's can_push.
func push(ctx context.Context, api GitLabAPI, set GitLabSetup, level int, userID int64, b gitlab.Branch) Result {
	r := Result{Name: "push to " + set.Branch}
	rules, err := api.Protections(ctx, set.Project)
	if err != nil {
		var ge *gitlab.Error
		if !errors.As(err, &ge) || ge.Status != 403 {
			return glResult(r.Name, err, "check that GitLab is reachable")
		}
		if b.CanPush {
			r.Verdict, r.Detail = OK, "allowed (GitLab's can_push; the token may not read the protection rules)"
			return r
		}
		r.Verdict, r.Detail = Fix, fmt.Sprintf("refused for a %s (GitLab's can_push)", gitlab.RoleName(level))
		r.Fix = "allow the token's role to push in Settings > Repository > Protected branches, or give it Maintainer"
		return r
	}
	var matching []gitlab.Protection
	for _, p := range rules {
		if p.Matches(set.Branch) {
			matching = append(matching, p)
		}
	}
	if len(matching) == 0 {
		if level >= gitlab.AccessDeveloper {
			r.Verdict, r.Detail = OK, fmt.Sprintf("allowed: the branch is not protected and the token is %s", gitlab.RoleName(level))
		} else {
			r.Verdict, r.Detail, r.Fix = Fix, "refused: a "+gitlab.RoleName(level)+" may not push", "give the token at least Developer"
		}
		return r
	}
	var needs []string
	for _, p := range matching {
		if p.MayPush(level, userID) {
			r.Verdict, r.Detail = OK, fmt.Sprintf("allowed: protected by %q, which lets a %s push", p.Name, gitlab.RoleName(level))
			return r
		}
		needs = append(needs, fmt.Sprintf("%q allows %s", p.Name, levelsText(p.PushLevels)))
	}
	r.Verdict = Fix
	r.Detail = fmt.Sprintf("refused: the token is %s and %s; GitLab would answer \"You are not allowed to push into this branch\"", gitlab.RoleName(level), strings.Join(needs, "; "))
	r.Fix = fmt.Sprintf("give the token Maintainer on %s, or add its role or its user to \"Allowed to push and merge\" for %s in Settings > Repository > Protected branches", set.Project, set.Branch)
	return r
}

func levelsText(levels []int) string {
	var out []string
	for _, l := range levels {
		if l == 0 {
			out = append(out, "no one")
			continue
		}
		out = append(out, gitlab.RoleName(l)+"s")
	}
	if len(out) == 0 {
		return "only listed users and groups"
	}
	return strings.Join(out, ", ")
}

// groupRead proves that approve can read group's memberships: a member
// or a "not a member" answer both do.
func groupRead(ctx context.Context, api GitLabAPI, group string, userID int64) Result {
	r := Result{Name: "allowed-group " + group}
	_, err := api.GroupMember(ctx, group, userID)
	switch {
	case err == nil, errors.Is(err, gitlab.ErrNotMember):
		r.Verdict, r.Detail = OK, "memberships readable"
		return r
	case errors.Is(err, gitlab.ErrNotFound):
		r.Verdict, r.Detail = Fix, err.Error()
		r.Fix = fmt.Sprintf("check the group path in BG_APPROVAL_GROUPS (allowed-groups), and that the token can see %s (read_api; a private group needs the token's user in it or in a parent)", group)
		return r
	}
	return glResult(r.Name, err, "the token needs read_api to read group memberships")
}
