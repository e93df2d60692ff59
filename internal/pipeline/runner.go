package pipeline

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"gitlab.com/platform/bluegreen/internal/plan"
)

// Runner runs gitlab-ci-local in a project.
type Runner struct {
	Tools Tools
	Dir   string    // the project
	Home  string    // gitlab-ci-local's home folder, so that no user configuration leaks in
	Log   io.Writer // gitlab-ci-local's output as it comes, besides Run.Output; may be nil
}

// Run is one finished gitlab-ci-local invocation.
type Run struct {
	Code   int    // 0 when every job that ran passed; 1 when one failed or the pipeline could not be created
	Output string // stdout and stderr, interleaved
	State  string // its state folder: artifacts/<job>/ and output/<job>.log
}

// Run runs gitlab-ci-local with its own state folder (relative to the
// project) and args, e.g. "--manual", "approve", or job names. It is an
// error only when gitlab-ci-local could not be run at all.
func (r *Runner) Run(ctx context.Context, state string, args ...string) (*Run, error) {
	full := append([]string{
		"--home", r.Home, "--state-dir", state,
		"--no-color", "--shell-isolation", "--force-shell-executor", "--no-artifacts-to-source",
	}, args...)
	cmd := exec.CommandContext(ctx, r.Tools.GitLabCILocal, full...)
	cmd.Dir = r.Dir
	cmd.Env = r.env()
	// One writer for both: os/exec then never calls it from two goroutines.
	var out bytes.Buffer
	var w io.Writer = &out
	if r.Log != nil {
		w = io.MultiWriter(&out, r.Log)
	}
	cmd.Stdout, cmd.Stderr = w, w
	err := cmd.Run()
	run := &Run{Output: out.String(), State: filepath.Join(r.Dir, state)}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit) && exit.ExitCode() >= 0:
		run.Code = exit.ExitCode()
	case err != nil:
		return run, fmt.Errorf("gitlab-ci-local: %w\n%s", err, run.Output)
	}
	return run, nil
}

// env is the process environment for gitlab-ci-local, which its shell jobs
// inherit: the bluegreen binary first on PATH, and nothing of bluegreen's,
// Kubernetes' or gitlab-ci-local's own configuration from the caller.
func (r *Runner) env() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "BG_") || strings.HasPrefix(k, "GCL_") || k == "KUBECONFIG" || k == "PATH" {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "PATH="+filepath.Dir(r.Tools.Bluegreen)+string(os.PathListSeparator)+os.Getenv("PATH"))
}

// Jobs returns each job's result from gitlab-ci-local's closing report:
// "PASS", "FAIL", or "WARN" (failed, allowed to fail).
func (r *Run) Jobs() map[string]string {
	jobs := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(r.Output))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 2 && (f[0] == "PASS" || f[0] == "FAIL" || f[0] == "WARN") {
			jobs[f[1]] = f[0]
		}
	}
	return jobs
}

// Artifact reads a file from a job's artifacts, e.g. ".bluegreen/plan.json".
func (r *Run) Artifact(job, name string) ([]byte, error) {
	return os.ReadFile(filepath.Join(r.State, "artifacts", job, filepath.FromSlash(name)))
}

// Plan loads the plan.json a job left in its artifacts.
func (r *Run) Plan(job string) (*plan.Plan, error) {
	return plan.Load(filepath.Join(r.State, "artifacts", job, ".bluegreen"))
}

// JobLog is a job's own output, as gitlab-ci-local kept it.
func (r *Run) JobLog(job string) string {
	data, err := os.ReadFile(filepath.Join(r.State, "output", job+".log"))
	if err != nil {
		return fmt.Sprintf("(no log for %s: %v)", job, err)
	}
	return string(data)
}
