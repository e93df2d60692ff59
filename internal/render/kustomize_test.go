package render

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"gitlab.com/platform/bluegreen/internal/plan"
)

// countingServer serves a valid manifest on every path and counts requests,
// so that a test can prove nothing was fetched.
func countingServer(t *testing.T, tls bool) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		n.Add(1)
		_, _ = w.Write([]byte(webDeployment))
	})
	srv := httptest.NewUnstartedServer(h)
	if tls {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return srv, &n
}

func TestLoad_KustomizationRefusesRemoteReferencesBeforeFetching(t *testing.T) {
	t.Parallel()
	plain, plainHits := countingServer(t, false)
	tlsSrv, tlsHits := countingServer(t, true)
	u, s := plain.URL+"/deploy.yaml", tlsSrv.URL+"/deploy.yaml"
	sha := strings.Repeat("0123456789", 4)
	tests := []struct {
		name        string
		files       map[string]string // under the project; the manifests are app/
		allowRemote bool
		want        []string
	}{
		{"resource URL", map[string]string{"app/kustomization.yaml": "resources: [" + u + "]"}, false,
			[]string{"app/kustomization.yaml", "resources[0]", `"` + u + `"`, "remote reference", "--allow-remote"}},
		{"resource URL in a base", map[string]string{
			"app/kustomization.yaml":  "resources: [../base]",
			"base/kustomization.yaml": "resources: [deployment.yaml, " + u + "]",
			"base/deployment.yaml":    webDeployment,
		}, false, []string{"base/kustomization.yaml", "resources[1]", `"` + u + `"`}},
		{"deprecated bases", map[string]string{"app/kustomization.yaml": "bases: [" + u + "]"}, false, []string{"bases[0]", u}},
		{"component URL", map[string]string{"app/kustomization.yaml": "components: [" + u + "]"}, false, []string{"components[0]", u}},
		{"generator URL", map[string]string{"app/kustomization.yaml": "generators: [" + u + "]"}, false, []string{"generators[0]", u}},
		{"transformer URL", map[string]string{"app/kustomization.yaml": "transformers: [" + u + "]"}, false, []string{"transformers[0]", u}},
		{"validator URL", map[string]string{"app/kustomization.yaml": "validators: [" + u + "]"}, false, []string{"validators[0]", u}},
		{"patch URL", map[string]string{"app/kustomization.yaml": "patches: [{path: " + u + "}]"}, false, []string{"patches[0].path", u}},
		{"strategic merge patch URL", map[string]string{"app/kustomization.yaml": "patchesStrategicMerge: [" + u + "]"}, false, []string{"patchesStrategicMerge[0]", u}},
		{"JSON 6902 patch URL", map[string]string{"app/kustomization.yaml": "patchesJson6902: [{path: " + u + "}]"}, false, []string{"patchesJson6902[0].path", u}},
		{"CRD URL", map[string]string{"app/kustomization.yaml": "crds: [" + u + "]"}, false, []string{"crds[0]", u}},
		{"configuration URL", map[string]string{"app/kustomization.yaml": "configurations: [" + u + "]"}, false, []string{"configurations[0]", u}},
		{"replacement URL", map[string]string{"app/kustomization.yaml": "replacements: [{path: " + u + "}]"}, false, []string{"replacements[0].path", u}},
		{"openapi URL", map[string]string{"app/kustomization.yaml": "openapi: {path: " + u + "}"}, false, []string{"openapi.path", u}},
		{"generator file URL", map[string]string{"app/kustomization.yaml": "configMapGenerator: [{name: c, files: [conf=" + u + "]}]"}, false, []string{"configMapGenerator[0].files[0]", u}},
		{"generator env URL", map[string]string{"app/kustomization.yaml": "secretGenerator: [{name: c, envs: [" + u + "]}]"}, false, []string{"secretGenerator[0].envs[0]", u}},
		{"URL in a transformer's configuration", map[string]string{
			"app/kustomization.yaml": "resources: [deployment.yaml]\ntransformers: [patch.yaml]",
			"app/deployment.yaml":    webDeployment,
			"app/patch.yaml":         "apiVersion: builtin\nkind: PatchTransformer\nmetadata: {name: p}\npath: " + u + "\n",
		}, false, []string{"app/patch.yaml", "line 4", `"` + u + `" in a plugin configuration`, "remote reference"}},
		{"URL in an inline generator configuration", map[string]string{
			"app/kustomization.yaml": "generators:\n- |\n  apiVersion: builtin\n  kind: ConfigMapGenerator\n  metadata: {name: c}\n  files: [" + u + "]\n",
		}, false, []string{"generators[0]", "in a plugin configuration", u}},
		{"URL in a transformers folder", map[string]string{
			"app/kustomization.yaml":     "transformers: [../plugins]",
			"plugins/kustomization.yaml": "resources: [patch.yaml]",
			"plugins/patch.yaml":         "apiVersion: builtin\nkind: PatchTransformer\nmetadata: {name: p}\npath: " + u + "\n",
		}, false, []string{"plugins/patch.yaml", "in a plugin configuration", u}},
		{"git URL to the server", map[string]string{"app/kustomization.yaml": "resources:\n- git::" + plain.URL + "/org/repo.git//deploy?ref=" + sha}, false, []string{"resources[0]", "git::" + plain.URL}},
		{"allowed, but plain http", map[string]string{"app/kustomization.yaml": "resources:\n- " + u + "?ref=" + sha}, true, []string{"resources[0]", u, "plain http is refused"}},
		{"allowed, but not pinned", map[string]string{"app/kustomization.yaml": "resources: [" + s + "]"}, true, []string{"resources[0]", s, "not pinned"}},
		{"allowed, but pinned to a branch", map[string]string{"app/kustomization.yaml": "resources:\n- " + tlsSrv.URL + "/org/repo//deploy?ref=main"}, true, []string{`ref "main" is not pinned`}},
		{"allowed, but file://", map[string]string{"app/kustomization.yaml": "resources:\n- file:///etc/repo?ref=" + sha}, true, []string{"file:// is refused"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			project := t.TempDir()
			writeFiles(t, project, tt.files)
			_, err := Input{Path: filepath.Join(project, "app"), Root: project, AllowRemote: tt.allowRemote}.Load()
			wantRefusal(t, err, tt.want...)
		})
	}
	if n := plainHits.Load() + tlsHits.Load(); n != 0 {
		t.Errorf("the servers received %d requests; a refused reference must never be fetched", n)
	}
}

