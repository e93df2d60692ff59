package render

import (
	"bytes"
	"fmt"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"
	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"gitlab.com/platform/bluegreen/internal/names"
	"gitlab.com/platform/bluegreen/internal/outcome"
)

// loadKustomization builds the kustomization in in.Path. It first walks
// the kustomization tree itself: every kustomization file, resource, base,
// component, patch, generator source and the like, refusing remote
// references (unless in.AllowRemote, and then only pinned ones) and local
// ones that leave the project folder, before kustomize reads or fetches
// anything. With no remote reference, kustomize then builds from an
// in-memory copy of exactly the files the walk checked.
func (in Input) loadKustomization(b *budget) ([]*Object, error) {
	w, start, err := newWalk(in, b)
	if err != nil {
		return nil, err
	}
	defer w.root.Close()
	if err := w.dir(start); err != nil {
		return nil, err
	}
	fsys, target := filesys.MakeFsOnDisk(), in.Path
	if len(w.remote) == 0 {
		if fsys, err = w.memFS(); err != nil {
			return nil, outcome.Usagef("kustomization %s: %w", in.Path, err)
		}
		target = filepath.Join(w.rootDir, filepath.FromSlash(start))
	}
	out, err := build(fsys, target)
	if err != nil {
		return nil, outcome.Usagef("kustomization %s: %s", in.Path, oneLine(err))
	}
	if len(out) > MaxInputSize {
		return nil, outcome.Usagef("kustomization %s: kustomize build gave more than %d bytes (MaxInputSize)", in.Path, MaxInputSize)
	}
	return parse(path.Base(w.kustFile[start])+" (kustomize build)", out)
}

// build runs kustomize build. A panic in kustomize on hostile input is an
// error like any other.
func build(fsys filesys.FileSystem, target string) (out []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("kustomize panicked: %v", r)
		}
	}()
	opts := krusty.MakeDefaultOptions() // files only from each kustomization's own root; plugins and helm off
	opts.LoadRestrictions = types.LoadRestrictionsRootOnly
	resources, err := krusty.MakeKustomizer(opts).Run(fsys, target)
	if err != nil {
		return nil, err
	}
	return resources.AsYaml()
}

// oneLine is kustomize's message on one line: kustomize may end it with a
// newline, or echo input that holds one.
func oneLine(err error) string { return quoteControl(strings.TrimSpace(err.Error())) }

// walk is one check of a kustomization tree.
type walk struct {
	in       Input
	root     *os.Root // the project folder: every local read goes through it
	rootDir  string   // its absolute path, symlinks resolved
	shown    string   // the project folder as given, for messages
	budget   *budget
	files    map[string][]byte // slash path under rootDir -> content: all kustomize may read
	kustFile map[string]string // kustomization folder -> its kustomization file
	seen     map[visit]bool    // kustomization folders walked
	plugin   bool              // walking generators, transformers or validators: files are plugin configurations
	remote   []string          // remote references allowed and pinned
}

// visit is a kustomization folder as the walk reached it: as resources, or
// as plugin configurations, whose files are checked for URLs too.
type visit struct {
	dir    string
	plugin bool
}

func newWalk(in Input, b *budget) (*walk, string, error) {
	dir, err := realPath(in.Path)
	if err != nil {
		return nil, "", outcome.Usagef("manifests %s: %w", in.Path, err)
	}
	w := &walk{in: in, rootDir: dir, shown: in.Path, budget: b, files: map[string][]byte{}, kustFile: map[string]string{}, seen: map[visit]bool{}}
	if in.Root != "" {
		if w.rootDir, err = realPath(in.Root); err != nil {
			return nil, "", outcome.Usagef("project folder %s: %w", in.Root, err)
		}
		w.shown = in.Root
	}
	start, err := filepath.Rel(w.rootDir, dir)
	if err != nil || !filepath.IsLocal(start) {
		return nil, "", outcome.Usagef("manifests %s is outside the project folder %s", in.Path, in.Root)
	}
	if w.root, err = os.OpenRoot(w.rootDir); err != nil {
		return nil, "", outcome.Usagef("project folder %s: %w", w.shown, err)
	}
	return w, filepath.ToSlash(start), nil
}

func realPath(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	return filepath.EvalSymlinks(abs)
}

// show is a path under the project folder as it appears in messages.
func (w *walk) show(rel string) string {
	return quoteControl(filepath.Join(w.shown, filepath.FromSlash(rel)))
}

// refKind is what a kustomization field may refer to.
type refKind int

const (
	fileOrDir     refKind = iota // resources, bases, generators: a YAML file or a kustomization folder
	dirOnly                      // components
	yamlFile                     // patches, CRDs, configurations, replacements, openapi
	dataFile                     // generator sources: any bytes
	inlineOnly                   // an inline patch: YAML, never a path
	kustomization                // a kustomization file, whose references are checked one by one
)

