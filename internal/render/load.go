package render

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"gitlab.com/platform/bluegreen/internal/outcome"
)

// Object is one manifest and where it came from.
type Object struct {
	*unstructured.Unstructured
	Source Source
}

// Source locates an object in the input, for error messages.
type Source struct {
	File string // as given, relative to the manifests path when it is a folder
	Doc  int    // 1-based document index in a multi-document file
}

func (s Source) String() string {
	if s.Doc > 0 {
		return fmt.Sprintf("%s (document %d)", s.File, s.Doc)
	}
	return s.File
}

// ref names an object in messages: "Deployment/podinfo".
func (o *Object) ref() string { return o.GetKind() + "/" + o.GetName() }

// kustomizationNames are the file names kustomize accepts.
var kustomizationNames = []string{"kustomization.yaml", "kustomization.yml", "Kustomization"}

// Load reads the app's manifests from path: one multi-document YAML file, a
// folder of YAML files (read recursively, in lexical order), or a folder with
// a kustomization, which is built with the kustomize API. Errors are usage
// errors that name the file and document.
func Load(path string) ([]*Object, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, outcome.Usagef("manifests %s: %w", path, err)
	}
	if !info.IsDir() {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, outcome.Usagef("manifests %s: %w", path, err)
		}
		return Parse(filepath.Base(path), b)
	}
	for _, name := range kustomizationNames {
		if _, err := os.Stat(filepath.Join(path, name)); err == nil {
			return loadKustomization(path, name)
		}
	}
	return loadFolder(path)
}

func loadKustomization(dir, name string) ([]*Object, error) {
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	resources, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return nil, outcome.Usagef("kustomization %s: %w", filepath.Join(dir, name), err)
	}
	b, err := resources.AsYaml()
	if err != nil {
		return nil, outcome.Usagef("kustomization %s: %w", filepath.Join(dir, name), err)
	}
	objs, err := Parse(name+" (kustomize build)", b)
	if err != nil {
		return nil, err
	}
	return objs, nil
}

func loadFolder(dir string) ([]*Object, error) {
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p != dir && strings.HasPrefix(d.Name(), ".") {
			return filepath.SkipDir
		}
		switch strings.ToLower(filepath.Ext(p)) {
		case ".yaml", ".yml", ".json":
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return nil, outcome.Usagef("manifests %s: %w", dir, err)
	}
	if len(files) == 0 {
		return nil, outcome.Usagef("manifests %s: no .yaml, .yml or .json files", dir)
	}
	sort.Strings(files)
	var all []*Object
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, outcome.Usagef("manifests %s: %w", f, err)
		}
		rel, _ := filepath.Rel(dir, f)
		objs, err := Parse(filepath.ToSlash(rel), b)
		if err != nil {
			return nil, err
		}
		all = append(all, objs...)
	}
	return all, nil
}

// Parse splits a YAML or JSON stream into objects. Empty documents are
// skipped; a `kind: List` is expanded into its items. Every object must have
// apiVersion, kind and metadata.name.
func Parse(file string, data []byte) ([]*Object, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var objs []*Object
	for doc := 1; ; doc++ {
		raw, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		src := Source{File: file, Doc: doc}
		if err != nil {
			return nil, outcome.Usagef("%s: %w", src, err)
		}
		got, err := parseDoc(src, raw)
		if err != nil {
			return nil, err
		}
		objs = append(objs, got...)
	}
	return objs, nil
}

func parseDoc(src Source, raw []byte) ([]*Object, error) {
	if len(bytes.TrimSpace(stripComments(raw))) == 0 {
		return nil, nil
	}
	js, err := yaml.YAMLToJSON(raw)
	if err != nil {
		return nil, outcome.Usagef("%s: not valid YAML: %w", src, err)
	}
	if bytes.Equal(bytes.TrimSpace(js), []byte("null")) {
		return nil, nil
	}
	if js = bytes.TrimSpace(js); len(js) == 0 || js[0] != '{' {
		return nil, outcome.Usagef("%s: a manifest must be a mapping with apiVersion, kind and metadata", src)
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(js); err != nil {
		return nil, outcome.Usagef("%s: %s", src, describeDecodeError(err))
	}
	if u.IsList() {
		list, err := u.ToList()
		if err != nil {
			return nil, outcome.Usagef("%s: items: %w", src, err)
		}
		var objs []*Object
		for i := range list.Items {
			item := &list.Items[i]
			if err := checkIdentity(src, item); err != nil {
				return nil, err
			}
			objs = append(objs, &Object{Unstructured: item, Source: src})
		}
		return objs, nil
	}
	if err := checkIdentity(src, u); err != nil {
		return nil, err
	}
	return []*Object{{Unstructured: u, Source: src}}, nil
}

func checkIdentity(src Source, u *unstructured.Unstructured) error {
	switch {
	case u.GetAPIVersion() == "":
		return outcome.Usagef("%s: field apiVersion is missing", src)
	case u.GetKind() == "":
		return outcome.Usagef("%s: field kind is missing", src)
	case u.GetName() == "":
		return outcome.Usagef("%s: %s: field metadata.name is missing", src, u.GetKind())
	}
	return nil
}

// describeDecodeError turns the decoder's complaint into one line. The
// unstructured decoder reports a missing kind as "Object 'Kind' is missing".
func describeDecodeError(err error) string {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "'Kind' is missing"):
		return "field kind is missing"
	case strings.Contains(msg, "'apiVersion' is missing"):
		return "field apiVersion is missing"
	}
	return msg
}

// stripComments drops whole-line YAML comments, so that a document holding
// only comments counts as empty.
func stripComments(b []byte) []byte {
	var out bytes.Buffer
	for _, line := range bytes.Split(b, []byte("\n")) {
		if t := bytes.TrimSpace(line); len(t) > 0 && t[0] == '#' {
			continue
		}
		out.Write(line)
		out.WriteByte('\n')
	}
	return out.Bytes()
}