func TestLoad_KustomizationStaysInsideTheProject(t *testing.T) {
	t.Parallel()
	base := map[string]string{
		"secret.yaml":                          "apiVersion: v1\nkind: Secret\nmetadata: {name: stolen}\n",
		"project/base/kustomization.yaml":      "resources: [deployment.yaml]",
		"project/base/deployment.yaml":         webDeployment,
		"project/elsewhere/kustomization.yaml": "resources: [deployment.yaml]",
		"project/elsewhere/deployment.yaml":    webDeployment,
		"project/empty/README":                 "no kustomization here",
	}
	tests := []struct {
		name    string
		kust    string            // project/app/kustomization.yaml
		links   map[string]string // link under project/app -> target
		outside bool              // Root is project/app itself, not project
		want    []string          // empty: accepted
	}{
		{"a base in the project", "resources: [../base]", nil, false, nil},
		{"a base beside the manifests without a project folder", "resources: [../base]", nil, true, []string{"resources[0]", `"../base"`, "leaves its folder"}},
		{"a folder above the project", "resources: [../../../etc]", nil, false, []string{"app/kustomization.yaml", "resources[0]", `"../../../etc"`, "leaves its folder"}},
		{"a file above the project", "resources: [../../secret.yaml]", nil, false, []string{`"../../secret.yaml"`, "leaves its folder"}},
		{"an absolute path", "resources: [/etc/passwd]", nil, false, []string{`"/etc/passwd"`, "absolute path"}},
		{"a symlinked file leaving the project", "resources: [stolen.yaml]", map[string]string{"stolen.yaml": "../../secret.yaml"}, false, []string{`"stolen.yaml"`, "path escapes", "symlink must be relative"}},
		{"a symlinked folder leaving the project", "resources: [sub]", map[string]string{"sub": "../.."}, false, []string{`"sub"`, "path escapes"}},
		{"a symlinked folder inside the project", "resources: [sub]", map[string]string{"sub": "../elsewhere"}, false, nil},
		{"an absolute symlink", "resources: [abs.yaml]", map[string]string{"abs.yaml": "ABS/base/deployment.yaml"}, false, []string{`"abs.yaml"`, "symlink must be relative"}},
		{"a patch above the project", "resources: [../base]\npatches: [{path: ../../secret.yaml}]", nil, false, []string{"patches[0].path", "leaves its folder"}},
		{"a generator file above the project", "configMapGenerator: [{name: c, files: [pw=../../secret.yaml]}]", nil, false, []string{"configMapGenerator[0].files[0]", "leaves its folder"}},
		{"a generator env file above the project", "configMapGenerator: [{name: c, env: ../../secret.yaml}]", nil, false, []string{"configMapGenerator[0].envs[0]", "leaves its folder"}},
		{"a generator file source that is not key=path", "configMapGenerator: [{name: c, files: [a=b=c]}]", nil, false, []string{`"a=b=c" is not [key=]path`}},
		{"a component that is a file", "components: [../base/deployment.yaml]", nil, false, []string{"components[0]", "a component is a folder"}},
		{"a patch that is a folder", "resources: [../base]\npatches: [{path: ../base}]", nil, false, []string{"patches[0].path", "is a folder"}},
		{"a missing resource", "resources: [nope.yaml]", nil, false, []string{`"nope.yaml"`, "no such file"}},
		{"a folder without a kustomization", "resources: [../empty]", nil, false, []string{"project/empty", "folder has no kustomization"}},
		{"helm", "helmCharts: [{name: redis, repo: https://charts.example.com}]", nil, false, []string{"helmCharts are not supported"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			writeFiles(t, dir, base)
			writeFiles(t, dir, map[string]string{"project/app/kustomization.yaml": tt.kust})
			project, app := filepath.Join(dir, "project"), filepath.Join(dir, "project", "app")
			for link, target := range tt.links {
				target = strings.Replace(target, "ABS", project, 1)
				if err := os.Symlink(target, filepath.Join(app, link)); err != nil {
					t.Fatal(err)
				}
			}
			root := project
			if tt.outside {
				root = ""
			}
			objs, err := Input{Path: app, Root: root}.Load()
			if tt.want == nil {
				if err != nil || len(objs) != 1 {
					t.Fatalf("got %d objects, %v; want the one Deployment", len(objs), err)
				}
				return
			}
			wantRefusal(t, err, tt.want...)
		})
	}
	t.Run("manifests outside the project folder", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		writeFiles(t, dir, base)
		_, err := Input{Path: filepath.Join(dir, "project", "base"), Root: filepath.Join(dir, "project", "elsewhere")}.Load()
		wantRefusal(t, err, "outside the project folder")
	})
}

