package pipeline

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// ProjectPath is the GitLab path the test project's origin remote claims.
// gitlab-ci-local reads an include
// `component: <host>/<ProjectPath>/<name>@<HEAD's SHA>` from the project's
// own working tree, as GitLab reads a component of the same project at that
// commit.
const ProjectPath = "platform/bluegreen"

// originURL is the project's origin remote. Nothing ever connects to it.
const originURL = "https://gitlab.example.com/" + ProjectPath + ".git"

// NewProject makes dir an application project: a git repository on branch
// main with one commit holding files (path -> content) and a copy of the
// component templates of root (templates/*.yml), and an origin remote at
// ProjectPath. Untracked files (the secrets file) are added later.
func NewProject(dir, root string, files map[string]string) error {
	all := map[string]string{}
	templates, err := filepath.Glob(filepath.Join(root, "templates", "*.yml"))
	if err != nil {
		return err
	}
	if len(templates) == 0 {
		return fmt.Errorf("no component templates in %s/templates", root)
	}
	for _, t := range templates {
		data, err := os.ReadFile(t)
		if err != nil {
			return err
		}
		all["templates/"+filepath.Base(t)] = string(data)
	}
	for k, v := range files {
		all[k] = v
	}
	if err := writeFiles(dir, all); err != nil {
		return err
	}
	for _, args := range [][]string{
		{"init", "--quiet", "--initial-branch=main"},
		{"add", "--all"},
		{"commit", "--quiet", "-m", "release"},
		{"remote", "add", "origin", originURL},
		// gitlab-ci-local asks for the remote's default branch.
		{"update-ref", "refs/remotes/origin/main", "HEAD"},
		{"symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/main"},
	} {
		if err := git(dir, args...); err != nil {
			return err
		}
	}
	return nil
}

// writeFiles writes files under dir in a stable order.
func writeFiles(dir string, files map[string]string) error {
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(full, []byte(files[p]), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// git runs git in dir with a fixed identity and no user configuration.
func git(dir string, args ...string) error {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=Alice Author", "GIT_AUTHOR_EMAIL=alice@example.com",
		"GIT_COMMITTER_NAME=Alice Author", "GIT_COMMITTER_EMAIL=alice@example.com")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// ProjectCI is a .gitlab-ci.yml that lists the default stages and includes
// one component of this commit with inputs, given as YAML lines
// ("app: shop").
func ProjectCI(component string, inputs ...string) string {
	var b strings.Builder
	b.WriteString("stages: [render, deploy, qa, verify, promote]\n\ninclude:\n")
	fmt.Fprintf(&b, "  - component: $CI_SERVER_FQDN/%s/%s@$CI_COMMIT_SHA\n", ProjectPath, component)
	if len(inputs) > 0 {
		b.WriteString("    inputs:\n")
		for _, in := range inputs {
			fmt.Fprintf(&b, "      %s\n", in)
		}
	}
	return b.String()
}
