package drift

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"gitlab.com/platform/bluegreen/internal/gitops"
	"gitlab.com/platform/bluegreen/internal/outcome"
)

// Repo is the GitOps repository through the GitLab API: drift reads the
// apps' folders at the branch head, and --fix commits through gitops.Apply.
type Repo = gitops.Repo

// gitFile is one manifest file of an app's GitOps folder.
type gitFile struct {
	path  string // from the repository root
	group string // blue, green or shared: the first folder below the app's
	data  []byte
	objs  []*unstructured.Unstructured
}

// gitApp is an app's GitOps folder at the head that was read.
type gitApp struct {
	folder string
	files  []gitFile
	err    error
}

// gitObject is one object in git with the file that holds it.
type gitObject struct {
	obj  *unstructured.Unstructured
	file *gitFile
}

func (g *gitApp) objects() []gitObject {
	var out []gitObject
	for i := range g.files {
		for _, o := range g.files[i].objs {
			out = append(out, gitObject{obj: o, file: &g.files[i]})
		}
	}
	return out
}

// has reports whether git holds an object of kind (and group) and name.
func (g *gitApp) has(group, kind, name string) bool {
	for _, o := range g.objects() {
		if o.obj.GroupVersionKind().Group == group && o.obj.GetKind() == kind && o.obj.GetName() == name {
			return true
		}
	}
	return false
}

// gitWidth bounds the concurrent GitLab requests of one run.
const gitWidth = 8

// readGit reads every app's folder at ref: one tree listing per folder,
// then every manifest file, gitWidth requests at a time.
func readGit(ctx context.Context, repo Repo, project, ref string, folders map[string]string) map[string]*gitApp {
	apps := make([]string, 0, len(folders))
	for app := range folders {
		apps = append(apps, app)
	}
	sort.Strings(apps)
	out := map[string]*gitApp{}
	for _, app := range apps {
		out[app] = &gitApp{folder: folders[app]}
	}
	parallel(len(apps), gitWidth, func(i int) {
		g := out[apps[i]]
		tree, err := repo.Tree(ctx, project, ref, g.folder)
		if err != nil {
			g.err = outcome.As(outcome.External, fmt.Errorf("read %s at %s: %w", g.folder, short(ref), err))
			return
		}
		for _, f := range tree {
			if isManifest(f.Path) {
				g.files = append(g.files, gitFile{path: f.Path, group: groupOf(g.folder, f.Path)})
			}
		}
		sort.Slice(g.files, func(a, b int) bool { return g.files[a].path < g.files[b].path })
	})
	type job struct {
		g *gitApp
		i int
	}
	var jobs []job
	for _, app := range apps {
		for i := range out[app].files {
			jobs = append(jobs, job{out[app], i})
		}
	}
	var mu sync.Mutex
	parallel(len(jobs), gitWidth, func(k int) {
		g, f := jobs[k].g, &jobs[k].g.files[jobs[k].i]
		data, err := repo.File(ctx, project, ref, f.path)
		if err == nil {
			f.data = data
			f.objs, err = parseManifests(data)
		}
		if err != nil {
			mu.Lock()
			g.err = errors.Join(g.err, outcome.As(outcome.External, fmt.Errorf("read %s at %s: %w", f.path, short(ref), err)))
			mu.Unlock()
		}
	})
	return out
}

func isManifest(p string) bool {
	return strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml") || strings.HasSuffix(p, ".json")
}

// groupOf is the first folder of p below the app's folder.
func groupOf(folder, p string) string {
	rel := strings.TrimPrefix(p, strings.TrimSuffix(folder, "/")+"/")
	if i := strings.IndexByte(rel, '/'); i > 0 {
		return rel[:i]
	}
	return ""
}

// parseManifests decodes a YAML (or JSON) file of one or more objects.
func parseManifests(data []byte) ([]*unstructured.Unstructured, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var out []*unstructured.Unstructured
	for {
		var m map[string]any
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("not YAML: %w", err)
		}
		if len(m) == 0 {
			continue
		}
		u := &unstructured.Unstructured{Object: m}
		if u.GetKind() == "" || u.GetAPIVersion() == "" || u.GetName() == "" {
			return nil, fmt.Errorf("an object without apiVersion, kind or name")
		}
		out = append(out, u)
	}
}

// gitKinds lists the kinds of every object in git, for the snapshot.
func gitKinds(apps map[string]*gitApp) []schema.GroupVersionKind {
	seen := map[schema.GroupVersionKind]bool{}
	var out []schema.GroupVersionKind
	for _, g := range apps {
		for _, o := range g.objects() {
			if k := o.obj.GroupVersionKind(); !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

// gitObjects is every object in the apps' folders.
func gitObjects(apps map[string]*gitApp) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, g := range apps {
		for _, o := range g.objects() {
			out = append(out, o.obj)
		}
	}
	return out
}

func short(sha string) string {
	if len(sha) > 8 {
		return sha[:8]
	}
	return sha
}
