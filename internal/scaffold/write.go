package scaffold

import (
	"fmt"
	"os"
	"path/filepath"

	"gitlab.com/platform/bluegreen/internal/outcome"
)

// Write writes files under dir, making it if need be, through an os.Root,
// so that no path (the checks path comes from a flag) can leave it. It
// replaces the files of the same names and leaves others alone: the caller
// decides whether a non-empty dir may be written into.
func Write(dir string, files []File) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return outcome.Usagef("--out %s: %w", dir, err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return outcome.Usagef("--out %s: %w", dir, err)
	}
	defer root.Close()
	for _, f := range files {
		if err := root.MkdirAll(filepath.Dir(filepath.FromSlash(f.Path)), 0o755); err != nil {
			return fmt.Errorf("write %s: %w", filepath.Join(dir, f.Path), err)
		}
		if err := root.WriteFile(filepath.FromSlash(f.Path), f.Data, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", filepath.Join(dir, f.Path), err)
		}
	}
	return nil
}