// reference is one path, URL or inline document a kustomization holds.
type reference struct {
	field    string // where it is, e.g. "patches[0].path"
	value    string
	kind     refKind
	inlineOK bool // the value may be inline YAML instead of a path, as kustomize allows there
	plugin   bool // what it reaches is a plugin configuration (generators, transformers, validators)
}

// references lists, in order, every field of kustomize's own
// types.Kustomization that holds a path, a URL or inline YAML.
func references(k *types.Kustomization) ([]reference, error) {
	var refs []reference
	list := func(field string, values []string, kind refKind, inlineOK, plugin bool) {
		for i, v := range values {
			refs = append(refs, reference{fmt.Sprintf("%s[%d]", field, i), v, kind, inlineOK, plugin})
		}
	}
	list("resources", k.Resources, fileOrDir, false, false)
	//lint:ignore SA1019 kustomize still reads the deprecated field, so it is walked too
	list("bases", k.Bases, fileOrDir, false, false)
	list("components", k.Components, dirOnly, false, false)
	list("generators", k.Generators, fileOrDir, true, true)
	list("transformers", k.Transformers, fileOrDir, true, true)
	list("validators", k.Validators, fileOrDir, true, true)
	list("crds", k.Crds, yamlFile, false, false)
	list("configurations", k.Configurations, yamlFile, false, false)
	//lint:ignore SA1019 kustomize still reads the deprecated field, so it is walked too
	for i, p := range k.PatchesStrategicMerge {
		refs = append(refs, reference{fmt.Sprintf("patchesStrategicMerge[%d]", i), string(p), yamlFile, true, false})
	}
	refs = append(refs, reference{field: "openapi.path", value: k.OpenAPI["path"], kind: yamlFile})
	patches := func(field string, ps []types.Patch) {
		for i, p := range ps {
			refs = append(refs,
				reference{field: fmt.Sprintf("%s[%d].path", field, i), value: p.Path, kind: yamlFile},
				reference{field: fmt.Sprintf("%s[%d].patch", field, i), value: p.Patch, kind: inlineOnly})
		}
	}
	patches("patches", k.Patches)
	//lint:ignore SA1019 kustomize still reads the deprecated field, so it is walked too
	patches("patchesJson6902", k.PatchesJson6902)
	for i, r := range k.Replacements {
		refs = append(refs, reference{field: fmt.Sprintf("replacements[%d].path", i), value: r.Path, kind: yamlFile})
	}
	sources := func(field string, g types.GeneratorArgs) error {
		for j, src := range g.FileSources {
			// "[key=]path", as kustomize's generators.ParseFileSource reads it.
			p := src
			if key, rest, ok := strings.Cut(src, "="); ok {
				if key == "" || rest == "" || strings.Contains(rest, "=") {
					return fmt.Errorf("%s.files[%d] %q is not [key=]path", field, j, src)
				}
				p = rest
			}
			refs = append(refs, reference{field: fmt.Sprintf("%s.files[%d]", field, j), value: p, kind: dataFile})
		}
		envs := g.EnvSources
		if g.EnvSource != "" {
			envs = append(envs, g.EnvSource)
		}
		list(field+".envs", envs, dataFile, false, false)
		return nil
	}
	for i, g := range k.ConfigMapGenerator {
		if err := sources(fmt.Sprintf("configMapGenerator[%d]", i), g.GeneratorArgs); err != nil {
			return nil, err
		}
	}
	for i, g := range k.SecretGenerator {
		if err := sources(fmt.Sprintf("secretGenerator[%d]", i), g.GeneratorArgs); err != nil {
			return nil, err
		}
	}
	return refs, nil
}

// dir walks the kustomization folder rel (slash-separated, under the
// project folder).
func (w *walk) dir(rel string) error {
	v := visit{rel, w.plugin}
	if w.seen[v] {
		return nil
	}
	w.seen[v] = true
	var file string
	for _, name := range konfig.RecognizedKustomizationFileNames() {
		p := path.Join(rel, name)
		if _, err := w.root.Lstat(p); err != nil {
			continue
		}
		if file != "" {
			return outcome.Usagef("%s: holds both %s and %s; kustomize accepts one", w.show(rel), path.Base(file), name)
		}
		file = p
	}
	if file == "" {
		return outcome.Usagef("%s: folder has no kustomization (%s)", w.show(rel), strings.Join(konfig.RecognizedKustomizationFileNames(), ", "))
	}
	w.kustFile[rel] = file
	data, err := w.read(file, kustomization)
	if err != nil {
		return err
	}
	var k types.Kustomization
	if err := k.Unmarshal(data); err != nil {
		return outcome.Usagef("%s: %w", w.show(file), err)
	}
	return w.fields(file, rel, &k)
}

