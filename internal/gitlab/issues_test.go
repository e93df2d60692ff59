package gitlab_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gitlab.com/platform/bluegreen/internal/gitlab"
	"gitlab.com/platform/bluegreen/internal/gitlab/gitlabtest"
)

func TestIssues_CreateFindEditCloseReopenAndComment(t *testing.T) {
	t.Parallel()
	srv := gitlabtest.New(t, gitlabtest.WithToken(token))
	fake := srv.Issues("platform/shop", gitlabtest.IssueCreate, gitlabtest.IssueEdit, gitlabtest.IssueNote)
	fake.Seed(gitlabtest.TrackedIssue{Title: "unrelated", Labels: []string{"bug"}})
	c := newClient(t, srv.URL(), &sleeps{}, 4)
	ctx := context.Background()

	created, err := c.CreateIssue(ctx, "platform/shop", gitlab.NewIssue{Title: "bluegreen drift: production", Description: "two findings", Labels: []string{"bluegreen-drift", "ops"}})
	if err != nil {
		t.Fatal(err)
	}
	if created.IID != 2 || !created.Open() || !strings.HasSuffix(created.WebURL, "/platform/shop/-/issues/2") || created.CreatedAt.IsZero() {
		t.Fatalf("created = %+v", created)
	}
	found, err := c.Issues(ctx, "platform/shop", gitlab.IssueQuery{Labels: []string{"bluegreen-drift"}, Search: "drift: production", State: "all"})
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 1 || found[0].IID != 2 || found[0].Description != "two findings" || strings.Join(found[0].Labels, ",") != "bluegreen-drift,ops" {
		t.Fatalf("found = %+v", found)
	}
	desc := "one finding"
	if _, err := c.EditIssue(ctx, "platform/shop", 2, gitlab.IssueEdit{Description: &desc}); err != nil {
		t.Fatal(err)
	}
	if err := c.AddNote(ctx, "platform/shop", 2, "drift cleared"); err != nil {
		t.Fatal(err)
	}
	closed, err := c.EditIssue(ctx, "platform/shop", 2, gitlab.IssueEdit{StateEvent: "close"})
	if err != nil || closed.Open() || closed.State != "closed" {
		t.Fatalf("close: %+v, %v", closed, err)
	}
	open, err := c.Issues(ctx, "platform/shop", gitlab.IssueQuery{Labels: []string{"bluegreen-drift"}, State: "opened"})
	if err != nil || len(open) != 0 {
		t.Fatalf("open drift issues after close = %+v, %v", open, err)
	}
	reopened, err := c.EditIssue(ctx, "platform/shop", 2, gitlab.IssueEdit{StateEvent: "reopen"})
	if err != nil || !reopened.Open() {
		t.Fatalf("reopen: %+v, %v", reopened, err)
	}
	all := fake.All()
	if len(all) != 2 || all[1].Description != "one finding" || len(all[1].Notes) != 1 || all[1].Notes[0] != "drift cleared" || all[1].Edits != 3 {
		t.Errorf("fake state = %+v", all)
	}
	// The wire: labels go comma-joined in the query and in the body.
	for _, r := range srv.Requests() {
		if r.Method == "GET" && r.Query.Get("labels") != "" && r.Query.Get("labels") != "bluegreen-drift" {
			t.Errorf("labels query = %q", r.Query.Get("labels"))
		}
		if r.Method == "POST" && strings.HasSuffix(r.Path, "/issues") && !strings.Contains(string(r.Body), `"labels":"bluegreen-drift,ops"`) {
			t.Errorf("create body = %s", r.Body)
		}
	}
}

