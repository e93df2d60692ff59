package plan

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"gitlab.com/platform/bluegreen/internal/outcome"
)

// MaxRenderedFileSize bounds one rendered file as a later job reads it:
// render never writes one larger (an object is at most 1.5 MiB as JSON).
const MaxRenderedFileSize = 4 << 20

// ReadRendered reads the rendered file of o from the plan's folder dir, the
// way every job after render must: through an os.Root at dir/rendered, so
// that neither the path nor a symlink among the artifacts can reach a file
// outside it; only a regular file, at most MaxRenderedFileSize; and only
// when its content matches the digest the plan records. Every refusal is a
// usage error (exit 2) naming the file.
func (p *Plan) ReadRendered(dir string, o Object) ([]byte, error) {
	shown := filepath.Join(dir, p.Rendered.Dir, filepath.FromSlash(o.File))
	data, err := readInRoot(filepath.Join(dir, p.Rendered.Dir), o.File)
	if err != nil {
		return nil, outcome.Usagef("rendered file %s: %w (pass the render job's artifacts)", shown, err)
	}
	if got := Digest(data); got != o.Digest {
		return nil, outcome.Usagef("rendered file %s changed after render (digest %s, plan says %s)", shown, got, o.Digest)
	}
	return data, nil
}

func readInRoot(root, name string) ([]byte, error) {
	r, err := os.OpenRoot(root)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	st, err := r.Lstat(name)
	switch {
	case err != nil:
		return nil, err
	case st.Mode()&fs.ModeSymlink != 0:
		return nil, errors.New("is a symlink; render writes regular files only")
	case !st.Mode().IsRegular():
		return nil, errors.New("is not a regular file")
	case st.Size() > MaxRenderedFileSize:
		return nil, fmt.Errorf("is %d bytes; at most %d (plan.MaxRenderedFileSize)", st.Size(), MaxRenderedFileSize)
	}
	f, err := r.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxRenderedFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxRenderedFileSize {
		return nil, fmt.Errorf("grew past %d bytes while read (plan.MaxRenderedFileSize)", MaxRenderedFileSize)
	}
	return data, nil
}
