package render

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gitlab.com/platform/bluegreen/internal/names"
	"gitlab.com/platform/bluegreen/internal/plan"
)

// FuzzParse feeds arbitrary bytes to the manifest parser and, when they
// parse, to the rules and the encoder. None may panic; every refusal is one
// line; every parsed object has an identity the apiserver would accept; and
// every rendered file stays inside its group.
// Run: go test ./internal/render -run '^$' -fuzz FuzzParse -fuzztime 10s
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "input", "*", "*.yaml"))
	for _, s := range seeds {
		if b, err := os.ReadFile(s); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("kind: List\napiVersion: v1\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}\n"))
	f.Add([]byte("---\n# only a comment\n---\n"))
	f.Add([]byte(billionLaughs(9)))
	f.Fuzz(func(t *testing.T, data []byte) {
		objs, err := Parse("fuzz.yaml", data)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("a refusal holds a raw newline: %q", err)
			}
			return
		}
		if len(objs) > MaxObjects {
			t.Fatalf("parsed %d objects, more than MaxObjects", len(objs))
		}
		for _, o := range objs {
			if err := names.Object(o.GetKind(), o.GetName()); err != nil || o.GetAPIVersion() == "" {
				t.Fatalf("parsed an object without a valid identity (%v): %v", err, o.Object)
			}
			if ns := o.GetNamespace(); ns != "" && names.Namespace(ns) != nil {
				t.Fatalf("parsed an object with an invalid namespace %q", ns)
			}
		}
		res, err := Apply(Rules{App: "app", Image: "r.example.com/a:1", Live: plan.Blue}, objs)
		if err != nil {
			return
		}
		out, err := Encode(res)
		if err != nil {
			t.Fatalf("rules accepted input that cannot be encoded: %v", err)
		}
		for _, file := range out.Files {
			if err := names.Under(file.Path, groups(res.Target)...); err != nil {
				t.Fatalf("rendered file outside its group: %v", err)
			}
		}
	})
}

// FuzzKustomization feeds arbitrary bytes to the kustomization walk as the
// kustomization file of a folder beside a base, in a project folder, with
// remote references refused. Nothing may panic or reach the network (the
// test server counts), and every refusal is one line.
// Run: go test ./internal/render -run '^$' -fuzz FuzzKustomization -fuzztime 10s
func FuzzKustomization(f *testing.F) {
	for _, s := range []string{
		"resources: [../base]\n",
		"resources: [../base]\npatches: [{path: patch.yaml}, {patch: '[{op: add, path: /x, value: 1}]', target: {kind: Deployment}}]\n",
		"resources: [SERVER/deploy.yaml]\n",
		"resources:\n- github.com/org/repo//deploy?ref=main\n",
		"resources: [../../../etc]\n",
		"transformers: [patch.yaml]\nresources: [../base]\n",
		"generators:\n- |\n  apiVersion: builtin\n  kind: ConfigMapGenerator\n  metadata: {name: c}\n  files: [SERVER/x]\n",
		"configMapGenerator: [{name: c, files: [k=patch.yaml], envs: [../base/deployment.yaml]}]\n",
		"components: [../base]\n",
		strings.TrimPrefix(billionLaughs(9), "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: lol}\n"),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		srv, hits := countingServer(t, false)
		project := t.TempDir()
		writeFiles(t, project, map[string]string{
			"base/kustomization.yaml": "resources: [deployment.yaml]\n",
			"base/deployment.yaml":    webDeployment,
			"app/patch.yaml":          "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {replicas: 2}\n",
			"app/kustomization.yaml":  strings.ReplaceAll(string(data), "SERVER", srv.URL),
		})
		_, err := Input{Path: filepath.Join(project, "app"), Root: project}.Load()
		if n := hits.Load(); n > 0 {
			t.Fatalf("the walk let kustomize fetch %d times (err %v)", n, err)
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Fatalf("a refusal holds a raw newline: %q", err)
		}
	})
}
