package gitops

import (
	"context"
	"net/http"
	"os/exec"
	"strings"
	"testing"

	"gitlab.com/platform/bluegreen/internal/config"
	"gitlab.com/platform/bluegreen/internal/gitlab"
	"gitlab.com/platform/bluegreen/internal/gitlab/gitlabtest"
	"gitlab.com/platform/bluegreen/internal/testenv"
)

const token = "glpat-gitops-test"

func setup(t *testing.T, opts ...gitlabtest.RepoOption) (*testenv.GitRepo, *gitlabtest.Repo, *gitlab.Client) {
	t.Helper()
	repo := testenv.NewGitRepo(t)
	repo.Commit(t, "init", map[string]string{
		"env/app/green/old.yaml": "old: true\n", "env/app/green/keep.yaml": "keep: 1\n",
		"env/app/blue/live.yaml": "live: true\n", "env/other/file.yaml": "x: 1\n",
	})
	srv := gitlabtest.New(t, gitlabtest.WithToken(token))
	fake := srv.Repository("g/ops", repo.Dir(), opts...)
	c, err := gitlab.New(gitlab.Options{URL: srv.URL(), Token: config.Secret(token)})
	if err != nil {
		t.Fatal(err)
	}
	return repo, fake, c
}

func show(t *testing.T, dir, rev string) string {
	t.Helper()
	out, err := exec.Command("git", "-C", dir, "show", rev).CombinedOutput()
	if err != nil {
		t.Fatalf("git show %s: %v: %s", rev, err, out)
	}
	return string(out)
}

func TestApply_OwnsFoldersWritesOutsideFilesAndIsIdempotent(t *testing.T) {
	t.Parallel()
	repo, fake, c := setup(t)
	change := Change{
		Project: "g/ops", Branch: "main", Message: "deploy",
		Owned: []string{"env/app/green"},
		Files: []File{
			{Path: "env/app/green/keep.yaml", Data: []byte("keep: 1\n")},    // unchanged
			{Path: "env/app/green/new.yaml", Data: []byte("new: true\n")},   // created
			{Path: "env/app/shared/svc.yaml", Data: []byte("svc: green\n")}, // outside: created
		},
		Pause: func(context.Context, int) error { return nil },
	}
	res, err := Apply(context.Background(), c, change)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range res.Actions {
		got = append(got, a.Action+" "+a.Path)
	}
	want := "create env/app/green/new.yaml,create env/app/shared/svc.yaml,delete env/app/green/old.yaml"
	if strings.Join(got, ",") != want {
		t.Fatalf("actions %v, want %s", got, want)
	}
	if !strings.Contains(show(t, repo.Dir(), res.Revision+":env/app/blue/live.yaml"), "live: true") ||
		!strings.Contains(show(t, repo.Dir(), res.Revision+":env/other/file.yaml"), "x: 1") {
		t.Fatal("a file outside the change was touched")
	}
	again, err := Apply(context.Background(), c, change)
	if err != nil {
		t.Fatal(err)
	}
	if again.Committed() || again.Revision != res.Revision {
		t.Fatalf("re-run committed again: %+v", again)
	}
	if fake.Commits.Hits() != 1 {
		t.Fatalf("%d commits, want 1", fake.Commits.Hits())
	}
}

func TestApply_StopsAfterTooManyServerErrors(t *testing.T) {
	t.Parallel()
	fail := gitlabtest.Error(http.StatusBadGateway, "")
	_, fake, c := setup(t, gitlabtest.FailCommits(fail, fail, fail, fail))
	tries := 0
	_, err := Apply(context.Background(), c, Change{
		Project: "g/ops", Branch: "main", Message: "m", Files: []File{{Path: "a.yaml", Data: []byte("a")}},
		Pause: func(context.Context, int) error { tries++; return nil },
	})
	if err == nil || !strings.Contains(err.Error(), "502") {
		t.Fatalf("err = %v, want the 502", err)
	}
	if fake.Commits.Hits() != maxTries || tries != maxTries-1 {
		t.Fatalf("%d commits and %d pauses, want %d and %d", fake.Commits.Hits(), tries, maxTries, maxTries-1)
	}
}