func TestLoad_KustomizationChecksItsFilesStrictly(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		files map[string]string
		want  []string
	}{
		{"a duplicate key in a resource", map[string]string{
			"kustomization.yaml": "resources: [deployment.yaml]",
			"deployment.yaml":    strings.Replace(webDeployment, "image: x", "image: x\n        image: y", 1),
		}, []string{"deployment.yaml", `key "image" is defined twice in spec.template.spec.containers[0]`}},
		{"a duplicate key in a patch file", map[string]string{
			"kustomization.yaml": "resources: [deployment.yaml]\npatches: [{path: patch.yaml}]",
			"deployment.yaml":    webDeployment,
			"patch.yaml":         "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {replicas: 1, replicas: 9}\n",
		}, []string{"patch.yaml", `key "replicas" is defined twice in spec`}},
		{"a billion laughs resource", map[string]string{
			"kustomization.yaml": "resources: [lol.yaml]",
			"lol.yaml":           billionLaughs(9),
		}, []string{"lol.yaml", "aliases are expanded"}},
		{"a billion laughs kustomization", map[string]string{
			"kustomization.yaml": strings.TrimPrefix(billionLaughs(9), "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: lol}\n"),
		}, []string{"kustomization.yaml", "aliases are expanded"}},
		{"a billion laughs inline patch", map[string]string{
			"kustomization.yaml": "resources: [deployment.yaml]\npatches:\n- patch: |\n" + indent(billionLaughs(9), "    "),
			"deployment.yaml":    webDeployment,
		}, []string{"patches[0].patch", "aliases are expanded"}},
		{"a duplicate key in an inline strategic merge patch", map[string]string{
			"kustomization.yaml": "resources: [deployment.yaml]\npatchesStrategicMerge:\n- |\n    kind: Deployment\n    kind: Service\n",
			"deployment.yaml":    webDeployment,
		}, []string{"patchesStrategicMerge[0]", `key "kind" is defined twice`}},
		{"a resource over MaxFileSize", map[string]string{
			"kustomization.yaml": "resources: [big.yaml]",
			"big.yaml":           strings.Repeat("#\n", MaxFileSize/2+1),
		}, []string{"big.yaml", "MaxFileSize"}},
		{"a field kustomize does not know", map[string]string{"kustomization.yaml": "resourcez: [a.yaml]"}, []string{"kustomization.yaml", "resourcez"}},
		{"two kustomization files", map[string]string{"kustomization.yaml": "resources: []", "Kustomization": "resources: []"}, []string{"holds both"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			writeFiles(t, dir, tt.files)
			_, err := Load(dir)
			wantRefusal(t, err, tt.want...)
		})
	}
}

func indent(s, prefix string) string {
	return prefix + strings.ReplaceAll(strings.TrimSuffix(s, "\n"), "\n", "\n"+prefix) + "\n"
}

