package deploy

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gitlab.com/platform/bluegreen/internal/config"
	"gitlab.com/platform/bluegreen/internal/gitlab"
	"gitlab.com/platform/bluegreen/internal/gitlab/gitlabtest"
	"gitlab.com/platform/bluegreen/internal/gitops"
	"gitlab.com/platform/bluegreen/internal/outcome"
	"gitlab.com/platform/bluegreen/internal/plan"
	"gitlab.com/platform/bluegreen/internal/render"
	"gitlab.com/platform/bluegreen/internal/testenv"
)

const (
	project = "platform/gitops"
	token   = "glpat-sync-test-token"
)

// fakeArgo records calls; the real Argo CD is tested in argocd_real_test.go.
type fakeArgo struct {
	checkErr, syncErr, waitErr error
	synced                     []string
	removed                    [][]gitops.Object // per sync: what the change removed
}

func (f *fakeArgo) Check(context.Context, string) error { return f.checkErr }
func (f *fakeArgo) Sync(_ context.Context, _, rev string, removed []gitops.Object) ([]gitops.Object, error) {
	f.synced = append(f.synced, rev)
	f.removed = append(f.removed, removed)
	return removed, f.syncErr
}
func (f *fakeArgo) Wait(_ context.Context, _, _ string, _ func(string) bool, _ []gitops.Object, progress func(string)) error {
	progress("Synced at x Healthy")
	return f.waitErr
}

type fakePreview struct{ err error }

func (f fakePreview) Wait(_ context.Context, _, _ string, _ []string, _ plan.Color, progress func(string)) error {
	progress("proven")
	return f.err
}

type fakeLive struct{ c plan.Color }

func (f fakeLive) LiveColor(context.Context, string, string) (plan.Color, error) { return f.c, nil }

