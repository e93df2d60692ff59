package gitlab_test

// Tests of GitLab behaviour the API docs leave out: which 400s are races,
// protected branches, membership_state and silently dropped labels.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gitlab.com/platform/bluegreen/internal/gitlab"
	"gitlab.com/platform/bluegreen/internal/gitlab/gitlabtest"
	"gitlab.com/platform/bluegreen/internal/outcome"
)

// Only GitLab's three messages about a branch that moved under the commit
// (lib/api/commits.rb answers every Files::MultiService error with 400) are
// races worth a re-read; any other 400 is a request GitLab will refuse
// again, so it is a configuration error that keeps GitLab's words.
func TestCreateCommit_OnlyRaceMessagesAreConflicts(t *testing.T) {
	t.Parallel()
	cases := []struct {
		message  string
		conflict bool
	}{
		{"A file with this name already exists", true},
		{"A file with this name doesn't exist", true},
		{"The file has changed since you started editing it: deploy/a.yaml", true},
		{"You are attempting to update a file `deploy/a.yaml` that has changed since you started editing it.", true},
		{"Your changes could not be committed, because the file path is invalid", false},
		{"You can only create or edit files when you are on a branch", false},
		{"Your push has been rejected, because this repository has exceeded its size limit", false},
	}
	for _, tc := range cases {
		t.Run(tc.message, func(t *testing.T) {
			t.Parallel()
			srv := gitlabtest.New(t, gitlabtest.WithToken(token))
			srv.Handle("POST /projects/{project}/repository/commits", gitlabtest.Error(http.StatusBadRequest, tc.message))
			_, err := newClient(t, srv.URL(), &sleeps{}, 4).CreateCommit(context.Background(), "platform/gitops", "main", "m",
				[]gitlab.FileAction{{Action: "create", Path: "deploy/a.yaml", Content: []byte("a: 1\n")}})
			if err == nil {
				t.Fatal("no error")
			}
			if got := errors.Is(err, gitlab.ErrConflict); got != tc.conflict {
				t.Errorf("errors.Is(ErrConflict) = %v, want %v: %v", got, tc.conflict, err)
			}
			if !tc.conflict {
				if k := outcome.KindOf(err); k != outcome.Usage {
					t.Errorf("kind = %v, want usage: %v", k, err)
				}
				if !strings.Contains(err.Error(), tc.message) {
					t.Errorf("err = %v, want GitLab's message %q", err, tc.message)
				}
			}
		})
	}
}

func TestCreateCommit_ProtectedBranchNamesThePushRole(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	git := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@example.com"}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	git("init", "-q", "-b", "main")
	git("commit", "-q", "--allow-empty", "-m", "init")
	for _, tc := range []struct {
		name string
		role int
		ok   bool
	}{{"developer is refused", gitlabtest.Developer, false}, {"maintainer pushes", gitlabtest.Maintainer, true}} {
		t.Run(tc.name, func(t *testing.T) {
			srv := gitlabtest.New(t, gitlabtest.WithToken(token))
			repo := srv.Repository("platform/gitops", dir, gitlabtest.ProtectBranch("main", gitlabtest.Maintainer, tc.role))
			repo.Branch.Spare()
			repo.Tree.Spare()
			_, err := newClient(t, srv.URL(), &sleeps{}, 4).CreateCommit(context.Background(), "platform/gitops", "main", "m",
				[]gitlab.FileAction{{Action: "create", Path: tc.name + ".yaml", Content: []byte("a: 1\n")}})
			if tc.ok {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, gitlab.ErrDenied) || outcome.KindOf(err) != outcome.Usage {
				t.Fatalf("err = %v (kind %v), want ErrDenied, usage", err, outcome.KindOf(err))
			}
			for _, want := range []string{"You are not allowed to push into this branch", "Maintainer", "Allowed to push"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("err = %v, want %q", err, want)
				}
			}
			if strings.Contains(err.Error(), "read_api") {
				t.Errorf("err = %v, should not send the user to read_api", err)
			}
		})
	}
}

