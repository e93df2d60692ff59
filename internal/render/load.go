package render

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/yaml"

	"gitlab.com/platform/bluegreen/internal/names"
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
		return fmt.Sprintf("%s (document %d)", quoteControl(s.File), s.Doc)
	}
	return quoteControl(s.File)
}

// ref names an object in messages: "Deployment/podinfo".
func (o *Object) ref() string { return o.GetKind() + "/" + o.GetName() }

// Input says where the app's manifests are and what they may reach.
type Input struct {
	// Path is one multi-document YAML file, a folder of YAML files (read
	// recursively, in lexical order), or a folder with a kustomization.
	Path string

	// Root is the project folder: every local file a kustomization uses
	// (an overlay's ../../base, say) must be inside it. Empty means the
	// kustomization's own folder.
	Root string

	// AllowRemote lets a kustomization use remote resources, bases and
	// components, each pinned to a commit or a version tag (see remote.go).
	// Without it a remote reference is refused before anything is fetched.
	AllowRemote bool
}

// Load reads the app's manifests from path, as Input{Path: path}.Load does.
func Load(path string) ([]*Object, error) { return Input{Path: path}.Load() }

// Load reads the manifests: one multi-document YAML file, a folder of YAML
// files, or a folder with a kustomization, which is built with the
// kustomize API. Every file and document is bounded (MaxFileSize,
// MaxInputSize, MaxDocumentSize, MaxObjects), and a folder's symlinks must
// stay inside it. Errors are usage errors that name the file and document.
func (in Input) Load() ([]*Object, error) {
	info, err := os.Stat(in.Path)
	if err != nil {
		return nil, outcome.Usagef("manifests %s: %w", in.Path, err)
	}
	b := &budget{}
	if !info.IsDir() {
		return loadFile(in.Path, b)
	}
	for _, name := range konfig.RecognizedKustomizationFileNames() {
		if _, err := os.Lstat(filepath.Join(in.Path, name)); err == nil {
			return in.loadKustomization(b)
		}
	}
	return loadFolder(in.Path, b)
}

// loadFile reads one file that was named on purpose, so it may be a symlink.
func loadFile(file string, b *budget) ([]*Object, error) {
	real, err := realPath(file)
	if err != nil {
		return nil, outcome.Usagef("manifests %s: %w", file, err)
	}
	root, err := os.OpenRoot(filepath.Dir(real))
	if err != nil {
		return nil, outcome.Usagef("manifests %s: %w", file, err)
	}
	defer root.Close()
	data, err := b.readFile(root.FS(), filepath.Base(real), "manifests "+file)
	if err != nil {
		return nil, err
	}
	return Parse(filepath.Base(file), data)
}

// loadFolder reads every .yaml, .yml and .json file under dir, through an
// os.Root, so that no symlink leads out of the folder. A symlink to a folder
// inside it is not followed: its files are read where they are.
func loadFolder(dir string, b *budget) ([]*Object, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, outcome.Usagef("manifests %s: %w", dir, err)
	}
	defer root.Close()
	var files []string
	err = fs.WalkDir(root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir():
			if p != "." && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		case isSymlink(d):
			info, err := root.Stat(p)
			if err != nil {
				return fmt.Errorf("symlink %s does not resolve inside the folder (a symlink must be relative and stay inside it): %w", quoteControl(p), err)
			}
			if info.IsDir() {
				return nil
			}
		}
		switch strings.ToLower(path.Ext(p)) {
		case ".yaml", ".yml", ".json":
			if err := names.RelPath(p); err != nil {
				return err
			}
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
		data, err := b.readFile(root.FS(), f, filepath.Join(dir, f))
		if err != nil {
			return nil, err
		}
		objs, err := Parse(f, data)
		if err != nil {
			return nil, err
		}
		if all = append(all, objs...); len(all) > MaxObjects {
			return nil, outcome.Usagef("manifests %s: more than %d objects (MaxObjects)", dir, MaxObjects)
		}
	}
	return all, nil
}

// Parse splits a YAML or JSON stream into objects. Empty documents are
// skipped; a `kind: List` is expanded into its items. Every document is
// checked strictly before it is converted (no key twice, MaxDocumentSize
// once aliases are expanded), and every object by checkObject: identity,
// size, container names and config data.
func Parse(file string, data []byte) ([]*Object, error) {
	if len(data) > MaxFileSize {
		return nil, outcome.Usagef("%s: file is larger than %d bytes (MaxFileSize)", Source{File: file}, MaxFileSize)
	}
	return parse(file, data)
}

// parse is Parse without the bound on the file, for kustomize's output.
func parse(file string, data []byte) ([]*Object, error) {
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
		if objs = append(objs, got...); len(objs) > MaxObjects {
			return nil, outcome.Usagef("%s: more than %d objects (MaxObjects)", src, MaxObjects)
		}
	}
	return objs, nil
}

func parseDoc(src Source, raw []byte) ([]*Object, error) {
	if len(bytes.TrimSpace(stripComments(raw))) == 0 {
		return nil, nil
	}
	if err := checkYAML(raw); err != nil {
		return nil, outcome.Usagef("%s: %w", src, err)
	}
	js, err := yaml.YAMLToJSON(raw)
	if err != nil {
		return nil, outcome.Usagef("%s: not valid YAML: %w", src, err)
	}
	if len(js) > MaxDocumentSize {
		return nil, outcome.Usagef("%s: document is larger than %d bytes as JSON (MaxDocumentSize)", src, MaxDocumentSize)
	}
	if bytes.Equal(bytes.TrimSpace(js), []byte("null")) {
		return nil, nil
	}
	if js = bytes.TrimSpace(js); len(js) == 0 || js[0] != '{' {
		return nil, outcome.Usagef("%s: a manifest must be a mapping with apiVersion, kind and metadata", src)
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(js); err != nil {
		return nil, outcome.Usagef("%s: %s", src, describeDecodeError(js, err))
	}
	if !u.IsList() {
		if err := checkObject(src, u, len(js)); err != nil {
			return nil, err
		}
		return []*Object{{Unstructured: u, Source: src}}, nil
	}
	list, err := u.ToList()
	if err != nil {
		return nil, outcome.Usagef("%s: items: %w", src, err)
	}
	if len(list.Items) > MaxObjects {
		return nil, outcome.Usagef("%s: items holds %d objects; at most %d (MaxObjects)", src, len(list.Items), MaxObjects)
	}
	var objs []*Object
	for i := range list.Items {
		item := &list.Items[i]
		b, err := item.MarshalJSON()
		if err != nil {
			return nil, outcome.Usagef("%s: items[%d]: %w", src, i, err)
		}
		if err := checkObject(src, item, len(b)); err != nil {
			return nil, err
		}
		objs = append(objs, &Object{Unstructured: item, Source: src})
	}
	return objs, nil
}

// describeDecodeError turns the decoder's complaint into one line. The
// unstructured decoder reports a missing kind, and an apiVersion it cannot
// parse, as "Object 'Kind' is missing", and quotes the whole document.
func describeDecodeError(js []byte, err error) string {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "'Kind' is missing"):
		var tm metav1.TypeMeta
		if json.Unmarshal(js, &tm) == nil && tm.Kind != "" && tm.APIVersion != "" {
			return fmt.Sprintf("field apiVersion %q is not a group/version or a version", tm.APIVersion)
		}
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
