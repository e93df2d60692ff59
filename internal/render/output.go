package render

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"sigs.k8s.io/yaml"

	"gitlab.com/platform/bluegreen/internal/outcome"
	"gitlab.com/platform/bluegreen/internal/plan"
)

// RenderedDir is the folder, inside the output folder, that holds the
// rendered manifests: one subfolder for the target colour, one for shared
// objects.
const RenderedDir = "rendered"

// Output is the encoded result: one YAML file per object.
type Output struct {
	Files  []File // in the order of Result.Objects
	Digest string // sha256 over every file's path and digest, in order
	result *Result
}

// File is one rendered object.
type File struct {
	Path   string // relative to RenderedDir, slash-separated
	Data   []byte
	Digest string
}

// Encode turns the result into files with stable names and bytes. Each
// file's path is checked (checkPath: inside the target colour's folder or
// shared/) and each object's size (MaxObjectSize), so that Write has nothing
// left to refuse.
func Encode(res *Result) (*Output, error) {
	out := &Output{result: res}
	used := map[string]bool{}
	for _, o := range res.Objects {
		name := strings.ToLower(o.Obj.GetKind()) + "-" + o.Obj.GetName()
		file := o.Group + "/" + fileName(name)
		if used[file] {
			file = o.Group + "/" + fileName(name+"-"+o.Obj.GetNamespace())
		}
		if used[file] {
			return nil, outcome.Usagef("%s: two objects render to %s", o.From, file)
		}
		if err := checkPath(file, groups(res.Target)...); err != nil {
			return nil, outcome.Usagef("%s: rendered file: %w", o.From, err)
		}
		used[file] = true
		data, err := yaml.Marshal(o.Obj.Object)
		if err != nil {
			return nil, outcome.Usagef("%s: encode: %w", o.From, err)
		}
		if len(data) > MaxObjectSize {
			return nil, outcome.Usagef("%s: rendered %s is %d bytes; at most %d (MaxObjectSize, the apiserver's request limit)", o.From, file, len(data), MaxObjectSize)
		}
		out.Files = append(out.Files, File{Path: file, Data: data, Digest: plan.Digest(data)})
	}
	r := out.Rendered()
	out.Digest = r.Sum() // the formula plan.Load checks the digest with
	return out, nil
}

// fileName is base.yaml, or, when that is longer than MaxFileName (a
// long kind and a name near the apiserver's 253 characters), base cut to
// fit with a hash of the whole of it, so that two long names still make
// two files.
func fileName(base string) string {
	const ext = ".yaml"
	if len(base)+len(ext) <= MaxFileName {
		return base + ext
	}
	sum := sha256.Sum256([]byte(base))
	tag := "-" + hex.EncodeToString(sum[:8])
	return base[:MaxFileName-len(ext)-len(tag)] + tag + ext
}

// Dir is where the files go under the output folder.
func (o *Output) Dir(outDir string) string { return filepath.Join(outDir, RenderedDir) }

// Rendered is the plan's record of the output.
func (o *Output) Rendered() plan.Rendered {
	r := plan.Rendered{Dir: RenderedDir, Digest: o.Digest}
	for i, f := range o.Files {
		obj := o.result.Objects[i]
		r.Objects = append(r.Objects, plan.Object{
			Kind: obj.Obj.GetKind(), Name: obj.Obj.GetName(), Namespace: obj.Obj.GetNamespace(),
			File: f.Path, Action: obj.Action, Digest: f.Digest,
		})
	}
	return r
}

// Write replaces outDir/rendered with the output, then writes the dotenv;
// plan.json is the caller's to save (cli's one writer per run), after it.
// Every file's path is checked before anything is written:
// inside the target colour's folder or shared/ (checkPath), and inside
// outDir once made absolute. The files are written through an os.Root at
// outDir, so that no symlink leads a write out of it. The rendered folder is
// built beside the old one and renamed into place, so a failed write never
// leaves a mix of old and new files.
func Write(outDir string, out *Output, p *plan.Plan) error {
	target := plan.None
	if out.result != nil {
		target = out.result.Target
	}
	for _, f := range out.Files {
		err := checkPath(f.Path, groups(target)...)
		if err == nil {
			err = inside(outDir, f.Path)
		}
		if err != nil {
			return outcome.Usagef("rendered file: %w", err)
		}
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return err
	}
	root, err := os.OpenRoot(outDir)
	if err != nil {
		return err
	}
	defer root.Close()
	tmpDir, err := os.MkdirTemp(outDir, ".rendered-")
	if err != nil {
		return err
	}
	tmp := filepath.Base(tmpDir)
	defer root.RemoveAll(tmp)
	for _, f := range out.Files {
		name := path.Join(tmp, f.Path)
		if err := root.MkdirAll(path.Dir(name), 0o755); err != nil {
			return err
		}
		if err := root.WriteFile(name, f.Data, 0o644); err != nil {
			return err
		}
	}
	old := RenderedDir + ".old"
	_ = root.RemoveAll(old)
	if err := root.Rename(RenderedDir, old); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := root.Rename(tmp, RenderedDir); err != nil {
		return err
	}
	_ = root.RemoveAll(old)
	env, err := plan.Dotenv(Dotenv(p))
	if err != nil {
		return err
	}
	return plan.WriteFileAtomic(filepath.Join(outDir, plan.DotenvName), env)
}

// Dotenv is what render passes to later jobs.
func Dotenv(p *plan.Plan) map[string]string {
	vars := map[string]string{
		"BG_APP":          p.App,
		"BG_NAMESPACE":    p.Namespace,
		"BG_LIVE_COLOR":   string(p.LiveColor),
		"BG_TARGET_COLOR": string(p.TargetColor),
	}
	if len(p.Workload.Services) > 0 {
		s := p.Workload.Services[0]
		url := fmt.Sprintf("http://%s.%s.svc", s.Preview, p.Namespace)
		if s.Port != 0 && s.Port != 80 {
			url += fmt.Sprintf(":%d", s.Port)
		}
		vars["BG_PREVIEW_URL"] = url
	}
	return vars
}
