package render

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"gitlab.com/platform/bluegreen/internal/outcome"
	"gitlab.com/platform/bluegreen/internal/plan"
)

var update = flag.Bool("update", false, "rewrite golden files")

var fixedNow = func() time.Time { return time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC) }

func newStage(t *testing.T, manifests string, r Rules) (*Stage, *bytes.Buffer) {
	t.Helper()
	var out bytes.Buffer
	return &Stage{
		Rules:     r,
		Manifests: manifests,
		OutDir:    filepath.Join(t.TempDir(), ".bluegreen"),
		Reader:    staticReader{},
		Out:       &out,
		Log:       slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now:       fixedNow,
	}, &out
}

// staticReader answers a fixed live colour, or fails the test if used.
type staticReader struct {
	color plan.Color
	err   error
	calls *int
}

func (s staticReader) LiveColor(_ context.Context, _, _ string) (plan.Color, error) {
	if s.calls != nil {
		*s.calls++
	}
	if s.color == "" && s.err == nil {
		return "", errors.New("unexpected cluster read")
	}
	return s.color, s.err
}

// tree returns every file under dir as one text, in path order.
func tree(t *testing.T, dir string) string {
	t.Helper()
	var paths []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			paths = append(paths, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(paths)
	var b strings.Builder
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(dir, p)
		b.WriteString("=== " + filepath.ToSlash(rel) + "\n")
		b.Write(data)
	}
	return b.String()
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs from the golden file; run `go test ./internal/render -update` and review the diff.\n--- got:\n%s", name, got)
	}
}

func TestRender_Golden(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		manifests string
		rules     Rules
	}{
		{"podinfo-first-release", "podinfo-kustomize", Rules{App: "podinfo", Image: "ghcr.io/stefanprodan/podinfo:6.9.0", Live: plan.None}},
		{"podinfo-blue-live", "podinfo-kustomize", Rules{App: "podinfo", Image: "ghcr.io/stefanprodan/podinfo:6.9.1", Live: plan.Blue}},
		{"checkout-green-live", "checkout", Rules{App: "checkout", Image: "registry.example.com/shop/checkout:2.0.0", Container: "app", Live: plan.Green}},
		{"microservices-frontend", "microservices-demo.yaml", Rules{App: "frontend", Image: "registry.example.com/demo/frontend:v2", Deployment: "frontend", Live: plan.Blue}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, out := newStage(t, filepath.Join("testdata", "input", tt.manifests), tt.rules)
			p, err := s.Run(context.Background())
			if err != nil {
				t.Fatalf("render: %v", err)
			}
			golden(t, tt.name+".yaml", tree(t, filepath.Join(s.OutDir, RenderedDir)))
			golden(t, tt.name+".log", strings.ReplaceAll(out.String(), s.OutDir, "$OUT"))
			env, err := os.ReadFile(filepath.Join(s.OutDir, plan.DotenvName))
			if err != nil {
				t.Fatal(err)
			}
			golden(t, tt.name+".env", string(env))
			if _, err := os.Stat(filepath.Join(s.OutDir, plan.FileName)); !os.IsNotExist(err) {
				t.Errorf("render saved plan.json itself (%v): the caller is its one writer", err)
			}
			if err := p.Save(s.OutDir); err != nil { // as cli does, and every later mode loads it
				t.Fatal(err)
			}
			saved, err := plan.Load(s.OutDir)
			if err != nil {
				t.Fatal(err)
			}
			if saved.Rendered.Digest != p.Rendered.Digest || saved.TargetColor != tt.rules.Live.Other() {
				t.Errorf("plan.json: digest %s target %s; want %s and %s", saved.Rendered.Digest, saved.TargetColor, p.Rendered.Digest, tt.rules.Live.Other())
			}
			if r, ok := saved.Last("render"); !ok || r.Outcome != "ok" {
				t.Errorf("plan ledger has no ok render entry: %+v", saved.Ledger)
			}
		})
	}
}

