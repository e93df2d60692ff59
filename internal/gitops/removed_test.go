package gitops

import (
	"context"
	"strings"
	"testing"

	"gitlab.com/platform/bluegreen/internal/config"
	"gitlab.com/platform/bluegreen/internal/gitlab"
	"gitlab.com/platform/bluegreen/internal/gitlab/gitlabtest"
	"gitlab.com/platform/bluegreen/internal/testenv"
)

const (
	hpaGreen = "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: web-green\n"
	cmOld    = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-green-0ld\n  namespace: shop\n"
	cmNew    = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-green-n3w\n  namespace: shop\n"
	depGreen = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web-green\n"
	twoDocs  = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s1\n---\n# a comment only\n---\napiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata:\n  name: web-green\n"
)

func removedSetup(t *testing.T) (*testenv.GitRepo, *gitlabtest.Repo, *gitlab.Client) {
	t.Helper()
	repo := testenv.NewGitRepo(t)
	repo.Commit(t, "release 1", map[string]string{
		"env/app/green/deployment.yaml": depGreen, "env/app/green/hpa.yaml": hpaGreen,
		"env/app/green/cm-old.yaml": cmOld, "env/app/green/extra.yaml": twoDocs,
		"env/app/green/notes.yaml": "just: data\n", "env/app/blue/hpa.yaml": strings.ReplaceAll(hpaGreen, "green", "blue"),
	})
	srv := gitlabtest.New(t, gitlabtest.WithToken(token))
	fake := srv.Repository("g/ops", repo.Dir())
	c, err := gitlab.New(gitlab.Options{URL: srv.URL(), Token: config.Secret(token)})
	if err != nil {
		t.Fatal(err)
	}
	return repo, fake, c
}

func names(objs []Object) string {
	var out []string
	for _, o := range objs {
		out = append(out, o.String()+"@"+o.File)
	}
	return strings.Join(out, ", ")
}

// The objects of every file a commit deletes below its owned folders are
// what it removed; an object that moved to a kept file did not go, and the
// live colour's folder is never looked at.
func TestRemoved_ListsTheObjectsOfDeletedFilesOnceAndNotMovedOnes(t *testing.T) {
	t.Parallel()
	_, fake, c := removedSetup(t)
	ctx := context.Background()
	change := Change{
		Project: "g/ops", Branch: "main", Message: "release 2", Owned: []string{"env/app/green"},
		Files: []File{
			{Path: "env/app/green/deployment.yaml", Data: []byte(depGreen)},
			{Path: "env/app/green/cm-new.yaml", Data: []byte(cmNew)},
			// The Secret moves into another file; the PDB goes.
			{Path: "env/app/green/secret.yaml", Data: []byte("apiVersion: v1\nkind: Secret\nmetadata:\n  name: s1\n")},
		},
	}
	res, err := Apply(ctx, c, change)
	if err != nil || !res.Committed() {
		t.Fatalf("apply: %+v, %v", res, err)
	}
	pins := fake.History.Hits() // Apply's last_commit_id reads
	got, err := Removed(ctx, c, change, res)
	if err != nil {
		t.Fatal(err)
	}
	want := "ConfigMap shop/web-green-0ld@env/app/green/cm-old.yaml, " +
		"HorizontalPodAutoscaler.autoscaling web-green@env/app/green/hpa.yaml, " +
		"PodDisruptionBudget.policy web-green@env/app/green/extra.yaml"
	if names(got) != want {
		t.Fatalf("removed:\n got %s\nwant %s", names(got), want)
	}
	if n := fake.History.Hits() - pins; n != 0 {
		t.Errorf("a fresh commit read the history %d times; its own deletions say it all", n)
	}

	// A re-run makes no commit, and finds the same removals through the
	// folder's history: the job that committed may have died before it
	// synced.
	again, err := Apply(ctx, c, change)
	if err != nil || again.Committed() {
		t.Fatalf("re-run: %+v, %v", again, err)
	}
	got, err = Removed(ctx, c, change, again)
	if err != nil {
		t.Fatal(err)
	}
	if names(got) != want {
		t.Fatalf("re-run removed:\n got %s\nwant %s", names(got), want)
	}
	if n := fake.History.Hits() - pins; n != 1 {
		t.Errorf("history read %d times, want once for the one owned folder", n)
	}
}

// Nothing is removed by a change that deletes nothing, nor by the first
// change of a folder that had no history.
func TestRemoved_NothingForAFirstReleaseOrAChangeThatDeletesNothing(t *testing.T) {
	t.Parallel()
	_, _, c := removedSetup(t)
	ctx := context.Background()
	first := Change{
		Project: "g/ops", Branch: "main", Message: "first", Owned: []string{"env/new/green"},
		Files: []File{{Path: "env/new/green/deployment.yaml", Data: []byte(depGreen)}},
	}
	for i := 0; i < 2; i++ { // the commit, then its re-run through the history
		res, err := Apply(ctx, c, first)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Removed(ctx, c, first, res)
		if err != nil || len(got) != 0 {
			t.Fatalf("try %d: removed %s, %v; want nothing", i, names(got), err)
		}
	}
	outside := Change{
		Project: "g/ops", Branch: "main", Message: "switch",
		Files: []File{{Path: "env/app/shared/svc.yaml", Data: []byte("apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n")}},
	}
	res, err := Apply(ctx, c, outside)
	if err != nil || !res.Committed() {
		t.Fatalf("apply: %+v, %v", res, err)
	}
	if got, err := Removed(ctx, c, outside, res); err != nil || len(got) != 0 {
		t.Fatalf("removed %s, %v; want nothing", names(got), err)
	}
}

func TestObjectsOf_SkipsWhatIsNotAnObject(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, data, want string
	}{
		{"two documents and a comment", twoDocs, "Secret s1, PodDisruptionBudget.policy web-green"},
		{"json", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c","namespace":"n"}}`, "ConfigMap n/c"},
		{"no kind", "apiVersion: v1\nmetadata:\n  name: x\n", ""},
		{"not yaml after the first", depGreen + "---\n: : [\n", "Deployment.apps web-green"},
		{"too large", strings.Repeat("#", maxManifest+1), ""},
	}
	for _, tt := range tests {
		var got []string
		for _, o := range objectsOf("f.yaml", []byte(tt.data)) {
			got = append(got, o.String())
		}
		if strings.Join(got, ", ") != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, strings.Join(got, ", "), tt.want)
		}
	}
}