// Files::MultiService compares an update's or delete's last_commit_id with
// the newest commit that touched the file on the branch, and refuses the
// commit when they differ; an action without one is not checked.
func TestCreateCommit_StaleLastCommitIsAConflict(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	git := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@example.com"}, args...)...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git("init", "-q", "-b", "main")
	for _, c := range []string{"a: 1", "a: 2"} {
		if err := os.WriteFile(filepath.Join(dir, "a.yaml"), []byte(c+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		git("add", "-A")
		git("commit", "-q", "-m", c)
	}
	older, newest := git("rev-parse", "HEAD~1"), git("rev-parse", "HEAD")
	srv := gitlabtest.New(t, gitlabtest.WithToken(token))
	repo := srv.Repository("platform/gitops", dir)
	repo.Branch.Spare()
	repo.Tree.Spare()
	c := newClient(t, srv.URL(), &sleeps{}, 4)
	n := 2
	commit := func(action, last string) error {
		n++
		_, err := c.CreateCommit(context.Background(), "platform/gitops", "main", "m",
			[]gitlab.FileAction{{Action: action, Path: "a.yaml", Content: []byte(fmt.Sprintf("a: %d\n", n)), LastCommit: last}})
		return err
	}
	for _, action := range []string{"update", "delete"} {
		err := commit(action, older)
		if !errors.Is(err, gitlab.ErrConflict) || !strings.Contains(err.Error(), "The file has changed since you started editing it: a.yaml") {
			t.Errorf("%s with a stale last_commit_id: err = %v, want ErrConflict with GitLab's message", action, err)
		}
	}
	if got := git("rev-parse", "HEAD"); got != newest {
		t.Fatalf("a refused commit moved the branch to %s", got)
	}
	if err := commit("update", newest); err != nil {
		t.Fatalf("update with the file's last commit: %v", err)
	}
	if err := commit("update", ""); err != nil {
		t.Fatalf("update without last_commit_id: %v", err)
	}
}

// GitLab's member entity sends the account's state in "state" and the
// membership's in "membership_state": a member awaiting a seat has an
// active account.
func TestGroupMember_AwaitingSeatIsNotActive(t *testing.T) {
	t.Parallel()
	srv := gitlabtest.New(t, gitlabtest.WithToken(token))
	srv.GroupMember("platform/release-managers", gitlabtest.Member{ID: 7, Username: "alice", State: "active", MembershipState: "awaiting", AccessLevel: gitlab.AccessMaintainer})
	m, err := newClient(t, srv.URL(), &sleeps{}, 4).GroupMember(context.Background(), "platform/release-managers", 7)
	if err != nil {
		t.Fatal(err)
	}
	if m.MembershipState != "awaiting" || m.State != "active" {
		t.Errorf("member = %+v, want account active, membership awaiting", m)
	}
	if m.Active() {
		t.Errorf("a member awaiting a seat counts as approved: %+v", m)
	}
	if p := srv.Requests()[0].Path; p != "/api/v4/groups/platform/release-managers/members/all/7" {
		t.Errorf("path = %s", p)
	}
}

func TestMember_WithoutMembershipStateIsJudgedOnTheAccountState(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		m    gitlab.Member
		want bool
	}{
		{gitlab.Member{State: "active", AccessLevel: gitlab.AccessDeveloper}, true},
		{gitlab.Member{State: "blocked", AccessLevel: gitlab.AccessDeveloper}, false},
		{gitlab.Member{State: "active", MembershipState: "awaiting", AccessLevel: gitlab.AccessDeveloper}, false},
		{gitlab.Member{State: "active", MembershipState: "active", AccessLevel: gitlab.AccessDeveloper}, true},
	} {
		if got := tt.m.Active(); got != tt.want {
			t.Errorf("%+v: Active() = %v, want %v", tt.m, got, tt.want)
		}
	}
}

// GitLab answers 201 to a Guest's new issue but drops its labels; the next
// drift run, which finds its issue by label, would then open another.
func TestCreateIssue_DroppedLabelsNameTheRole(t *testing.T) {
	t.Parallel()
	srv := gitlabtest.New(t, gitlabtest.WithToken(token))
	fake := srv.Issues("platform/shop", gitlabtest.IssueCreate)
	fake.List.Spare()
	fake.TokenRole = gitlabtest.Guest
	_, err := newClient(t, srv.URL(), &sleeps{}, 4).CreateIssue(context.Background(), "platform/shop",
		gitlab.NewIssue{Title: "drift: production", Labels: []string{"bluegreen-drift"}})
	if outcome.KindOf(err) != outcome.Usage || !strings.Contains(err.Error(), "Reporter") || !strings.Contains(err.Error(), "bluegreen-drift") {
		t.Errorf("err = %v (kind %v), want a usage error naming the label and the role", err, outcome.KindOf(err))
	}
	if all := fake.All(); len(all) != 1 || len(all[0].Labels) != 0 {
		t.Errorf("fake issues = %+v, want one, without labels", all)
	}
}