func TestRender_IsDeterministic(t *testing.T) {
	t.Parallel()
	var digests []string
	var trees []string
	for i := 0; i < 3; i++ {
		s, _ := newStage(t, filepath.Join("testdata", "input", "checkout"), Rules{App: "checkout", Image: "r.example.com/c:1", Container: "app", Live: plan.Blue})
		p, err := s.Run(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		digests = append(digests, p.Rendered.Digest)
		trees = append(trees, tree(t, filepath.Join(s.OutDir, RenderedDir)))
	}
	if digests[0] != digests[1] || digests[1] != digests[2] || trees[0] != trees[1] || trees[1] != trees[2] {
		t.Fatalf("three renders of the same input differ: %v", digests)
	}
}

func TestRender_ReadsLiveColourFromClusterOnlyWhenNotGiven(t *testing.T) {
	t.Parallel()
	calls := 0
	s, out := newStage(t, filepath.Join("testdata", "input", "podinfo-kustomize"), Rules{App: "podinfo", Image: "r.example.com/p:1"})
	s.Reader = staticReader{color: plan.Green, calls: &calls}
	p, err := s.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if calls != 1 || p.LiveColor != plan.Green || p.TargetColor != plan.Blue {
		t.Fatalf("calls=%d live=%s target=%s; want 1 read, live green, target blue", calls, p.LiveColor, p.TargetColor)
	}
	if !strings.Contains(out.String(), "live colour: green (from Service default/podinfo)") {
		t.Errorf("log does not say where the live colour came from:\n%s", out)
	}

	calls = 0
	s, _ = newStage(t, filepath.Join("testdata", "input", "podinfo-kustomize"), Rules{App: "podinfo", Image: "r.example.com/p:1", Live: plan.Blue})
	s.Reader = staticReader{color: plan.Green, calls: &calls}
	if _, err := s.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if calls != 0 {
		t.Fatalf("the cluster was read %d times although --live-color was given", calls)
	}
}

func TestRender_ClusterFailureIsExternalAndWritesNothing(t *testing.T) {
	t.Parallel()
	s, _ := newStage(t, filepath.Join("testdata", "input", "podinfo-kustomize"), Rules{App: "podinfo", Image: "r.example.com/p:1"})
	s.Reader = staticReader{err: outcome.Externalf("read Service default/podinfo: connection refused")}
	_, err := s.Run(context.Background())
	if outcome.Code(err) != 3 {
		t.Fatalf("err = %v (code %d), want exit 3", err, outcome.Code(err))
	}
	if _, statErr := os.Stat(s.OutDir); !os.IsNotExist(statErr) {
		t.Fatalf("output folder exists after a failed render: %v", statErr)
	}
}

func TestRender_RefusesBadInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		input string
		rules Rules
		want  []string // all must appear in the error
	}{
		{"unparsable yaml", "bad/unparsable.yaml", Rules{}, []string{"unparsable.yaml", "document 1", "not valid YAML"}},
		{"no deployment", "bad/no-deployment.yaml", Rules{}, []string{"no Deployment"}},
		{"two deployments", "bad/two-deployments.yaml", Rules{}, []string{"2 Deployments", "one, two", "--deployment"}},
		{"unknown --deployment", "bad/two-deployments.yaml", Rules{Deployment: "three"}, []string{"--deployment", `"three"`, "one, two"}},
		{"missing configmap", "bad/missing-configmap.yaml", Rules{}, []string{"missing-configmap.yaml", "Deployment/web", "spec.template.spec.containers[0].envFrom[0].configMapRef.name", `ConfigMap "web-config"`}},
		{"no kind", "bad/no-kind.yaml", Rules{}, []string{"no-kind.yaml", "kind is missing"}},
		{"no name", "bad/no-name.yaml", Rules{}, []string{"no-name.yaml", "metadata.name is missing"}},
		{"unknown container", "checkout", Rules{Container: "nope"}, []string{"--container", "Deployment/checkout", `"nope"`, "sidecar app"}},
		{"namespace conflict", "checkout", Rules{Namespace: "other"}, []string{"deployment.yaml", "metadata.namespace", `"shop"`, `"other"`}},
		// Hostile identities: checked with internal/names, the message escapes them.
		{"name is a path", "bad/configmap-path-name.yaml", Rules{}, []string{"configmap-path-name.yaml", "document 2", "ConfigMap", "metadata.name", `"x/../../blue/deployment-web-blue"`, "RFC 1123 subdomain"}},
		{"name with a newline", "bad/newline-name.yaml", Rules{}, []string{"newline-name.yaml", "ConfigMap", "metadata.name", `"web\nrendered 1 objects: all fine"`}},
		{"bad namespace", "bad/bad-namespace.yaml", Rules{}, []string{"bad-namespace.yaml", "ServiceAccount/web", "metadata.namespace", `"../shop"`}},
		{"bad kind", "bad/bad-kind.yaml", Rules{}, []string{"bad-kind.yaml", "document 2", `kind "../../Secret"`}},
		{"preview name too long", "bad/preview-too-long.yaml", Rules{}, []string{"preview-too-long.yaml", "Service/" + strings.Repeat("a", 56), "56 characters", "at most 55", "-preview"}},
		{"service port out of range", "bad/service-bad-port.yaml", Rules{}, []string{"service-bad-port.yaml", "Service/web", "spec.ports[1].port 99999", "1 to 65535"}},
		// Containers without a name.
		{"container without a name", "bad/container-no-name.yaml", Rules{}, []string{"container-no-name.yaml", "Deployment/web", "spec.template.spec.containers[1].name is missing"}},
		{"init container without a name", "bad/init-container-no-name.yaml", Rules{}, []string{"Deployment/web", "spec.template.spec.initContainers[0].name is missing"}},
		// Strict YAML.
		{"duplicate key", "bad/duplicate-key.yaml", Rules{}, []string{"duplicate-key.yaml", "document 1", `key "name" is defined twice in metadata`, "line 7", "line 5"}},
		{"alias bomb", "bad/alias-bomb.yaml", Rules{}, []string{"alias-bomb.yaml", "aliases are expanded", "MaxDocument"}},
		// Kustomizations: no fetch, nothing outside the project folder, strict YAML.
		{"kustomize remote base", "bad/kustomize-remote", Rules{}, []string{"kustomize-remote/kustomization.yaml", "resources[0]", `"github.com/stefanprodan/podinfo//kustomize?ref=master"`, "remote", "--allow-remote"}},
		{"kustomize resource outside the project", "bad/kustomize-escape", Rules{}, []string{"kustomize-escape/kustomization.yaml", "resources[0]", `"../../../etc"`, "leaves its folder"}},
		{"kustomize duplicate key", "bad/kustomize-duplicate-key", Rules{}, []string{"kustomize-duplicate-key/kustomization.yaml", `key "resources" is defined twice`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := tt.rules
			r.App, r.Image, r.Live = "web", "r.example.com/web:1", plan.Blue
			s, _ := newStage(t, filepath.Join("testdata", "input", tt.input), r)
			_, err := s.Run(context.Background())
			if err == nil {
				t.Fatal("render accepted bad input")
			}
			if outcome.Code(err) != 2 {
				t.Errorf("exit code %d, want 2 (%v)", outcome.Code(err), err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error holds a raw newline: %q", err)
			}
			if _, statErr := os.Stat(s.OutDir); !os.IsNotExist(statErr) {
				t.Errorf("output folder was written for bad input")
			}
		})
	}
}

func TestRender_ConfigHashFollowsContent(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(level string) string {
		data := strings.ReplaceAll(readFile(t, "testdata/input/bad/missing-configmap.yaml"), "", "") +
			"---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-config\ndata:\n  level: " + level + "\n"
		p := filepath.Join(dir, "m-"+level+".yaml")
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	name := func(path string) string {
		objs, err := Load(path)
		if err != nil {
			t.Fatal(err)
		}
		res, err := Apply(Rules{App: "web", Image: "r.example.com/w:1", Live: plan.Blue}, objs)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range res.Objects {
			if o.Obj.GetKind() == "ConfigMap" {
				return o.Obj.GetName()
			}
		}
		t.Fatal("no ConfigMap rendered")
		return ""
	}
	a, b, a2 := name(write("info")), name(write("debug")), name(write("info"))
	if a == b {
		t.Errorf("different content gave the same name %s", a)
	}
	if a != a2 {
		t.Errorf("same content gave different names %s and %s", a, a2)
	}
	if !strings.HasPrefix(a, "web-config-green-") || len(a) != len("web-config-green-")+10 {
		t.Errorf("name %q is not web-config-green-<10 hex>", a)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
