package doctor

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gitlab.com/platform/bluegreen/internal/config"
	"gitlab.com/platform/bluegreen/internal/gitlab"
	"gitlab.com/platform/bluegreen/internal/gitlab/gitlabtest"
	"gitlab.com/platform/bluegreen/internal/outcome"
	"gitlab.com/platform/bluegreen/internal/slack"
	"gitlab.com/platform/bluegreen/internal/slack/slackfake"
)

const glToken = "glpat-doctor-test-token"

// run runs the doctor with systems and returns its output.
func run(t *testing.T, systems ...System) (string, *Report, error) {
	t.Helper()
	var out bytes.Buffer
	dir := t.TempDir()
	d := &Doctor{App: "shop", Namespace: "shop", Systems: systems, OutDir: dir, Out: &out, Now: time.Now}
	rep, err := d.Run(context.Background())
	if _, serr := os.Stat(filepath.Join(dir, JUnitName)); serr != nil {
		t.Errorf("no JUnit report: %v", serr)
	}
	return out.String(), rep, err
}

// gitOpsProject serves a GitOps project whose token is at role, with main
// protected so that only pushers may push.
func gitOpsProject(t *testing.T, scopes []string, role int, pushers ...int) *gitlabtest.Server {
	srv := gitlabtest.New(t, gitlabtest.WithToken(glToken))
	srv.TokenSelf(gitlabtest.Token{Name: "gitops", Scopes: scopes, UserID: 7})
	if len(scopes) == 0 {
		return srv
	}
	srv.Project(gitlabtest.Project{PathWithNamespace: "platform/gitops", ProjectAccess: role})
	srv.Handle("GET /projects/{project}/repository/branches/{branch}", func(w http.ResponseWriter, _ *http.Request) {
		gitlabtest.JSON(w, 200, map[string]any{"name": "main", "protected": true, "can_push": role >= gitlabtest.Maintainer, "commit": map[string]any{"id": "0123456789abcdef0123456789abcdef01234567"}})
	}).Where("project", "platform/gitops").Where("branch", "main")
	srv.ProtectedBranches("platform/gitops", role, gitlabtest.Developer, gitlabtest.ProtectedBranch{Name: "main", Push: pushers})
	srv.Handle("GET /projects/{project}/repository/commits", func(w http.ResponseWriter, r *http.Request) {
		gitlabtest.Paginate(w, r, []map[string]any{{"id": "0123456789abcdef0123456789abcdef01234567", "parent_ids": []string{}}})
	}).Where("project", "platform/gitops")
	return srv
}

func gitlabSystem(t *testing.T, srv *gitlabtest.Server) System {
	c, err := gitlab.New(gitlab.Options{URL: srv.APIURL(), Token: glToken})
	if err != nil {
		t.Fatal(err)
	}
	return GitLab(c, GitLabSetup{Project: "platform/gitops", Branch: "main", Folder: "production/shop", Now: time.Now})
}

func assertReadOnly(t *testing.T, srv *gitlabtest.Server) {
	t.Helper()
	for _, r := range srv.Requests() {
		if r.Method != http.MethodGet {
			t.Errorf("doctor sent %s %s", r.Method, r.Path)
		}
	}
}

func TestDoctor_GitLabTokenWithoutAPIScopeIsToFix(t *testing.T) {
	t.Parallel()
	srv := gitOpsProject(t, []string{"read_api", "read_repository"}, gitlabtest.Maintainer, gitlabtest.Maintainer)
	out, _, err := run(t, gitlabSystem(t, srv))
	if outcome.KindOf(err) != outcome.Negative {
		t.Fatalf("err %v, want a negative verdict (exit 1)\n%s", err, out)
	}
	for _, want := range []string{`FIX   token scopes: "gitops": read_api, read_repository; without api`, "fix: scopes cannot be changed: create a project access token", "push to main: allowed"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, glToken) {
		t.Errorf("output shows the token")
	}
	assertReadOnly(t, srv)
}

