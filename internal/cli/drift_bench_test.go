package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"gitlab.com/platform/bluegreen/internal/drift"
	"gitlab.com/platform/bluegreen/internal/gitlab"
	"gitlab.com/platform/bluegreen/internal/gitlab/gitlabtest"
	"gitlab.com/platform/bluegreen/internal/gitops"
	"gitlab.com/platform/bluegreen/internal/testenv"
)

// BenchmarkDrift100Apps times one `bluegreen drift` run over 100 apps in
// one namespace of the real apiserver (found by label, no --app), each with
// its GitOps folder behind the GitLab fake, as a ServiceAccount bound only to
// the shipped Role. Argo CD is left out: its Application reads run in
// parallel with git's and are measured by the drift tests.
//
//	go test ./internal/cli -run '^$' -bench BenchmarkDrift100Apps -benchtime 5x
func BenchmarkDrift100Apps(b *testing.B) {
	const apps = 100
	c := realEnv.Cluster(b)
	ns := c.Namespace(b)
	ctx := context.Background()
	repo := testenv.NewGitRepo(b)
	repo.Commit(b, "init", map[string]string{"README.md": "gitops\n"})
	srv := gitlabtest.New(b, gitlabtest.WithToken(gitlabToken))
	srv.Repository("platform/gitops", repo.Dir())
	base, err := os.ReadFile(filepath.Join(shopManifests(b), "app.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	setup := time.Now()
	var files []gitops.File
	var manifests bytes.Buffer
	for i := range apps {
		app := fmt.Sprintf("app%03d", i)
		dir, out := b.TempDir(), filepath.Join(b.TempDir(), "out")
		text := strings.ReplaceAll(strings.ReplaceAll(string(base), "shop", app), "replicas: 2", "replicas: 1")
		if err := os.WriteFile(filepath.Join(dir, "app.yaml"), []byte(text), 0o644); err != nil {
			b.Fatal(err)
		}
		env := map[string]string{"BG_APP": app, "BG_NAMESPACE": ns, "BG_OUT": out}
		if code, o, e := runCLI(b, env, "render", "--manifests", dir, "--image", "registry.example.com/"+app+":1", "--live-color", "none"); code != 0 {
			b.Fatalf("render %s: %d\n%s%s", app, code, o, e)
		}
		rendered := filepath.Join(out, "rendered")
		err := filepath.WalkDir(rendered, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			data, err := os.ReadFile(p)
			rel, _ := filepath.Rel(rendered, p)
			files = append(files, gitops.File{Path: "production/" + app + "/" + filepath.ToSlash(rel), Data: data})
			manifests.Write(append(data, []byte("\n---\n")...))
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	gl, err := gitlab.New(gitlab.Options{URL: srv.APIURL(), Token: gitlabToken})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := gitops.Apply(ctx, gl, gitops.Change{Project: "platform/gitops", Branch: "main", Message: "100 apps", Owned: []string{"production"}, Files: files}); err != nil {
		b.Fatal(err)
	}
	if err := c.Apply(ctx, ns, manifests.Bytes()); err != nil {
		b.Fatal(err)
	}
	waitAll := func() (bool, string) {
		ds, err := c.Client().AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err.Error()
		}
		ready := 0
		for _, d := range ds.Items {
			if d.Status.AvailableReplicas == 1 {
				ready++
			}
		}
		return ready == apps, fmt.Sprintf("%d of %d Deployments available", ready, apps)
	}
	for deadline := time.Now().Add(3 * time.Minute); ; time.Sleep(250 * time.Millisecond) {
		ok, state := waitAll()
		if ok {
			break
		}
		if time.Now().After(deadline) {
			b.Fatal(state)
		}
	}
	b.Logf("setup: %d apps, %d files rendered, committed, applied and Available in %s", apps, len(files), time.Since(setup).Round(time.Millisecond))

	env := map[string]string{
		"BG_NAMESPACE": ns, "BG_ENVIRONMENT": "production", "BG_OUT": filepath.Join(b.TempDir(), ".bluegreen"),
		"KUBECONFIG": roleKubeconfig(b, c, ns, "bluegreen"), "BG_GITLAB_API_URL": srv.APIURL(), "BG_GITLAB_TOKEN": gitlabToken,
		"BG_GITOPS_PROJECT": "platform/gitops", "BG_DRIFT_ISSUES_PROJECT": "none",
	}
	for i := 0; b.Loop(); i++ { // b.Loop runs the setup above once
		start := time.Now()
		code, out, errOut := runCLI(b, env, "drift")
		took := time.Since(start)
		if code != 0 {
			b.Fatalf("drift: exit %d\n%s%s", code, out, errOut)
		}
		var r drift.Report
		data, err := os.ReadFile(filepath.Join(env["BG_OUT"], drift.ReportFile))
		if err == nil {
			err = json.Unmarshal(data, &r)
		}
		if err != nil || len(r.Apps) != apps {
			b.Fatalf("report: %v, %d apps", err, len(r.Apps))
		}
		b.Logf("run %d: %d apps, %d checks in %s (cluster %d ms, git %d ms, total in stage %d ms)",
			i+1, len(r.Apps), len(r.Apps)*len(r.Apps[0].Checks), took.Round(time.Millisecond), r.Timings.Cluster, r.Timings.Git, r.Timings.Total)
	}
	b.ReportMetric(float64(apps), "apps/op")
}
