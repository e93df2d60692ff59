package render

import (
	"fmt"
	"io"
	"io/fs"
	"strings"
	"unicode"

	"gitlab.com/platform/bluegreen/internal/outcome"
)

// Limits on the input. Every input is hostile, so each read and each
// document is bounded, and a refusal names the limit it broke.
const (
	// MaxFileSize bounds one input file: a manifest, a kustomization, a
	// patch or a generator's source.
	MaxFileSize = 4 << 20

	// MaxInputSize bounds all input files of one render together, and
	// separately the output of kustomize build.
	MaxInputSize = 32 << 20

	// MaxDocumentSize bounds one YAML document once its aliases are
	// expanded, measured as JSON. It is checked on the YAML node tree before
	// anything is expanded, so an alias bomb fails at once.
	MaxDocumentSize = 8 << 20

	// MaxDocumentNodes bounds the nodes (scalars, lists and mappings) of one
	// YAML document once its aliases are expanded, checked like
	// MaxDocumentSize.
	MaxDocumentNodes = 1 << 20

	// MaxObjects bounds the number of objects in the input.
	MaxObjects = 1000

	// MaxObjectSize bounds one object as JSON, input or rendered: 1.5 MiB,
	// the apiserver's request limit.
	MaxObjectSize = 3 << 19

	// MaxConfigData bounds what one ConfigMap (data and binaryData) or Secret
	// (data and stringData) carries: 1 MiB, the apiserver's limit.
	MaxConfigData = 1 << 20

	// MaxFileName bounds one element of a rendered file's path, in bytes:
	// the file name limit of common file systems.
	MaxFileName = 255
)

// budget counts what one load has read, against MaxInputSize.
type budget struct {
	read int64
}

// readFile reads name from root: at most MaxFileSize bytes, counted against
// the budget. root is an os.Root's FS, which keeps the read inside its
// folder, symlinks included. shown is the name for messages.
func (b *budget) readFile(root fs.FS, name, shown string) ([]byte, error) {
	f, err := root.Open(name)
	if err != nil {
		return nil, outcome.Usagef("%s: %w", shown, err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, outcome.Usagef("%s: %w", shown, err)
	}
	if !info.Mode().IsRegular() {
		return nil, outcome.Usagef("%s: not a regular file (%s)", shown, info.Mode().Type())
	}
	// Read one byte past the limit, so that a file that grows after Stat
	// is caught too.
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, outcome.Usagef("%s: %w", shown, err)
	}
	if err := b.add(shown, len(data)); err != nil {
		return nil, err
	}
	return data, nil
}

// add counts n bytes of the file shown against the limits.
func (b *budget) add(shown string, n int) error {
	if n > MaxFileSize {
		return outcome.Usagef("%s: file is larger than %d bytes (MaxFileSize)", shown, MaxFileSize)
	}
	b.read += int64(n)
	if b.read > MaxInputSize {
		return outcome.Usagef("%s: the input is larger than %d bytes in all (MaxInputSize)", shown, MaxInputSize)
	}
	return nil
}

// isSymlink reports whether a directory entry is a symbolic link.
func isSymlink(d fs.DirEntry) bool { return d.Type()&fs.ModeSymlink != 0 }

// sizeError is the refusal of an object larger than MaxObjectSize.
func sizeError(src Source, ref string, n int) error {
	return outcome.Usagef("%s: %s is %d bytes as JSON; at most %d (MaxObjectSize, the apiserver's request limit)", src, ref, n, MaxObjectSize)
}

// quoteControl quotes s when it holds a control character, so that a
// hostile file name cannot forge a line of the job log.
func quoteControl(s string) string {
	if strings.ContainsFunc(s, unicode.IsControl) {
		return fmt.Sprintf("%q", s)
	}
	return s
}
