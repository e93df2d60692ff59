package pipeline

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"gitlab.com/platform/bluegreen/internal/testenv"
)

// Module is the Go module whose root ModuleRoot looks for.
const Module = "gitlab.com/platform/bluegreen"

// Tools are the programs a World runs.
type Tools struct {
	Bluegreen     string // the bluegreen binary; its folder goes first on the jobs' PATH
	GitLabCILocal string // the gitlab-ci-local launcher setup.sh writes
	Root          string // the repository root, whose templates/ the projects include
}

// ModuleRoot finds the repository root: the nearest folder at or above the
// working directory whose go.mod declares Module.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.HasPrefix(bytes.TrimSpace(data), []byte("module "+Module)) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod of %s at or above the working directory", Module)
		}
		dir = parent
	}
}

// GitLabCILocal returns the gitlab-ci-local launcher that setup.sh writes
// into the cache folder, or a *testenv.MissingError naming the setup
// command.
func GitLabCILocal() (string, error) {
	p := filepath.Join(testenv.CacheDir(), "bin", "gitlab-ci-local")
	if fi, err := os.Stat(p); err != nil || fi.Mode()&0o111 == 0 {
		return "", &testenv.MissingError{Name: "gitlab-ci-local", Path: p}
	}
	return p, nil
}

// BuildBluegreen builds cmd/bluegreen of the repository at root into
// out/bluegreen and returns its path.
func BuildBluegreen(ctx context.Context, root, out string) (string, error) {
	bin := filepath.Join(out, "bluegreen")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin,
		"-ldflags", "-X "+Module+"/internal/cli.version=pipeline-test", "./cmd/bluegreen")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/bluegreen: %w\n%s", err, out)
	}
	return bin, nil
}

// Modes lists the modes `bluegreen --help` names.
func Modes(bin string) ([]string, error) {
	out, err := exec.Command(bin, "--help").Output()
	if err != nil {
		return nil, fmt.Errorf("bluegreen --help: %w", err)
	}
	var modes []string
	in := false
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "Modes:"):
			in = true
		case in && strings.HasPrefix(line, "  "):
			modes = append(modes, strings.Fields(line)[0])
		case in:
			in = false
		}
	}
	if len(modes) == 0 {
		return nil, errors.New("bluegreen --help lists no modes")
	}
	return modes, nil
}