func TestDoctor_GitLabDeveloperOnAProtectedBranchMayNotPush(t *testing.T) {
	t.Parallel()
	srv := gitOpsProject(t, []string{"api"}, gitlabtest.Developer, gitlabtest.Maintainer)
	out, _, err := run(t, gitlabSystem(t, srv))
	if outcome.KindOf(err) != outcome.Negative {
		t.Fatalf("err %v, want exit 1\n%s", err, out)
	}
	for _, want := range []string{"ok    role in platform/gitops: Developer", `FIX   push to main: refused: the token is Developer and "main" allows Maintainers`, "fix: give the token Maintainer on platform/gitops", "ok    Commits API"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	assertReadOnly(t, srv)
}

func TestDoctor_GitLabDeveloperMayPushWhereDevelopersAreAllowed(t *testing.T) {
	t.Parallel()
	srv := gitOpsProject(t, []string{"api"}, gitlabtest.Developer, gitlabtest.Developer, gitlabtest.Maintainer)
	out, rep, err := run(t, gitlabSystem(t, srv))
	if err != nil || rep.Count(Fix) != 0 || !strings.Contains(out, `push to main: allowed: protected by "main"`) {
		t.Fatalf("err %v:\n%s", err, out)
	}
}

func TestDoctor_GitLabUnreachableIsExit3(t *testing.T) {
	t.Parallel()
	c, _ := gitlab.New(gitlab.Options{URL: "http://127.0.0.1:1/api/v4", Token: glToken, Retry: gitlab.Retry{Attempts: 1}})
	out, rep, err := run(t, GitLab(c, GitLabSetup{Project: "platform/gitops", Branch: "main", Now: time.Now}))
	if outcome.KindOf(err) != outcome.External || rep.Count(Down) != 1 {
		t.Fatalf("err %v, want exit 3:\n%s", err, out)
	}
}

func slackSystem(t *testing.T, ws slackfake.Workspace, channel string) (*slackfake.Inspect, System) {
	const token = "xoxb-doctor-test-token"
	fake := slackfake.NewInspect(t, token, ws)
	in := slack.NewInspector(slack.Options{Token: config.Secret(token), APIURL: fake.APIURL()})
	return fake, Slack(in, channel)
}

func TestDoctor_SlackTokenWithoutChatWriteIsToFix(t *testing.T) {
	t.Parallel()
	fake, sys := slackSystem(t, slackfake.Workspace{Scopes: []string{"channels:read", "chat:write.public"}, Channels: []slackfake.Conversation{{Name: "deploys", IsMember: true}}}, "#deploys")
	out, _, err := run(t, sys)
	if outcome.KindOf(err) != outcome.Negative {
		t.Fatalf("err %v, want exit 1:\n%s", err, out)
	}
	for _, want := range []string{"ok    auth.test: bot bluegreen in Acme", "FIX   scope chat:write: not granted", "fix: add the chat:write bot scope", "ok    post in #deploys: the bot is a member"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "xoxb-") {
		t.Errorf("output shows the token")
	}
	for _, m := range fake.Methods() {
		if strings.HasPrefix(m, "chat.") {
			t.Errorf("doctor called %s", m)
		}
	}
}

func TestDoctor_SlackChannel(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		ws      slackfake.Workspace
		channel string
		want    Verdict
		says    string
	}{
		{"member, by name", slackfake.Workspace{Scopes: []string{"chat:write", "channels:read"}, Channels: []slackfake.Conversation{{Name: "deploys", IsMember: true}}}, "#deploys", OK, "the bot is a member"},
		{"member, by ID", slackfake.Workspace{Scopes: []string{"chat:write", "channels:read"}, Channels: []slackfake.Conversation{{Name: "deploys", IsMember: true}}}, "C0DEPLOYS", OK, "the bot is a member"},
		{"not invited", slackfake.Workspace{Scopes: []string{"chat:write", "channels:read"}, Channels: []slackfake.Conversation{{Name: "deploys"}}}, "#deploys", Fix, "/invite @bluegreen"},
		{"public with chat:write.public", slackfake.Workspace{Scopes: []string{"chat:write", "chat:write.public", "channels:read"}, Channels: []slackfake.Conversation{{Name: "deploys"}}}, "#deploys", OK, "chat:write.public"},
		{"no such channel", slackfake.Workspace{Scopes: []string{"chat:write", "channels:read"}}, "#deploys", Fix, "not found"},
		{"cannot tell without channels:read", slackfake.Workspace{Scopes: []string{"chat:write"}}, "#deploys", Warn, "channels:read"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, sys := slackSystem(t, tt.ws, tt.channel)
			out, rep, _ := run(t, sys)
			last := rep.Results[len(rep.Results)-1]
			if last.Verdict != tt.want || !strings.Contains(last.Detail+last.Fix, tt.says) {
				t.Errorf("%s: %s %q (fix %q); want %s saying %q\n%s", last.Name, last.Verdict, last.Detail, last.Fix, tt.want, tt.says, out)
			}
		})
	}
}

func TestDoctor_SlackInvalidTokenIsToFix(t *testing.T) {
	t.Parallel()
	fake := slackfake.NewInspect(t, "xoxb-right", slackfake.Workspace{})
	in := slack.NewInspector(slack.Options{Token: "xoxb-wrong", APIURL: fake.APIURL()})
	out, _, err := run(t, Slack(in, "#deploys"))
	if outcome.KindOf(err) != outcome.Negative || !strings.Contains(out, "FIX   auth.test: slack auth.test: invalid_auth") {
		t.Fatalf("err %v:\n%s", err, out)
	}
}

func TestDoctor_SkippedSystemsAndJUnit(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var out bytes.Buffer
	d := &Doctor{App: "shop", Namespace: "shop", OutDir: dir, Out: &out, Now: time.Now, Systems: []System{
		{Name: "slack", Skipped: "no BG_SLACK_TOKEN"},
		{Name: "argocd", Run: func(context.Context, *State) []Result {
			return []Result{{Name: "syncPolicy.automated.selfHeal", Verdict: Fix, Detail: "on", Fix: "turn it off"}}
		}},
	}}
	_, err := d.Run(context.Background())
	if outcome.KindOf(err) != outcome.Negative || !strings.Contains(out.String(), "skip  slack: no BG_SLACK_TOKEN") {
		t.Fatalf("err %v:\n%s", err, out.String())
	}
	b, _ := os.ReadFile(filepath.Join(dir, JUnitName))
	for _, want := range []string{`tests="2" failures="1" errors="0" skipped="1"`, `classname="doctor.argocd"`, "turn it off"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("JUnit lacks %s:\n%s", want, b)
		}
	}
}