// fields checks every reference of one kustomization.
func (w *walk) fields(file, dir string, k *types.Kustomization) error {
	if len(k.HelmCharts) > 0 || len(k.HelmChartInflationGenerator) > 0 || k.HelmGlobals != nil {
		return outcome.Usagef("%s: helmCharts are not supported: kustomize would run helm, which fetches charts", w.show(file))
	}
	refs, err := references(k)
	if err != nil {
		return outcome.Usagef("%s: %w", w.show(file), err)
	}
	for _, r := range refs {
		if r.value == "" {
			continue
		}
		was := w.plugin
		w.plugin = was || r.plugin
		err := w.ref(file, dir, r)
		w.plugin = was
		if err != nil {
			return err
		}
	}
	return nil
}

// ref checks one reference of the kustomization file, relative to the
// kustomization folder dir.
func (w *walk) ref(file, dir string, ref reference) error {
	r, kind := ref.value, ref.kind
	if kind == inlineOnly || ref.inlineOK && isInline(r) {
		return w.inline(file, ref.field, r)
	}
	at := fmt.Sprintf("%s: %s %q", w.show(file), ref.field, r)
	if isRemote(r) {
		return w.remoteRef(at, r)
	}
	if filepath.IsAbs(r) || path.IsAbs(r) {
		return outcome.Usagef("%s: an absolute path; a kustomization refers to files relative to its folder", at)
	}
	p := path.Join(dir, filepath.ToSlash(r))
	if err := names.RelPath(p); err != nil {
		return outcome.Usagef("%s: %w (the project folder is %s: --project-dir, BG_PROJECT_DIR, default $CI_PROJECT_DIR)", at, err, w.shown)
	}
	info, err := w.root.Stat(p)
	if err != nil {
		return outcome.Usagef("%s: %w (a symlink must be relative and stay inside the project folder %s)", at, err, w.shown)
	}
	switch {
	case info.IsDir() && (kind == fileOrDir || kind == dirOnly):
		return w.dir(p)
	case info.IsDir():
		return outcome.Usagef("%s: is a folder; kustomize reads a file here", at)
	case kind == dirOnly:
		return outcome.Usagef("%s: is a file; a component is a folder with a kustomization", at)
	}
	_, err = w.read(p, kind)
	return err
}

// inline checks YAML written inline in a kustomization (a patch, a
// generator's config): it is a document of its own, so it gets the same
// checks as a file.
func (w *walk) inline(file, field, s string) error {
	if s == "" {
		return nil
	}
	if err := checkYAML([]byte(s)); err != nil {
		return outcome.Usagef("%s: %s: %w", w.show(file), field, err)
	}
	return w.pluginURLs(w.show(file)+": "+field, []byte(s))
}

// isInline reports whether kustomize reads s as inline YAML rather than a
// path: it holds a mapping or a list.
func isInline(s string) bool {
	var n yaml.Node
	if yaml.Unmarshal([]byte(s), &n) != nil || len(n.Content) == 0 {
		return false
	}
	k := n.Content[0].Kind
	return k == yaml.MappingNode || k == yaml.SequenceNode
}

// read reads a file the walk accepted, once, and keeps it for kustomize.
func (w *walk) read(p string, kind refKind) ([]byte, error) {
	data, ok := w.files[p]
	if !ok {
		var err error
		if data, err = w.budget.readFile(w.root.FS(), p, w.show(p)); err != nil {
			return nil, err
		}
		if kind != dataFile {
			if err := checkYAML(data); err != nil {
				return nil, outcome.Usagef("%s: %w", w.show(p), err)
			}
		}
		w.files[p] = data
	}
	if kind == dataFile || kind == kustomization {
		return data, nil
	}
	return data, w.pluginURLs(w.show(p), data)
}

// pluginURLs refuses, in a plugin configuration, every http(s) URL: the
// builtin generators and transformers read their files (a patch's path, a
// generator's files) through kustomize's loader, which fetches any URL.
// Outside plugin configurations it checks nothing.
func (w *walk) pluginURLs(shown string, data []byte) error {
	if !w.plugin {
		return nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var n yaml.Node
		if dec.Decode(&n) != nil {
			return nil // the end, or YAML that checkYAML has refused already
		}
		if err := w.scalarURLs(shown, &n); err != nil {
			return err
		}
	}
}

// scalarURLs checks every scalar of n once: aliases are not followed, each
// anchor is checked where it is defined.
func (w *walk) scalarURLs(shown string, n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		if u, err := url.Parse(n.Value); err == nil && (u.Scheme == "http" || u.Scheme == "https") {
			return w.remoteRef(fmt.Sprintf("%s: line %d: %q in a plugin configuration", shown, n.Line, n.Value), n.Value)
		}
	}
	for _, c := range n.Content {
		if err := w.scalarURLs(shown, c); err != nil {
			return err
		}
	}
	return nil
}

// memFS is an in-memory file system holding exactly the files the walk
// checked, at their absolute paths.
func (w *walk) memFS() (filesys.FileSystem, error) {
	fsys := filesys.MakeFsInMemory()
	for p, data := range w.files {
		if err := fsys.WriteFile(filepath.Join(w.rootDir, filepath.FromSlash(p)), data); err != nil {
			return nil, err
		}
	}
	return fsys, nil
}
