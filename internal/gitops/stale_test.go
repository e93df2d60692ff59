package gitops

import (
	"context"
	"encoding/json"
	"os/exec"
	"sort"
	"strings"
	"testing"

	"gitlab.com/platform/bluegreen/internal/config"
	"gitlab.com/platform/bluegreen/internal/gitlab"
	"gitlab.com/platform/bluegreen/internal/gitlab/gitlabtest"
	"gitlab.com/platform/bluegreen/internal/testenv"
)

// Tests of another writer's push landing between Apply's read and its
// commit, as a shared GitOps repository sees it.

// once runs fn before the first commit request only.
func once(fn func()) gitlabtest.RepoOption {
	done := false
	return gitlabtest.BeforeCommit(func() {
		if !done {
			done = true
			fn()
		}
	})
}

func staleSetup(t *testing.T, push func(repo *testenv.GitRepo)) (*testenv.GitRepo, *gitlabtest.Server, *gitlabtest.Repo, *gitlab.Client) {
	t.Helper()
	repo := testenv.NewGitRepo(t)
	repo.Commit(t, "init", map[string]string{
		"env/app/green/old.yaml": "old: true\n", "env/app/green/keep.yaml": "keep: 1\n",
		"env/app/blue/live.yaml": "live: true\n",
	})
	srv := gitlabtest.New(t, gitlabtest.WithToken(token))
	fake := srv.Repository("g/ops", repo.Dir(), once(func() { push(repo) }))
	c, err := gitlab.New(gitlab.Options{URL: srv.URL(), Token: config.Secret(token)})
	if err != nil {
		t.Fatal(err)
	}
	return repo, srv, fake, c
}

func git(t *testing.T, repo *testenv.GitRepo, args ...string) string {
	t.Helper()
	out, err := exec.Command("git", append([]string{"-C", repo.Dir()}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v: %s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func tree(t *testing.T, repo *testenv.GitRepo, rev, dir string) string {
	t.Helper()
	files := strings.Fields(git(t, repo, "ls-tree", "--name-only", rev+":"+dir))
	sort.Strings(files)
	return strings.Join(files, ",")
}

// GitLab takes a commit that touches none of the files another push
// changed and makes it on that push, so a file the push added to an owned
// folder would survive it. Apply sees that the new commit's parent is not
// the head it read, checks again, and deletes the file in a second commit;
// Removed lists its objects for pruning like bluegreen's own.
func TestApply_AFileAddedToAnOwnedFolderMeanwhileIsDeleted(t *testing.T) {
	t.Parallel()
	const intruder = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: stray\n"
	var theirs string
	repo, _, fake, c := staleSetup(t, func(repo *testenv.GitRepo) {
		theirs = repo.Commit(t, "someone else", map[string]string{"env/app/green/stray.yaml": intruder})
	})
	change := Change{
		Project: "g/ops", Branch: "main", Message: "deploy", Owned: []string{"env/app/green"},
		Files: []File{
			{Path: "env/app/green/keep.yaml", Data: []byte("keep: 1\n")},
			{Path: "env/app/green/new.yaml", Data: []byte("new: true\n")},
		},
		Pause: func(context.Context, int) error { return nil },
	}
	res, err := Apply(context.Background(), c, change)
	if err != nil {
		t.Fatal(err)
	}
	if got := tree(t, repo, res.Revision, "env/app/green"); got != "keep.yaml,new.yaml" {
		t.Fatalf("env/app/green holds %s, want keep.yaml,new.yaml", got)
	}
	if n := fake.Commits.Hits(); n != 2 {
		t.Errorf("%d commits, want 2 (the change, then the stray file's delete)", n)
	}
	var got []string
	for _, a := range res.Actions {
		got = append(got, a.Action+" "+a.Path)
	}
	if want := "create env/app/green/new.yaml,delete env/app/green/old.yaml,delete env/app/green/stray.yaml"; strings.Join(got, ",") != want {
		t.Errorf("actions %v, want %s", got, want)
	}
	if log := git(t, repo, "log", "-1", "--format=%s", res.Revision+"~2"); !strings.Contains(log, "someone else") {
		t.Errorf("the other push is not below the two commits:\n%s", log)
	}
	removed, err := Removed(context.Background(), c, change, res)
	if err != nil {
		t.Fatal(err)
	}
	if names(removed) != "ConfigMap stray@env/app/green/stray.yaml" {
		t.Errorf("removed %q, want the stray ConfigMap (read at %s)", names(removed), theirs[:8])
	}
}

// An update carries the file's last commit as last_commit_id, so GitLab
// refuses it when someone changed the file since the read, as it refuses
// a create of a file that appeared. Apply then re-reads and commits on the
// new head: the other change is seen, never overwritten unread.
func TestApply_AnUpdateOfAFileChangedMeanwhileIsReread(t *testing.T) {
	t.Parallel()
	var theirs string
	repo, srv, fake, c := staleSetup(t, func(repo *testenv.GitRepo) {
		theirs = repo.Commit(t, "someone else", map[string]string{"env/app/green/keep.yaml": "keep: theirs\n"})
	})
	base := git(t, repo, "rev-parse", "HEAD")
	res, err := Apply(context.Background(), c, Change{
		Project: "g/ops", Branch: "main", Message: "deploy", Owned: []string{"env/app/green"},
		Files: []File{{Path: "env/app/green/keep.yaml", Data: []byte("keep: 2\n")}, {Path: "env/app/green/old.yaml", Data: []byte("old: true\n")}},
		Pause: func(context.Context, int) error { return nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := fake.Commits.Hits(); n != 2 {
		t.Fatalf("%d commit requests, want 2 (refused as stale, then made on the new head)", n)
	}
	var sent []string
	for _, r := range srv.Requests() {
		if r.Method != "POST" {
			continue
		}
		var body struct {
			Actions []struct {
				FilePath     string `json:"file_path"`
				LastCommitID string `json:"last_commit_id"`
			} `json:"actions"`
		}
		if err := json.Unmarshal(r.Body, &body); err != nil || len(body.Actions) != 1 {
			t.Fatalf("commit body %s: %v", r.Body, err)
		}
		sent = append(sent, body.Actions[0].LastCommitID)
	}
	if len(sent) != 2 || sent[0] != base || sent[1] != theirs {
		t.Errorf("last_commit_id sent %v, want the read file's commit %s, then the other writer's %s", sent, base[:8], theirs[:8])
	}
	if res.Base != theirs {
		t.Errorf("base %s, want the other writer's commit %s", res.Base, theirs[:8])
	}
	if got := show(t, repo.Dir(), res.Revision+":env/app/green/keep.yaml"); got != "keep: 2\n" {
		t.Errorf("keep.yaml = %q", got)
	}
}
