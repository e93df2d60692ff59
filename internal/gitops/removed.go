package gitops

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sort"
	"strings"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"gitlab.com/platform/bluegreen/internal/gitlab"
	"gitlab.com/platform/bluegreen/internal/outcome"
)

// Object names one Kubernetes object of a manifest file in the repository.
type Object struct {
	Group, Kind string
	Namespace   string // "" when the file names none: the Application's destination, or cluster-scoped
	Name        string
	File        string // the file that held it
}

func (o Object) String() string {
	kind := o.Kind
	if o.Group != "" {
		kind += "." + o.Group
	}
	if o.Namespace == "" {
		return kind + " " + o.Name
	}
	return kind + " " + o.Namespace + "/" + o.Name
}

func (o Object) key() string { return o.Group + "/" + o.Kind + "/" + o.Namespace + "/" + o.Name }

// maxManifest bounds one file that Removed reads: a larger one is not a
// manifest bluegreen wrote.
const maxManifest = 4 << 20

// Removed lists the objects that the change c, as Apply made it (res), took
// out of its owned folders, so that exactly those can be pruned: the objects
// of the files its commits deleted, read at each file's last commit before
// (a file someone else added under an owned folder while Apply ran is
// pruned like bluegreen's own). When Apply
// made no commit because the branch already held the content (a job re-run
// after it was killed or timed out), the change is, for each owned folder,
// the newest commit that touched it, and what it removed is read at that
// commit's parent. An object that a file of c still holds moved rather than
// went, and is not listed; neither is a document that does not parse as a
// Kubernetes object (Argo CD could not have applied it).
func Removed(ctx context.Context, r Repo, c Change, res Result) ([]Object, error) {
	type removal struct {
		ref   string
		paths []string
	}
	var rs []removal
	if res.Committed() {
		// A deleted file reads as it was at its last commit; without one
		// (a Result made by hand), at the base.
		for _, a := range res.Actions {
			if a.Action != "delete" {
				continue
			}
			ref := a.LastCommit
			if ref == "" {
				ref = res.Base
			}
			rs = append(rs, removal{ref, []string{a.Path}})
		}
	} else {
		for _, dir := range c.Owned {
			cm, ok, err := r.LastCommit(ctx, c.Project, res.Revision, dir)
			if err != nil {
				return nil, outcome.As(outcome.External, err)
			}
			if !ok || len(cm.Parents) == 0 {
				continue // the folder never existed before, or came with the first commit
			}
			actions, err := Actions(ctx, r, c.Project, cm.Parents[0], []string{dir}, filesUnder(c.Files, dir))
			if err != nil {
				return nil, outcome.As(outcome.External, err)
			}
			rs = append(rs, removal{cm.Parents[0], deleted(actions)})
		}
	}
	var out []Object
	for _, rm := range rs {
		for _, p := range rm.paths {
			data, err := r.File(ctx, c.Project, rm.ref, p)
			if errors.Is(err, gitlab.ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, outcome.As(outcome.External, err)
			}
			out = append(out, objectsOf(p, data)...)
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	kept := map[string]bool{}
	for _, f := range c.Files {
		for _, o := range objectsOf(f.Path, f.Data) {
			kept[o.key()] = true
		}
	}
	seen := map[string]bool{}
	gone := out[:0]
	for _, o := range out {
		if k := o.key(); !kept[k] && !seen[k] {
			seen[k] = true
			gone = append(gone, o)
		}
	}
	sort.Slice(gone, func(i, j int) bool { return gone[i].key() < gone[j].key() })
	return gone, nil
}

func deleted(actions []gitlab.FileAction) []string {
	var paths []string
	for _, a := range actions {
		if a.Action == "delete" {
			paths = append(paths, a.Path)
		}
	}
	return paths
}

func filesUnder(files []File, dir string) []File {
	var out []File
	for _, f := range files {
		if under(f.Path, []string{dir}) {
			out = append(out, f)
		}
	}
	return out
}

// objectsOf lists the objects of a YAML or JSON manifest file, one per
// document that names an apiVersion, a kind and a name.
func objectsOf(path string, data []byte) []Object {
	if len(data) > maxManifest {
		return nil
	}
	var out []Object
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for {
		var doc struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   struct {
				Name      string `json:"name"`
				Namespace string `json:"namespace"`
			} `json:"metadata"`
		}
		err := dec.Decode(&doc)
		if err == io.EOF {
			return out
		}
		if err != nil {
			return out // the rest of the file is not YAML bluegreen can read
		}
		if doc.APIVersion == "" || doc.Kind == "" || doc.Metadata.Name == "" {
			continue
		}
		group, _, found := strings.Cut(doc.APIVersion, "/")
		if !found {
			group = "" // the core group: "v1"
		}
		out = append(out, Object{Group: group, Kind: doc.Kind, Namespace: doc.Metadata.Namespace, Name: doc.Metadata.Name, File: path})
	}
}

// Describe lists objects for a log line, e.g.
// "HorizontalPodAutoscaler.autoscaling web-green, ConfigMap web-green-1a2b".
func Describe(objs []Object) string {
	names := make([]string, len(objs))
	for i, o := range objs {
		names[i] = o.String()
	}
	return strings.Join(names, ", ")
}