// renderTo renders the podinfo fixture into dir as render would.
func renderTo(t *testing.T, dir, image string, live plan.Color) *plan.Plan {
	t.Helper()
	s := &render.Stage{
		Rules:     render.Rules{App: "podinfo", Image: image, Live: live},
		Manifests: filepath.Join("..", "render", "testdata", "input", "podinfo-kustomize"),
		OutDir:    dir, Out: io.Discard, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: time.Now,
		Plan: plan.Plan{Environment: "production"},
	}
	p, err := s.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

type fixture struct {
	repo  *testenv.GitRepo
	srv   *gitlabtest.Server
	fake  *gitlabtest.Repo
	argo  *fakeArgo
	stage *Stage
	out   *bytes.Buffer
}

func newFixture(t *testing.T, opts ...gitlabtest.RepoOption) *fixture {
	t.Helper()
	repo := testenv.NewGitRepo(t)
	repo.Commit(t, "init", map[string]string{"README.md": "gitops\n", "other-app/shared/service.yaml": "kept: true\n"})
	srv := gitlabtest.New(t, gitlabtest.WithToken(token))
	fake := srv.Repository(project, repo.Dir(), opts...)
	gl, err := gitlab.New(gitlab.Options{URL: srv.URL(), Token: config.Secret(token), Retry: gitlab.Retry{Sleep: func(context.Context, time.Duration) error { return nil }}})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	argo := &fakeArgo{}
	return &fixture{repo: repo, srv: srv, fake: fake, argo: argo, out: &out, stage: &Stage{
		OutDir: t.TempDir(), Project: project, Branch: "main", Folder: "production/podinfo", App: "podinfo-production",
		Timeout: time.Minute, Repo: gl, ArgoCD: argo, Preview: fakePreview{}, Live: fakeLive{plan.None},
		Out: &out, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: time.Now,
		Pause: func(context.Context, int) error { return nil },
	}}
}

func (f *fixture) git(t *testing.T, args ...string) string {
	t.Helper()
	out, err := gitIn(f.repo.Dir(), args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSync_FirstReleaseCommitsOnceThenReRunIsIdempotent(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	p := renderTo(t, f.stage.OutDir, "r.example.com/podinfo:1", plan.None)
	var checkpoints []string // the revision the plan held at each checkpoint
	f.stage.Checkpoint = func() error {
		if p.GitOps == nil {
			checkpoints = append(checkpoints, "")
		} else {
			checkpoints = append(checkpoints, p.GitOps.Commit)
		}
		return p.Save(f.stage.OutDir)
	}
	if err := f.stage.Run(context.Background(), p); err != nil {
		t.Fatalf("sync: %v\n%s", err, f.out)
	}
	head := f.git(t, "rev-parse", "HEAD")
	if len(checkpoints) != 1 || checkpoints[0] != head {
		t.Errorf("checkpoints at %v, want one, after the commit %s was recorded", checkpoints, head)
	}
	if p.GitOps == nil || p.GitOps.Commit != head || p.ArgoCD.Revision != head || len(f.argo.synced) != 1 || f.argo.synced[0] != head {
		t.Fatalf("plan/argo not at the commit %s: gitops %+v argo %+v synced %v", head, p.GitOps, p.ArgoCD, f.argo.synced)
	}
	files := f.git(t, "ls-files", "production/podinfo")
	for _, want := range []string{"production/podinfo/blue/deployment-podinfo-blue.yaml", "production/podinfo/shared/service-podinfo.yaml", "production/podinfo/shared/service-podinfo-preview.yaml"} {
		if !strings.Contains(files, want) {
			t.Errorf("repo lacks %s:\n%s", want, files)
		}
	}
	msg := f.git(t, "log", "-1", "--format=%B")
	for _, want := range []string{"podinfo", "production", "blue", "r.example.com/podinfo:1"} {
		if !strings.Contains(msg, want) {
			t.Errorf("commit message lacks %q:\n%s", want, msg)
		}
	}
	if r, ok := p.Last(plan.Sync); !ok || r.Outcome != "ok" || r.Details["revision"] != head {
		t.Errorf("ledger: %+v", p.Ledger)
	}
	saved, err := plan.Load(f.stage.OutDir) // as the checkpoint left it
	if err != nil {
		t.Fatal(err)
	}
	if saved.GitOps == nil || saved.GitOps.Commit != head {
		t.Errorf("the checkpoint did not save the commit: %+v", saved.GitOps)
	}

	// A re-run (GitLab "retry") makes no commit and syncs the same revision.
	f.out.Reset()
	if err := f.stage.Run(context.Background(), saved); err != nil {
		t.Fatal(err)
	}
	if again := f.git(t, "rev-parse", "HEAD"); again != head {
		t.Errorf("re-run made a new commit %s", again)
	}
	if !strings.Contains(f.out.String(), "no new commit") || f.argo.synced[1] != head {
		t.Errorf("re-run: synced %v, log:\n%s", f.argo.synced, f.out)
	}
	if n := f.fake.Commits.Hits(); n != 1 {
		t.Errorf("%d commit requests, want 1", n)
	}
}

func TestSync_SecondReleaseTouchesOnlyTargetAndSharedFolders(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	p := renderTo(t, f.stage.OutDir, "r.example.com/podinfo:1", plan.None)
	if err := f.stage.Run(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	blueRev := f.git(t, "rev-parse", "HEAD")
	f.stage.Live = fakeLive{plan.Blue}
	p2 := renderTo(t, f.stage.OutDir, "r.example.com/podinfo:2", plan.Blue)
	if err := f.stage.Run(context.Background(), p2); err != nil {
		t.Fatal(err)
	}
	changed := f.git(t, "diff", "--name-status", blueRev, "HEAD")
	if strings.Contains(changed, "/blue/") || strings.Contains(changed, "other-app") {
		t.Errorf("second release touched blue's or another app's files:\n%s", changed)
	}
	if !strings.Contains(changed, "A\tproduction/podinfo/green/deployment-podinfo-green.yaml") {
		t.Errorf("green not created:\n%s", changed)
	}
}

func TestSync_StaleBaseIsRetriedOnTheNewHead(t *testing.T) {
	t.Parallel()
	var f *fixture
	pushed := false
	f = newFixture(t, gitlabtest.BeforeCommit(func() {
		if pushed {
			return
		}
		pushed = true // someone else creates a file this sync wants to create
		f.repo.Commit(t, "concurrent", map[string]string{"production/podinfo/blue/deployment-podinfo-blue.yaml": "someone: else\n", "unrelated.txt": "x\n"})
	}))
	p := renderTo(t, f.stage.OutDir, "r.example.com/podinfo:1", plan.None)
	if err := f.stage.Run(context.Background(), p); err != nil {
		t.Fatalf("sync: %v", err)
	}
	if n := f.fake.Commits.Hits(); n != 2 {
		t.Errorf("%d commit requests, want 2 (refused, then retried)", n)
	}
	content := f.git(t, "show", "HEAD:production/podinfo/blue/deployment-podinfo-blue.yaml")
	if !strings.Contains(content, "r.example.com/podinfo:1") {
		t.Errorf("retried commit did not write the rendered file:\n%s", content)
	}
	if log := f.git(t, "log", "--format=%s"); !strings.Contains(log, "concurrent") {
		t.Errorf("the concurrent commit was lost (forced?):\n%s", log)
	}
}

func TestSync_GitLabServerErrorIsRetried(t *testing.T) {
	t.Parallel()
	f := newFixture(t, gitlabtest.FailCommits(gitlabtest.Error(http.StatusBadGateway, "")))
	p := renderTo(t, f.stage.OutDir, "r.example.com/podinfo:1", plan.None)
	if err := f.stage.Run(context.Background(), p); err != nil {
		t.Fatalf("sync: %v", err)
	}
	if n := f.fake.Commits.Hits(); n != 2 || len(f.argo.synced) != 1 {
		t.Errorf("commits %d (want 2), syncs %d (want 1)", n, len(f.argo.synced))
	}
}

func TestSync_GitLabUnauthorizedIsAClearErrorAndNothingSyncs(t *testing.T) {
	t.Parallel()
	repo := testenv.NewGitRepo(t)
	repo.Commit(t, "init", map[string]string{"README.md": "x\n"})
	srv := gitlabtest.New(t, gitlabtest.WithToken("the-right-token"))
	gl, _ := gitlab.New(gitlab.Options{URL: srv.URL(), Token: config.Secret(token)})
	argo := &fakeArgo{}
	var out bytes.Buffer
	s := &Stage{OutDir: t.TempDir(), Project: project, Branch: "main", Folder: "p", App: "a", Timeout: time.Minute,
		Repo: gl, ArgoCD: argo, Preview: fakePreview{}, Live: fakeLive{plan.None}, Out: &out,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: time.Now}
	p := renderTo(t, s.OutDir, "r.example.com/podinfo:1", plan.None)
	err := s.Run(context.Background(), p)
	if outcome.Code(err) != 2 || !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "BG_GITLAB_TOKEN") {
		t.Fatalf("err = %v (exit %d), want exit 2 naming 401 and BG_GITLAB_TOKEN", err, outcome.Code(err))
	}
	if strings.Contains(err.Error(), token) || strings.Contains(out.String(), token) {
		t.Fatal("the token leaked into the error or the log")
	}
	if len(argo.synced) != 0 {
		t.Fatal("Argo CD was synced after a failed commit")
	}
}

// noCallStage is a stage whose GitLab fails the test on any request.
func noCallStage(t *testing.T, argo *fakeArgo, live plan.Color) *Stage {
	t.Helper()
	srv := gitlabtest.New(t, gitlabtest.WithToken(token))
	gl, err := gitlab.New(gitlab.Options{URL: srv.URL(), Token: config.Secret(token)})
	if err != nil {
		t.Fatal(err)
	}
	return &Stage{OutDir: t.TempDir(), Project: project, Branch: "main", Folder: "p", App: "a", Timeout: time.Minute,
		Repo: gl, ArgoCD: argo, Preview: fakePreview{}, Live: fakeLive{live}, Out: io.Discard,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: time.Now}
}

func TestSync_ArgoUnreachableLeavesNoCommit(t *testing.T) {
	t.Parallel()
	argo := &fakeArgo{checkErr: outcome.Externalf("dial tcp 127.0.0.1:1: connection refused")}
	s := noCallStage(t, argo, plan.None)
	p := renderTo(t, s.OutDir, "r.example.com/podinfo:1", plan.None)
	err := s.Run(context.Background(), p)
	if outcome.Code(err) != 3 || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("err = %v, want exit 3", err)
	}
	if len(argo.synced) != 0 || p.GitOps != nil {
		t.Fatal("synced or recorded a commit although Argo CD was unreachable")
	}
}

func TestSync_RefusesAPlanWhoseLiveColourChanged(t *testing.T) {
	t.Parallel()
	argo := &fakeArgo{}
	s := noCallStage(t, argo, plan.Green) // another pipeline promoted green since render
	p := renderTo(t, s.OutDir, "r.example.com/podinfo:2", plan.Blue)
	err := s.Run(context.Background(), p)
	if outcome.Code(err) != 1 || !strings.Contains(err.Error(), "another pipeline switched traffic") {
		t.Fatalf("err = %v, want exit 1", err)
	}
	if len(argo.synced) != 0 {
		t.Fatal("Argo CD was synced")
	}
}

func TestSync_RefusesRenderedFilesChangedAfterRender(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := renderTo(t, dir, "r.example.com/podinfo:1", plan.None)
	path := filepath.Join(dir, "rendered", "blue", "deployment-podinfo-blue.yaml")
	if err := os.WriteFile(path, []byte("tampered: true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := loadRendered(dir, p, "x")
	if outcome.Code(err) != 2 || !strings.Contains(err.Error(), "changed after render") {
		t.Fatalf("err = %v", err)
	}
}

func gitIn(dir string, args ...string) (string, error) {
	out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("git %v: %v: %s", args, err, out)
	}
	return strings.TrimSpace(string(out)), nil
}