// TestLoad_KustomizationBuildsFromItsCheckedFilesAsFromDisk proves that the
// in-memory copy of the walked files is complete: an overlay with a base,
// a patch file, an inline patch and generators builds to the same objects
// as kustomize reading the disk.
func TestLoad_KustomizationBuildsFromItsCheckedFilesAsFromDisk(t *testing.T) {
	t.Parallel()
	project := filepath.Join("testdata", "input", "kustomize-overlay")
	overlay := filepath.Join(project, "overlays", "prod")
	got, err := Input{Path: overlay, Root: project}.Load()
	if err != nil {
		t.Fatal(err)
	}
	res, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), overlay)
	if err != nil {
		t.Fatal(err)
	}
	b, err := res.AsYaml()
	if err != nil {
		t.Fatal(err)
	}
	want, err := Parse("kustomization.yaml (kustomize build)", b)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 || len(got) != len(want) {
		t.Fatalf("got %d objects, kustomize on disk %d; want 4 (Deployment, Service, two ConfigMaps)", len(got), len(want))
	}
	for i := range got {
		if !reflect.DeepEqual(got[i].Object, want[i].Object) || got[i].Source != want[i].Source {
			t.Errorf("object %d differs from kustomize on disk:\n%v\n%v", i, got[i].Object, want[i].Object)
		}
	}
	if _, err := Apply(Rules{App: "web", Image: "r.example.com/web:2", Live: plan.Blue}, got); err != nil {
		t.Errorf("rules: %v", err)
	}
}

func TestIsRemote_CoversWhatKustomizeFetches(t *testing.T) {
	t.Parallel()
	tests := []struct {
		ref    string
		remote bool
	}{
		{"https://raw.githubusercontent.com/org/repo/main/deploy.yaml", true},
		{"http://example.com/deploy.yaml", true},
		{"https:example.com/deploy.yaml", true},
		{"github.com/org/repo//deploy?ref=v1.0.0", true},
		{"GitHub.com/org/repo", true},
		{"github.com:org/repo", true},
		{"git@gitlab.com:org/repo.git//deploy", true},
		{"git::https://gitlab.com/org/repo.git", true},
		{"ssh://git@gitlab.com/org/repo.git", true},
		{"file:///srv/repo", true},
		{"s3::https://bucket/x", true},
		{"gitlab.com/org/repo?ref=main", true},
		{"deploy?version=1", true},
		{"../base", false},
		{"deployment.yaml", false},
		{"overlays/prod", false},
		{"gitlab.com/org/repo", false}, // kustomize reads this as a local folder
		{"a=b.yaml", false},
	}
	for _, tt := range tests {
		if got := isRemote(tt.ref); got != tt.remote {
			t.Errorf("isRemote(%q) = %v, want %v", tt.ref, got, tt.remote)
		}
	}
}

func TestPinned_NeedsACommitOrAVersionTag(t *testing.T) {
	t.Parallel()
	sha := strings.Repeat("ab", 20)
	tests := []struct {
		ref  string
		want string // "" for pinned
	}{
		{"github.com/org/repo//deploy?ref=" + sha, ""},
		{"https://github.com/org/repo//deploy?ref=v1.2.3", ""},
		{"https://github.com/org/repo//deploy?version=1.2.3-rc.1", ""},
		{"git@github.com:org/repo.git//deploy?ref=api/v0.21.2", ""},
		{"https://raw.githubusercontent.com/org/repo/" + sha + "/deploy.yaml", ""},
		{"ssh://git@gitlab.com/org/repo.git?ref=" + strings.Repeat("ab", 32), ""},
		{"github.com/org/repo//deploy?ref=main", `ref "main" is not pinned`},
		{"github.com/org/repo//deploy?ref=v1", `ref "v1" is not pinned`},
		{"github.com/org/repo//deploy?ref=" + sha[:39], "not pinned"},
		{"github.com/org/repo//deploy?ref=" + strings.ToUpper(sha), "not pinned"},
		{"github.com/org/repo//deploy", "not pinned"},
		{"https://raw.githubusercontent.com/org/repo/main/deploy.yaml", "not pinned"},
		{"http://example.com/org/repo?ref=" + sha, "plain http"},
		{"git::http://example.com/org/repo?ref=" + sha, "plain http"},
		{"file:///srv/repo?ref=" + sha, "file://"},
	}
	for _, tt := range tests {
		err := pinned(tt.ref)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("pinned(%q) = %v, want pinned", tt.ref, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("pinned(%q) = %v, want %q", tt.ref, err, tt.want)
		}
	}
}
