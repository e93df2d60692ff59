package render

import (
	"encoding/base64"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"gitlab.com/platform/bluegreen/internal/outcome"
	"gitlab.com/platform/bluegreen/internal/plan"
)

// webDeployment is a minimal Deployment named web whose pods are app=web.
const webDeployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: c
        image: x
`

// writeFiles creates each file (a slash path under dir) with its content.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for p, content := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// wantRefusal fails the test unless err is a usage error (exit 2) on one
// line that mentions every part of want.
func wantRefusal(t *testing.T, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("accepted; want an error with %q", want)
	}
	if outcome.Code(err) != 2 {
		t.Errorf("exit code %d, want 2 (bad input): %v", outcome.Code(err), err)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not mention %q", err, w)
		}
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error holds a raw newline: %q", err)
	}
}

func doc(format string, a ...any) string { return "---\n" + fmt.Sprintf(format, a...) + "\n" }

func TestApply_RefusesDerivedNamesTheApiserverWould(t *testing.T) {
	t.Parallel()
	long := func(n int) string { return strings.Repeat("a", n) }
	withName := strings.Replace(webDeployment, "name: web", "name: "+long(250), 1)
	withConfig := webDeployment + "        envFrom: [{configMapRef: {name: " + long(240) + "}}]\n"
	tests := []struct {
		name  string
		input string
		want  []string // empty: accepted
	}{
		{"coloured Deployment over 253", withName, []string{"Deployment/" + long(250), "invalid Deployment name (coloured)", "no more than 253"}},
		{"hashed ConfigMap over 253", withConfig + doc("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s}\ndata: {a: b}", long(240)),
			[]string{"ConfigMap/" + long(240), "invalid ConfigMap name (copied)", "no more than 253"}},
		{"coloured HPA over 253", webDeployment + doc("apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: %s}\nspec: {scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}, maxReplicas: 2}", long(250)),
			[]string{"HorizontalPodAutoscaler/" + long(250), "(retargeted)", "no more than 253"}},
		{"preview Service over 63", webDeployment + doc("apiVersion: v1\nkind: Service\nmetadata: {name: %s}\nspec: {selector: {app: web}}", long(56)),
			[]string{"Service/" + long(56), "56 characters; at most 55", long(56) + "-preview"}},
		{"preview Service of 63 exactly", webDeployment + doc("apiVersion: v1\nkind: Service\nmetadata: {name: %s}\nspec: {selector: {app: web}}", long(55)), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			objs, err := Parse("app.yaml", []byte(tt.input))
			if err != nil {
				t.Fatal(err)
			}
			_, err = Apply(Rules{App: "web", Image: "r.example.com/web:2", Live: plan.Blue}, objs)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("refused a valid name: %v", err)
				}
				return
			}
			wantRefusal(t, err, append(tt.want, "app.yaml")...)
		})
	}
}

// billionLaughs is a document of levels levels of ten aliases each.
func billionLaughs(levels int) string {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: lol}\nl0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n")
	for i := 1; i < levels; i++ {
		fmt.Fprintf(&b, "l%d: &l%d [%s]\n", i, i, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*l%d, ", i-1), 10), ", "))
	}
	fmt.Fprintf(&b, "spec: {x: *l%d}\n", levels-1)
	return b.String()
}

func TestParse_RefusesWhatIsTooLargeOrAmbiguous(t *testing.T) {
	t.Parallel()
	mib := 1 << 20
	cm := func(field, body string) string {
		return fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\n%s: {%s}\n", field, body)
	}
	secret := func(field, body string) string {
		return fmt.Sprintf("apiVersion: v1\nkind: Secret\nmetadata: {name: big}\n%s: {%s}\n", field, body)
	}
	var many strings.Builder
	for i := 0; i <= MaxObjects; i++ {
		many.WriteString(doc("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c%d}", i))
	}
	tests := []struct {
		name  string
		input string
		want  []string // empty: accepted
	}{
		{"file over MaxFileSize", strings.Repeat("#", MaxFileSize+1), []string{"MaxFileSize", "4194304"}},
		{"objects over MaxObjects", many.String(), []string{"document 1001", "more than 1000 objects (MaxObjects)"}},
		{"a List over MaxObjects", "apiVersion: v1\nkind: List\nitems:\n" + strings.Repeat("- {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}\n", MaxObjects+1),
			[]string{"items holds 1001 objects; at most 1000 (MaxObjects)"}},
		{"object over MaxObjectSize", strings.Replace(webDeployment, "name: web\n", "name: web\n  annotations: {a: "+strings.Repeat("x", MaxObjectSize)+"}\n", 1),
			[]string{"Deployment/web", "MaxObjectSize", "1572864"}},
		{"ConfigMap data over 1 MiB", cm("data", "a: "+strings.Repeat("x", mib+1)), []string{"ConfigMap/big", "binaryData and data", "MaxConfigData", "1048576"}},
		{"ConfigMap data over 1 MiB in two keys", cm("data", "a: "+strings.Repeat("x", mib/2)+", b: "+strings.Repeat("x", mib/2+1)), []string{"ConfigMap/big", "MaxConfigData"}},
		{"ConfigMap binaryData over 1 MiB decoded", cm("binaryData", "a: "+base64.StdEncoding.EncodeToString(make([]byte, mib+3))), []string{"ConfigMap/big", "MaxConfigData"}},
		{"ConfigMap of 1 MiB exactly", cm("data", "a: "+strings.Repeat("x", mib)), nil},
		{"Secret stringData over 1 MiB", secret("stringData", "a: "+strings.Repeat("x", mib+1)), []string{"Secret/big", "data and stringData", "MaxConfigData"}},
		{"Secret data over 1 MiB decoded", secret("data", "a: "+base64.StdEncoding.EncodeToString(make([]byte, mib+3))), []string{"Secret/big", "MaxConfigData"}},
		{"ConfigMap data not a string", cm("data", "port: 8080"), []string{"ConfigMap/big", `data["port"] is not a string`}},
		{"billion laughs", billionLaughs(9), []string{"document 1", "aliases are expanded", "MaxDocumentNodes"}},
		{"one big anchor aliased ten times", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\nx: &x " + strings.Repeat("y", mib) + "\nl: [*x, *x, *x, *x, *x, *x, *x, *x, *x]\n",
			[]string{"MaxDocumentSize"}},
		{"a few aliases", billionLaughs(2), nil},
		{"two million nodes", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\nx: [" + strings.Repeat("a,", MaxDocumentNodes+1) + "a]\n",
			[]string{"more than 1048576 nodes", "MaxDocumentNodes"}},
		{"a million nodes through aliases", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\nx: &x [" + strings.Repeat("0,", 1000) + "0]\ny: [" + strings.Repeat("*x,", 1100) + "*x]\n",
			[]string{"MaxDocumentNodes"}},
		{"duplicate key at the top", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\nkind: Secret\n", []string{`key "kind" is defined twice in the top-level mapping`, "line 4", "line 2"}},
		{"duplicate key in a container", strings.Replace(webDeployment, "image: x", "image: x\n        image: y", 1),
			[]string{`key "image" is defined twice in spec.template.spec.containers[0]`}},
		{"duplicate key in JSON", `{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "name": "b"}}`, []string{`key "name" is defined twice in metadata`}},
		{"duplicate key with a newline", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {\"a\\nb\": x, \"a\\nb\": y}\n", []string{`key "a\nb" is defined twice in data`}},
		{"a merge key may repeat keys", "apiVersion: v1\nkind: ConfigMap\nbase: &base {name: a}\nmetadata:\n  <<: *base\n  name: b\n", nil},
		{"apiVersion with two slashes", "apiVersion: a/b/c\nkind: ConfigMap\nmetadata: {name: a}\n", []string{`apiVersion "a/b/c" is not a group/version`}},
		{"containers not a list", strings.Replace(webDeployment, "containers:\n      - name: c\n        image: x", "containers: {name: c}", 1), []string{"Deployment/web", "spec.template.spec.containers is not a list"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse("app.yaml", []byte(tt.input))
			if tt.want == nil {
				if err != nil {
					t.Fatalf("refused valid input: %v", err)
				}
				return
			}
			wantRefusal(t, err, append(tt.want, "app.yaml")...)
		})
	}
}

func TestEncodeAndWrite_RefusePathsOutsideTheirGroups(t *testing.T) {
	t.Parallel()
	objs, err := Load(filepath.Join("testdata", "input", "checkout"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := Apply(Rules{App: "checkout", Image: "r.example.com/c:2", Container: "app", Live: plan.Blue}, objs)
	if err != nil {
		t.Fatal(err)
	}
	good, err := Encode(res)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		path string
		want string
	}{
		{"parent", "../plan.json", "leaves its folder"},
		{"through the group", "green/../../../evil.yaml", "leaves its folder"},
		{"absolute", "/etc/cron.d/evil", "leaves its folder"},
		{"another group", "other/x.yaml", "not inside green/, shared/"},
		{"the live colour's group", "blue/deployment-checkout-blue.yaml", "not inside green/, shared/"},
		{"not clean", "green//x.yaml", "not clean"},
		{"a file name too long", "green/" + strings.Repeat("a", MaxFileName) + ".yaml", "MaxFileName"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			bad := *good
			bad.Files = append([]File(nil), good.Files...)
			bad.Files[len(bad.Files)-1].Path = tt.path
			parent := t.TempDir()
			outDir := filepath.Join(parent, ".bluegreen")
			err := Write(outDir, &bad, &plan.Plan{App: "checkout"})
			wantRefusal(t, err, "rendered file", tt.want)
			if entries, _ := os.ReadDir(parent); len(entries) > 0 {
				t.Errorf("Write refused but wrote %s", entries[0].Name())
			}
		})
	}
	t.Run("Encode refuses a name that would leave the group", func(t *testing.T) {
		t.Parallel()
		u := &unstructured.Unstructured{}
		u.SetAPIVersion("v1")
		u.SetKind("ConfigMap")
		u.SetName("x/../../../plan")
		src := &Object{Unstructured: u, Source: Source{File: "cm.yaml", Doc: 1}}
		_, err := Encode(&Result{Target: plan.Green, Objects: []Rendered{{Obj: u, Group: SharedGroup, From: "ConfigMap/x", src: src}}})
		wantRefusal(t, err, "ConfigMap/x", "rendered file", "leaves its folder")
	})
}

// A name near the apiserver's 253 characters is a valid object: its file
// name is cut to MaxFileName with a hash of the whole, so two such names
// that differ only at the end still make two files.
func TestEncode_LongNamesFitAFileNameAndStayApart(t *testing.T) {
	t.Parallel()
	var objs []Rendered
	for _, end := range []string{"a", "b"} {
		u := &unstructured.Unstructured{}
		u.SetAPIVersion("v1")
		u.SetKind("ConfigMap")
		u.SetName(strings.Repeat("x", 252) + end)
		src := &Object{Unstructured: u, Source: Source{File: "cm.yaml", Doc: 1}}
		objs = append(objs, Rendered{Obj: u, Group: SharedGroup, From: "ConfigMap/x" + end, src: src})
	}
	out, err := Encode(&Result{Target: plan.Green, Objects: objs})
	if err != nil {
		t.Fatal(err)
	}
	a, b := out.Files[0].Path, out.Files[1].Path
	if a == b || !strings.HasPrefix(a, SharedGroup+"/configmap-xxx") || !strings.HasSuffix(a, ".yaml") {
		t.Fatalf("files %q and %q", a, b)
	}
	for _, f := range out.Files {
		if n := len(path.Base(f.Path)); n > MaxFileName {
			t.Errorf("file name %s is %d bytes, more than MaxFileName", f.Path, n)
		}
	}
	if got := out.Rendered().Objects[1]; got.File != b || got.Name != objs[1].Obj.GetName() {
		t.Errorf("the plan records %+v for the second object", got)
	}
	if got := fileName("configmap-shop"); got != "configmap-shop.yaml" {
		t.Errorf("a short name's file is %s, want kind-name.yaml", got)
	}
}

func TestWrite_DoesNotFollowASymlinkOutOfOut(t *testing.T) {
	t.Parallel()
	s, _ := newStage(t, filepath.Join("testdata", "input", "checkout"), Rules{App: "checkout", Image: "r.example.com/c:2", Container: "app", Live: plan.Blue})
	elsewhere := t.TempDir()
	writeFiles(t, elsewhere, map[string]string{"keep.txt": "mine"})
	if err := os.MkdirAll(s.OutDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(elsewhere, filepath.Join(s.OutDir, RenderedDir)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(elsewhere); len(entries) != 1 || entries[0].Name() != "keep.txt" {
		t.Errorf("the symlink's target changed: %v", entries)
	}
	if info, err := os.Lstat(filepath.Join(s.OutDir, RenderedDir)); err != nil || !info.IsDir() {
		t.Errorf("%s is not a real folder after the write: %v %v", RenderedDir, info, err)
	}
}

func TestLoad_FolderRefusesSymlinksThatLeaveIt(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		link   string // under the manifests folder
		target string // relative to the link's folder, or absolute
		want   []string
	}{
		{"a file outside", "evil.yaml", "../outside.yaml", []string{"symlink evil.yaml", "path escapes"}},
		{"a folder outside", "etc", "../..", []string{"symlink etc", "path escapes"}},
		{"a nested link outside", "sub/evil.yaml", "../../outside.yaml", []string{"symlink sub/evil.yaml"}},
		{"an absolute link", "abs.yaml", "ABS/deployment.yaml", []string{"symlink abs.yaml", "must be relative"}},
		{"a dangling link", "gone.yaml", "nowhere.yaml", []string{"symlink gone.yaml", "no such file"}},
		{"a file inside", "extra.yaml", ".hidden/extra.yaml", nil},
		{"a folder inside", "again", "sub", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			project := t.TempDir()
			dir := filepath.Join(project, "manifests")
			writeFiles(t, project, map[string]string{
				"outside.yaml":                 "apiVersion: v1\nkind: Secret\nmetadata: {name: stolen}\n",
				"manifests/deployment.yaml":    webDeployment,
				"manifests/sub/sa.yaml":        "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: web}\n",
				"manifests/.hidden/extra.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: extra}\n",
			})
			target := strings.Replace(tt.target, "ABS", dir, 1)
			if err := os.Symlink(target, filepath.Join(dir, filepath.FromSlash(tt.link))); err != nil {
				t.Fatal(err)
			}
			objs, err := Load(dir)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("refused a symlink inside the folder: %v", err)
				}
				if len(objs) > 3 {
					t.Errorf("read %d objects; a linked folder was followed", len(objs))
				}
				return
			}
			wantRefusal(t, err, append(tt.want, "manifests "+dir)...)
		})
	}
}

func TestLoad_BoundsFilesAndTheWholeInput(t *testing.T) {
	t.Parallel()
	comments := func(n int) string { return strings.Repeat("# padding padding padding padding\n", n/34) }
	t.Run("one file over MaxFileSize", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		writeFiles(t, dir, map[string]string{"deployment.yaml": webDeployment, "big.yaml": comments(MaxFileSize + 100)})
		_, err := Load(dir)
		wantRefusal(t, err, "big.yaml", "MaxFileSize")
		_, err = Load(filepath.Join(dir, "big.yaml"))
		wantRefusal(t, err, "big.yaml", "MaxFileSize")
	})
	t.Run("all files over MaxInputSize", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		files := map[string]string{"deployment.yaml": webDeployment}
		for i := 0; i < MaxInputSize/MaxFileSize+1; i++ {
			files[fmt.Sprintf("pad-%d.yaml", i)] = comments(MaxFileSize - 100)
		}
		writeFiles(t, dir, files)
		_, err := Load(dir)
		wantRefusal(t, err, "pad-", "MaxInputSize", "33554432")
	})
	t.Run("a file name with a control character", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		writeFiles(t, dir, map[string]string{"deployment.yaml": webDeployment, "a\x1b[2Jb.yaml": "# nothing\n"})
		_, err := Load(dir)
		wantRefusal(t, err, `"a\x1b[2Jb.yaml"`, "control character")
	})
}
