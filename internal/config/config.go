// Package config is bluegreen's typed configuration. go-envconfig parses
// GitLab's predefined CI_* variables and bluegreen's own BG_* variables into
// one struct per mode; flags mirror the BG_* variables for local use (see
// Bind); Validate rejects bad values, naming the variable and the flag.
//
// No package below internal/cli reads the environment: they receive these
// structs, or values taken from them.
package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"strings"

	"gitlab.com/platform/bluegreen/internal/names"
)

// Common is what every mode needs.
type Common struct {
	App         string `env:"BG_APP" flag:"app" help:"application name: the active Service and the Deployments' base name"`
	Namespace   string `env:"BG_NAMESPACE" flag:"namespace" help:"Kubernetes namespace of the app (default: the manifests' own, else \"default\")"`
	Environment string `env:"BG_ENVIRONMENT" flag:"environment" help:"environment name (default: $CI_ENVIRONMENT_NAME)"`
	OutDir      string `env:"BG_OUT, default=.bluegreen" flag:"out" help:"folder for plan.json, rendered manifests and reports"`
	Kubeconfig  string `env:"KUBECONFIG" flag:"kubeconfig" help:"kubeconfig file (default: in-cluster config, else ~/.kube/config)"`
	Verbose     bool   `env:"BG_VERBOSE" flag:"verbose" help:"debug-level structured logs on stderr"`
	CI          CI
}

// CI holds GitLab's predefined variables. They have no flags: GitLab sets
// them, and locally they are simply empty.
type CI struct {
	ServerURL       string `env:"CI_SERVER_URL"`
	APIURL          string `env:"CI_API_V4_URL"`
	ProjectID       int64  `env:"CI_PROJECT_ID"`
	ProjectPath     string `env:"CI_PROJECT_PATH"`
	ProjectDir      string `env:"CI_PROJECT_DIR"`
	PipelineID      int64  `env:"CI_PIPELINE_ID"`
	PipelineURL     string `env:"CI_PIPELINE_URL"`
	PipelineSource  string `env:"CI_PIPELINE_SOURCE"`
	JobID           int64  `env:"CI_JOB_ID"`
	JobURL          string `env:"CI_JOB_URL"`
	JobName         string `env:"CI_JOB_NAME"`
	CommitSHA       string `env:"CI_COMMIT_SHA"`
	CommitShortSHA  string `env:"CI_COMMIT_SHORT_SHA"`
	CommitAuthor    string `env:"CI_COMMIT_AUTHOR"`
	CommitRefName   string `env:"CI_COMMIT_REF_NAME"`
	MergeRequestIID int64  `env:"CI_MERGE_REQUEST_IID"`
	EnvironmentName string `env:"CI_ENVIRONMENT_NAME"`
	DeployFreeze    bool   `env:"CI_DEPLOY_FREEZE"`
	UserLogin       string `env:"GITLAB_USER_LOGIN"`
	UserID          int64  `env:"GITLAB_USER_ID"`
	JobToken        Secret `env:"CI_JOB_TOKEN"`
}

// Problem is one invalid setting.
type Problem struct {
	Var  string // the environment variable, e.g. BG_APP
	Flag string // the flag that mirrors it, e.g. --app; empty for CI_* variables
	Msg  string
}

func (p Problem) Error() string {
	if p.Flag == "" {
		return fmt.Sprintf("%s: %s", p.Var, p.Msg)
	}
	return fmt.Sprintf("%s (%s): %s", p.Flag, p.Var, p.Msg)
}

// Problems is every invalid setting found by a Validate call.
type Problems []Problem

func (ps Problems) Error() string {
	msgs := make([]string, len(ps))
	for i, p := range ps {
		msgs[i] = p.Error()
	}
	return "invalid configuration: " + strings.Join(msgs, "; ")
}

// Err returns nil when there are no problems.
func (ps Problems) Err() error {
	if len(ps) == 0 {
		return nil
	}
	return ps
}

// Add records a problem.
func (ps *Problems) Add(env, flag, format string, a ...any) {
	*ps = append(*ps, Problem{Var: env, Flag: flag, Msg: fmt.Sprintf(format, a...)})
}

// dnsLabel is a Kubernetes object name that is also a DNS label, which the
// coloured names <app>-<color>-<hash> must stay within.
var dnsLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// Validate checks the settings every mode shares.
func (c *Common) Validate(ps *Problems) { c.validate(ps, true) }

// ValidateWithPlan checks the shared settings of a mode that loads plan.json,
// which already names the app: BG_APP is then optional.
func (c *Common) ValidateWithPlan(ps *Problems) { c.validate(ps, false) }

func (c *Common) validate(ps *Problems, appRequired bool) {
	switch {
	case c.App == "" && !appRequired:
	case c.App == "":
		ps.Add("BG_APP", "--app", "required")
	case !dnsLabel.MatchString(c.App) || len(c.App) > 47:
		ps.Add("BG_APP", "--app", "%q is not a DNS label of at most 47 characters (lowercase letters, digits and '-')", c.App)
	}
	if c.Namespace != "" && (!dnsLabel.MatchString(c.Namespace) || len(c.Namespace) > 63) {
		ps.Add("BG_NAMESPACE", "--namespace", "%q is not a valid namespace name", c.Namespace)
	}
	// A missing folder is made when the first file is written; a path that
	// cannot become one (a file, a name too long) is refused before any
	// mode acts, so that it is exit 2 and not a failed write later.
	switch fi, err := os.Stat(c.OutDir); {
	case c.OutDir == "":
		ps.Add("BG_OUT", "--out", "must not be empty")
	case err == nil && !fi.IsDir():
		ps.Add("BG_OUT", "--out", "%q is a file, not a folder", c.OutDir)
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		ps.Add("BG_OUT", "--out", "%q cannot be a folder: %v", c.OutDir, unwrapPathError(err))
	}
	switch {
	case c.Environment != "":
		if err := names.Environment(c.Environment); err != nil {
			ps.Add("BG_ENVIRONMENT", "--environment", "%v", err)
		}
	case c.CI.EnvironmentName != "":
		if err := names.Environment(c.CI.EnvironmentName); err != nil {
			ps.Add("CI_ENVIRONMENT_NAME", "", "%v (set BG_ENVIRONMENT to a valid name)", err)
		}
	}
}

// EnvironmentName is the configured environment, falling back to GitLab's.
func (c *Common) EnvironmentName() string {
	if c.Environment != "" {
		return c.Environment
	}
	return c.CI.EnvironmentName
}

// IsProblem reports whether err comes from validation.
func IsProblem(err error) bool {
	var ps Problems
	var p Problem
	return errors.As(err, &ps) || errors.As(err, &p)
}

// IsVerbose reports whether debug logs were asked for.
func (c *Common) IsVerbose() bool { return c.Verbose }
