package testenv

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// GitRepo is a local git repository (branch main) in a test's temp dir.
// Argo CD Applications can point at its URL: a public file:// repository
// needs no credentials.
type GitRepo struct {
	dir string
}

// NewGitRepo creates an empty repository that is removed when the test ends.
func NewGitRepo(tb testing.TB) *GitRepo {
	tb.Helper()
	if _, err := onPath("git"); err != nil {
		fail(tb, err)
	}
	r := &GitRepo{dir: filepath.Join(tb.TempDir(), "repo")}
	if err := os.MkdirAll(r.dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	if _, err := r.git("init", "--quiet", "--initial-branch=main"); err != nil {
		tb.Fatal(err)
	}
	return r
}

// URL returns the repository's file:// URL.
func (r *GitRepo) URL() string { return "file://" + r.dir }

// Dir returns the repository's work tree.
func (r *GitRepo) Dir() string { return r.dir }

// Commit writes files (path relative to the repository -> content; an empty
// content deletes the file), commits them on main and returns the commit SHA.
func (r *GitRepo) Commit(tb testing.TB, message string, files map[string]string) string {
	tb.Helper()
	sha, err := r.commit(message, files)
	if err != nil {
		tb.Fatal(err)
	}
	return sha
}

func (r *GitRepo) commit(message string, files map[string]string) (string, error) {
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		full := filepath.Join(r.dir, filepath.FromSlash(p))
		if files[p] == "" {
			if err := os.Remove(full); err != nil && !os.IsNotExist(err) {
				return "", fmt.Errorf("git repo: %w", err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return "", fmt.Errorf("git repo: %w", err)
		}
		if err := os.WriteFile(full, []byte(files[p]), 0o644); err != nil {
			return "", fmt.Errorf("git repo: %w", err)
		}
	}
	if _, err := r.git("add", "--all"); err != nil {
		return "", err
	}
	if _, err := r.git("commit", "--quiet", "--allow-empty", "-m", message); err != nil {
		return "", err
	}
	return r.git("rev-parse", "HEAD")
}

// git runs git in the repository with a fixed identity and no user config.
func (r *GitRepo) git(args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = r.dir
	cmd.Env = append(baseEnv(),
		"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=testenv", "GIT_AUTHOR_EMAIL=testenv@bluegreen.invalid",
		"GIT_COMMITTER_NAME=testenv", "GIT_COMMITTER_EMAIL=testenv@bluegreen.invalid")
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(out.String()), nil
}
