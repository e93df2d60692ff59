package outcome

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestCode(t *testing.T) {
	t.Parallel()
	base := errors.New("boom")
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"nil is success", nil, 0},
		{"unclassified is external", base, 3},
		{"context deadline is external", context.DeadlineExceeded, 3},
		{"negative", Negativef("check %q failed", "errors"), 1},
		{"usage", Usagef("BG_APP: required"), 2},
		{"external", Externalf("argocd: %w", base), 3},
		{"locked", Lockedf("held by pipeline 7"), 4},
		{"kind survives wrapping", fmt.Errorf("render: %w", Usagef("bad colour")), 2},
		{"As keeps an existing kind", As(External, Usagef("x")), 2},
		{"As sets a missing kind", As(Negative, base), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Code(tt.err); got != tt.want {
				t.Errorf("Code(%v) = %d, want %d", tt.err, got, tt.want)
			}
		})
	}
}

func TestErrorUnwraps(t *testing.T) {
	t.Parallel()
	base := errors.New("root cause")
	err := Externalf("gitlab: %w", base)
	if !errors.Is(err, base) {
		t.Fatalf("errors.Is lost the cause: %v", err)
	}
	if err.Error() != "gitlab: root cause" {
		t.Fatalf("message = %q", err.Error())
	}
	if As(Usage, nil) != nil {
		t.Fatal("As(nil) must be nil")
	}
}

func TestLocal_PathFaultsAreUsageOthersExternal(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "plan.json")
	if err := os.WriteFile(file, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	write := func(path string) error { return os.WriteFile(path, []byte("x"), 0o644) }
	tests := []struct {
		name string
		err  error
		want Kind
	}{
		{"name too long", write(filepath.Join(dir, strings.Repeat("a", 300))), Usage},
		{"folder is a file", write(filepath.Join(file, "plan.json")), Usage},
		{"folder cannot be created under a file", os.MkdirAll(filepath.Join(file, "rendered"), 0o755), Usage},
		{"file is a folder", write(dir), Usage},
		{"rename onto a folder", os.Rename(file, t.TempDir()), Usage},
		{"wrapped", fmt.Errorf("save plan: %w", &fs.PathError{Op: "open", Path: "/ro/plan.json", Err: syscall.EROFS}), Usage},
		{"forbidden", &fs.PathError{Op: "open", Path: "/x", Err: syscall.EACCES}, Usage},
		{"disk full is retryable", &fs.PathError{Op: "write", Path: "/x", Err: syscall.ENOSPC}, External},
		{"an errno without a path is not local", syscall.EACCES, External},
		{"unclassified", errors.New("boom"), External},
		{"an existing kind is kept", Negativef("x: %w", &fs.PathError{Op: "open", Path: "/x", Err: syscall.ENOTDIR}), Negative},
		{"nil", nil, OK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := KindOf(Local(tt.err)); got != tt.want {
				t.Errorf("KindOf(Local(%v)) = %s, want %s", tt.err, got, tt.want)
			}
		})
	}
}

func TestCodeCrash_IsNoOtherExitCode(t *testing.T) {
	t.Parallel()
	for _, k := range []Kind{OK, Negative, Usage, External, Locked} {
		if int(k) == CodeCrash {
			t.Errorf("CodeCrash %d is also %s's code", CodeCrash, k)
		}
	}
	if CodeCrash == 2 {
		t.Error("CodeCrash must differ from Go's own crash status 2")
	}
}