func TestIssues_ListsEveryPage(t *testing.T) {
	t.Parallel()
	srv := gitlabtest.New(t, gitlabtest.WithToken(token))
	fake := srv.Issues("7")
	for i := range 230 {
		fake.Seed(gitlabtest.TrackedIssue{Title: fmt.Sprintf("issue %d", i), Labels: []string{"bluegreen-drift"}})
	}
	got, err := newClient(t, srv.URL(), &sleeps{}, 4).Issues(context.Background(), "7", gitlab.IssueQuery{Labels: []string{"bluegreen-drift"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 230 || got[0].IID != 230 || got[229].IID != 1 {
		t.Fatalf("got %d issues, first #%d", len(got), got[0].IID)
	}
	if n := fake.List.Hits(); n != 3 {
		t.Errorf("list requests = %d, want 3 pages of 100", n)
	}
}

func TestIssues_CreateIsNotRetriedAfterAServerError(t *testing.T) {
	t.Parallel()
	srv := gitlabtest.New(t, gitlabtest.WithToken(token))
	srv.Handle("POST /projects/{project}/issues", gitlabtest.Error(502, ""))
	sl := &sleeps{}
	_, err := newClient(t, srv.URL(), sl, 4).CreateIssue(context.Background(), "7", gitlab.NewIssue{Title: "x"})
	if err == nil || len(sl.got()) != 0 || len(srv.Requests()) != 1 {
		t.Fatalf("err = %v, retries = %v: a create that may have landed must not be repeated", err, sl.got())
	}
}

func TestFile_ReadsAFileAtARef(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	git := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
		cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
			"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v: %s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	write := func(path, content string) {
		t.Helper()
		p := filepath.Join(dir, filepath.FromSlash(path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	git("init", "-q", "-b", "main")
	write("production/shop/blue/deployment-shop-blue.yaml", "replicas: 2\n")
	git("add", "-A")
	git("commit", "-q", "-m", "v1")
	first := git("rev-parse", "HEAD")
	write("production/shop/blue/deployment-shop-blue.yaml", "replicas: 0\n")
	git("commit", "-q", "-am", "v2")

	srv := gitlabtest.New(t, gitlabtest.WithToken(token))
	srv.RepositoryFiles("platform/gitops", dir)
	c := newClient(t, srv.URL(), &sleeps{}, 4)
	ctx := context.Background()
	for ref, want := range map[string]string{first: "replicas: 2\n", "main": "replicas: 0\n"} {
		got, err := c.File(ctx, "platform/gitops", ref, "production/shop/blue/deployment-shop-blue.yaml")
		if err != nil || string(got) != want {
			t.Errorf("at %s: %q, %v; want %q", ref, got, err, want)
		}
	}
	_, err := c.File(ctx, "platform/gitops", "main", "production/shop/green/nope.yaml")
	if !errors.Is(err, gitlab.ErrNotFound) {
		t.Errorf("missing file: err = %v, want ErrNotFound", err)
	}
	for _, r := range srv.Requests() {
		if !strings.HasPrefix(r.Path, "/api/v4/projects/platform/gitops/repository/files/production/shop/") {
			t.Errorf("path = %s", r.Path)
		}
	}
}

// An issue a Guest token created has no labels; OrTitle finds it by its
// exact title (GitLab's search matches words, so a longer title matches
// too and is dropped), after the labelled ones and without repeating them.
func TestIssues_OrTitleFindsTheIssueWhoseLabelsWereDropped(t *testing.T) {
	t.Parallel()
	srv := gitlabtest.New(t, gitlabtest.WithToken(token))
	fake := srv.Issues("7")
	fake.Seed(gitlabtest.TrackedIssue{Title: "bluegreen drift: production", State: "closed", Labels: []string{"bluegreen-drift"}})
	fake.Seed(gitlabtest.TrackedIssue{Title: "bluegreen drift: production"})
	fake.Seed(gitlabtest.TrackedIssue{Title: "bluegreen drift: production-eu"})
	fake.Seed(gitlabtest.TrackedIssue{Title: "notes", Description: "bluegreen drift: production"})
	got, err := newClient(t, srv.URL(), &sleeps{}, 4).Issues(context.Background(), "7",
		gitlab.IssueQuery{Labels: []string{"bluegreen-drift"}, State: "all", OrTitle: "bluegreen drift: production"})
	if err != nil {
		t.Fatal(err)
	}
	var iids []int64
	for _, i := range got {
		iids = append(iids, i.IID)
	}
	if fmt.Sprint(iids) != "[1 2]" {
		t.Errorf("issues %v, want [1 2]: the labelled one, then the one titled exactly", iids)
	}
	reqs := srv.Requests()
	if len(reqs) != 2 || reqs[1].Query.Get("in") != "title" || reqs[1].Query.Get("search") != "bluegreen drift: production" || reqs[1].Query.Get("labels") != "" {
		t.Errorf("requests %+v, want a second list by title alone", reqs)
	}
}
