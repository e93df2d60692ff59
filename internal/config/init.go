package config

import (
	"errors"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"unicode"

	"gitlab.com/platform/bluegreen/internal/names"
)

// Init configures `bluegreen init`, which writes the set-up of one app into
// a folder and applies nothing. Its flags mirror the pipeline component's
// inputs where they have one.
type Init struct {
	App         string `env:"BG_APP" flag:"app" help:"application name, a DNS label of at most 47 characters: the active Service and the Deployments' base name"`
	Environment string `env:"BG_ENVIRONMENT" flag:"environment" help:"GitLab environment, e.g. production; with the app it makes the GitOps folder <environment>/<app>"`
	Namespace   string `env:"BG_NAMESPACE" flag:"namespace" help:"Kubernetes namespace of the app (default: the manifests' own, else \"default\")"`
	Manifests   string `env:"BG_MANIFESTS" flag:"manifests" help:"the app's manifests, relative to the app repository's root: a folder of YAML, one multi-document file, or a kustomization folder (as render takes them)"`
	Deployment  string `env:"BG_DEPLOYMENT" flag:"deployment" help:"Deployment to colour, when the manifests hold more than one"`
	Container   string `env:"BG_CONTAINER" flag:"container" help:"container that gets the release image (default: the first)"`
	Image       string `env:"BG_IMAGE" flag:"image" help:"the release image for the include (default: $CI_REGISTRY_IMAGE:$CI_COMMIT_SHORT_SHA)"`

	GitOpsProject string `env:"BG_GITOPS_PROJECT" flag:"gitops-project" help:"GitOps project path, e.g. platform/gitops"`
	GitOpsBranch  string `env:"BG_GITOPS_BRANCH, default=main" flag:"gitops-branch" help:"GitOps branch Argo CD follows"`
	GitOpsPath    string `env:"BG_GITOPS_PATH" flag:"gitops-path" help:"the app's folder in the GitOps repo (default: <environment>/<app>)"`

	ArgoCDServer    string `env:"BG_ARGOCD_SERVER" flag:"argocd-server" help:"Argo CD API server, host:port, as the jobs reach it"`
	ArgoCDApp       string `env:"BG_ARGOCD_APP" flag:"argocd-app" help:"name of the Argo CD Application (default: <app>-<environment>, '/' as '-')"`
	ArgoCDProject   string `env:"BG_ARGOCD_PROJECT, default=default" flag:"argocd-project" help:"Argo CD project of the Application; another than default gets an AppProject"`
	ArgoCDRepoURL   string `env:"BG_ARGOCD_REPO_URL" flag:"argocd-repo-url" help:"the GitOps repository's URL as Argo CD knows it, e.g. https://gitlab.example.com/platform/gitops.git"`
	ArgoCDNamespace string `env:"BG_ARGOCD_NAMESPACE, default=argocd" flag:"argocd-namespace" help:"namespace Argo CD runs in"`
	ArgoCDAccount   string `env:"BG_ARGOCD_ACCOUNT" flag:"argocd-account" help:"Argo CD local account for BG_ARGOCD_TOKEN (default: bluegreen-<app>)"`
	Destination     string `env:"BG_ARGOCD_DESTINATION, default=https://kubernetes.default.svc" flag:"destination-server" help:"the cluster Argo CD deploys the app to"`

	PrometheusURL string `env:"BG_PROMETHEUS_URL" flag:"prometheus" help:"Prometheus base URL as the jobs reach it, e.g. http://prometheus.monitoring:9090"`
	Metrics       string `env:"BG_INIT_METRICS, default=http" flag:"metrics" help:"the metrics the app exposes, for the starter checks: http (http_requests_total, http_request_duration_seconds), grpc (grpc_server_handled_total, grpc_server_handling_seconds) or istio (istio_requests_total, istio_request_duration_milliseconds)"`
	Checks        string `env:"BG_CHECKS" flag:"checks" help:"where the checks file goes in the app repository (default: checks.yaml beside the manifests)"`
	SlackChannel  string `env:"BG_SLACK_CHANNEL" flag:"slack-channel" help:"Slack channel for the deployment thread, e.g. #deploys (empty: no messages)"`

	Component        string `env:"BG_INIT_COMPONENT" flag:"component" help:"the pipeline component the include names (default: $CI_SERVER_FQDN/platform/bluegreen/pipeline)"`
	ComponentVersion string `env:"BG_INIT_COMPONENT_VERSION" flag:"component-version" help:"the component version to include (default: this binary's release, else ~latest)"`

	Out   string `env:"BG_INIT_OUT, default=bluegreen-init" flag:"out" help:"folder to write into; it must not exist or be empty"`
	Force bool   `env:"BG_INIT_FORCE" flag:"force" help:"write into a non-empty --out, replacing the files init writes (others are left alone)"`
}

// Defaults of the include that name CI variables, which go-envconfig would
// expand in a tag's default.
const (
	DefaultImage     = "$CI_REGISTRY_IMAGE:$CI_COMMIT_SHORT_SHA"
	DefaultComponent = "$CI_SERVER_FQDN/platform/bluegreen/pipeline"
)

// MetricFamilies are the --metrics choices.
var MetricFamilies = []string{"http", "grpc", "istio"}

var (
	// projectPath is a GitLab project path: namespace/…/project.
	projectPath = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]*(/[A-Za-z0-9_][A-Za-z0-9_.-]*)+$`)
	// scpLike is git's user@host:path form of an SSH URL.
	scpLike = regexp.MustCompile(`^[A-Za-z0-9_.-]+@[A-Za-z0-9.-]+:[A-Za-z0-9_./~-]+$`)
	// account is an Argo CD local account name.
	account = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)
	// channel is a Slack channel name or ID.
	channel = regexp.MustCompile(`^#?[a-z0-9][a-z0-9._-]{0,79}$|^[CGD][A-Z0-9]{8,}$`)
	// imageWithVars is an image reference that may name CI variables.
	imageWithVars = regexp.MustCompile(`^[$A-Za-z0-9_{}./:@-]+$`)
	// componentRef is a component's address without its version.
	componentRef = regexp.MustCompile(`^(\$CI_SERVER_FQDN|\$\{CI_SERVER_FQDN\}|[a-z0-9.-]+(:[0-9]+)?)(/[A-Za-z0-9_][A-Za-z0-9_.-]*)+$`)
	// componentVersion is a tag, ~latest, a branch or a commit.
	componentVersion = regexp.MustCompile(`^(~latest|[A-Za-z0-9][A-Za-z0-9._/-]{0,127})$`)
)

// Fill sets the defaults that depend on other settings. Validate calls it.
func (c *Init) Fill() {
	if c.Image == "" {
		c.Image = DefaultImage
	}
	if c.Component == "" {
		c.Component = DefaultComponent
	}
	if c.GitOpsPath == "" && c.Environment != "" && c.App != "" {
		c.GitOpsPath = c.Environment + "/" + c.App
	}
	if c.ArgoCDApp == "" && c.Environment != "" && c.App != "" {
		c.ArgoCDApp = c.App + "-" + strings.ReplaceAll(c.Environment, "/", "-")
	}
	if c.ArgoCDAccount == "" && c.App != "" {
		c.ArgoCDAccount = "bluegreen-" + c.App
	}
	if c.Checks == "" && c.Manifests != "" {
		dir := path.Dir(filepath.ToSlash(c.Manifests))
		if st, err := os.Stat(c.Manifests); err == nil && st.IsDir() {
			dir = path.Dir(path.Clean(filepath.ToSlash(c.Manifests)))
		}
		c.Checks = path.Join(dir, "checks.yaml")
	}
}

// Validate checks the init settings, naming the flag of each problem.
func (c *Init) Validate() error {
	c.Fill()
	var ps Problems
	c.validateApp(&ps)
	c.validateGitOps(&ps)
	c.validateArgoCD(&ps)
	c.validateChecks(&ps)
	c.validateOut(&ps)
	return ps.Err()
}

func (c *Init) validateApp(ps *Problems) {
	switch {
	case c.App == "":
		ps.Add("BG_APP", "--app", "required")
	case !dnsLabel.MatchString(c.App) || len(c.App) > 47:
		ps.Add("BG_APP", "--app", "%s is not a DNS label of at most 47 characters (lowercase letters, digits and '-')", names.Quote(c.App))
	}
	if c.Environment == "" {
		ps.Add("BG_ENVIRONMENT", "--environment", "required")
	} else if err := names.Environment(c.Environment); err != nil {
		ps.Add("BG_ENVIRONMENT", "--environment", "%v", err)
	}
	if c.Namespace != "" {
		if err := names.Namespace(c.Namespace); err != nil {
			ps.Add("BG_NAMESPACE", "--namespace", "%v", err)
		}
	}
	switch fi, err := os.Stat(c.Manifests); {
	case c.Manifests == "":
		ps.Add("BG_MANIFESTS", "--manifests", "required")
	case !filepath.IsLocal(c.Manifests) && path.Clean(filepath.ToSlash(c.Manifests)) != ".":
		ps.Add("BG_MANIFESTS", "--manifests", "%s must be relative to the app repository's root (run init there), as the include names it", names.Quote(c.Manifests))
	case err != nil:
		ps.Add("BG_MANIFESTS", "--manifests", "%s cannot be read: %v", names.Quote(c.Manifests), unwrapPathError(err))
	case !fi.IsDir() && !fi.Mode().IsRegular():
		ps.Add("BG_MANIFESTS", "--manifests", "%s is neither a folder nor a file", names.Quote(c.Manifests))
	}
	if c.Deployment != "" {
		if err := names.Object("Deployment", c.Deployment); err != nil {
			ps.Add("BG_DEPLOYMENT", "--deployment", "%v", err)
		}
	}
	if c.Container != "" && (!dnsLabel.MatchString(c.Container) || len(c.Container) > 63) {
		ps.Add("BG_CONTAINER", "--container", "%s is not a container name (a DNS label)", names.Quote(c.Container))
	}
	if !validImage(c.Image) && !plainVars(c.Image) {
		ps.Add("BG_IMAGE", "--image", "%s is not an image reference", names.Quote(c.Image))
	}
	if c.SlackChannel != "" && !channel.MatchString(c.SlackChannel) {
		ps.Add("BG_SLACK_CHANNEL", "--slack-channel", "%s is not a Slack channel name or ID", names.Quote(c.SlackChannel))
	}
}

// plainVars reports whether s is an image reference whose parts are CI
// variables, such as $CI_REGISTRY_IMAGE:$CI_COMMIT_SHORT_SHA.
func plainVars(s string) bool {
	return imageWithVars.MatchString(s) && strings.Contains(s, "$")
}

func (c *Init) validateGitOps(ps *Problems) {
	switch {
	case c.GitOpsProject == "":
		ps.Add("BG_GITOPS_PROJECT", "--gitops-project", "required")
	case !projectPath.MatchString(c.GitOpsProject) || strings.Contains(c.GitOpsProject, ".."):
		ps.Add("BG_GITOPS_PROJECT", "--gitops-project", "%s is not a GitLab project path such as platform/gitops", names.Quote(c.GitOpsProject))
	}
	if c.GitOpsBranch == "" || strings.ContainsFunc(c.GitOpsBranch, notPrintable) || strings.HasPrefix(c.GitOpsBranch, "-") || strings.Contains(c.GitOpsBranch, "..") {
		ps.Add("BG_GITOPS_BRANCH", "--gitops-branch", "%s is not a branch name", names.Quote(c.GitOpsBranch))
	}
	if c.GitOpsPath != "" {
		if err := names.RelPath(c.GitOpsPath); err != nil {
			ps.Add("BG_GITOPS_PATH", "--gitops-path", "%v", err)
		} else if strings.ContainsFunc(c.GitOpsPath, notPrintable) || strings.ContainsAny(c.GitOpsPath, `"'*?[]{}`) {
			ps.Add("BG_GITOPS_PATH", "--gitops-path", "%s holds a character Argo CD would read as a pattern or a quote", names.Quote(c.GitOpsPath))
		}
	}
}

func (c *Init) validateArgoCD(ps *Problems) {
	if c.ArgoCDServer == "" {
		ps.Add("BG_ARGOCD_SERVER", "--argocd-server", "required")
	} else if h, p, err := net.SplitHostPort(c.ArgoCDServer); err != nil || h == "" || p == "" || strings.ContainsFunc(c.ArgoCDServer, notPrintable) {
		ps.Add("BG_ARGOCD_SERVER", "--argocd-server", "%s is not host:port", names.Quote(c.ArgoCDServer))
	}
	if c.ArgoCDApp != "" {
		if err := names.Object("Application", c.ArgoCDApp); err != nil || len(c.ArgoCDApp) > 63 {
			ps.Add("BG_ARGOCD_APP", "--argocd-app", "%s is not a DNS name of at most 63 characters (Argo CD puts it in a label)", names.Quote(c.ArgoCDApp))
		}
	}
	if err := names.Object("AppProject", c.ArgoCDProject); err != nil {
		ps.Add("BG_ARGOCD_PROJECT", "--argocd-project", "%v", err)
	}
	if err := names.Namespace(c.ArgoCDNamespace); err != nil {
		ps.Add("BG_ARGOCD_NAMESPACE", "--argocd-namespace", "%v", err)
	}
	if c.ArgoCDAccount != "" && !account.MatchString(c.ArgoCDAccount) {
		ps.Add("BG_ARGOCD_ACCOUNT", "--argocd-account", "%s is not an account name (lowercase letters, digits and '-', at most 63)", names.Quote(c.ArgoCDAccount))
	}
	switch {
	case c.ArgoCDRepoURL == "":
		ps.Add("BG_ARGOCD_REPO_URL", "--argocd-repo-url", "required")
	case !repoURL(c.ArgoCDRepoURL):
		ps.Add("BG_ARGOCD_REPO_URL", "--argocd-repo-url", "%s is not a git URL (https://, ssh:// or git@host:path, without credentials)", names.Quote(c.ArgoCDRepoURL))
	}
	if u, err := url.Parse(c.Destination); err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || strings.ContainsFunc(c.Destination, notPrintable) {
		ps.Add("BG_ARGOCD_DESTINATION", "--destination-server", "%s is not an https:// cluster URL", names.Quote(c.Destination))
	}
}

func repoURL(s string) bool {
	if strings.ContainsFunc(s, notPrintable) || strings.ContainsAny(s, `"'\`) {
		return false
	}
	if scpLike.MatchString(s) {
		return true
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return false
	}
	if _, hasPassword := u.User.Password(); hasPassword || (u.User != nil && u.Scheme != "ssh") {
		return false
	}
	return u.Scheme == "https" || u.Scheme == "http" || u.Scheme == "ssh"
}

func (c *Init) validateChecks(ps *Problems) {
	switch u, err := url.Parse(c.PrometheusURL); {
	case c.PrometheusURL == "":
		ps.Add("BG_PROMETHEUS_URL", "--prometheus", "required")
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || strings.ContainsFunc(c.PrometheusURL, notPrintable):
		ps.Add("BG_PROMETHEUS_URL", "--prometheus", "%s is not an http(s) URL without credentials", names.Quote(c.PrometheusURL))
	}
	known := false
	for _, f := range MetricFamilies {
		known = known || f == c.Metrics
	}
	if !known {
		ps.Add("BG_INIT_METRICS", "--metrics", "%s is not one of %s", names.Quote(c.Metrics), strings.Join(MetricFamilies, ", "))
	}
	if err := names.RelPath(c.Checks); err != nil {
		ps.Add("BG_CHECKS", "--checks", "%v (a path in the app repository)", err)
	} else if st, err := os.Stat(c.Manifests); err == nil && st.IsDir() && !hasKustomization(c.Manifests) && inside(c.Checks, c.Manifests) {
		ps.Add("BG_CHECKS", "--checks", "%s is inside the manifests folder %s, where render would read it as a manifest", names.Quote(c.Checks), names.Quote(c.Manifests))
	}
	if !componentRef.MatchString(c.Component) {
		ps.Add("BG_INIT_COMPONENT", "--component", "%s is not a component address such as $CI_SERVER_FQDN/platform/bluegreen/pipeline", names.Quote(c.Component))
	}
	if c.ComponentVersion != "" && (!componentVersion.MatchString(c.ComponentVersion) || strings.Contains(c.ComponentVersion, "..")) {
		ps.Add("BG_INIT_COMPONENT_VERSION", "--component-version", "%s is not a version, tag, branch or ~latest", names.Quote(c.ComponentVersion))
	}
}

func (c *Init) validateOut(ps *Problems) {
	switch fi, err := os.Stat(c.Out); {
	case c.Out == "":
		ps.Add("BG_INIT_OUT", "--out", "must not be empty")
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		ps.Add("BG_INIT_OUT", "--out", "%s cannot be a folder: %v", names.Quote(c.Out), unwrapPathError(err))
	case !fi.IsDir():
		ps.Add("BG_INIT_OUT", "--out", "%s is a file, not a folder", names.Quote(c.Out))
	case !c.Force:
		if entries, err := os.ReadDir(c.Out); err != nil || len(entries) > 0 {
			ps.Add("BG_INIT_OUT", "--out", "%s exists and is not empty; choose a new folder, or pass --force to replace the files init writes", names.Quote(c.Out))
		}
	}
}

func hasKustomization(dir string) bool {
	for _, n := range []string{"kustomization.yaml", "kustomization.yml", "Kustomization"} {
		if _, err := os.Lstat(filepath.Join(dir, n)); err == nil {
			return true
		}
	}
	return false
}

// inside reports whether the slash path p lies in the folder dir.
func inside(p, dir string) bool {
	d := path.Clean(filepath.ToSlash(dir))
	return d == "." || strings.HasPrefix(p, d+"/")
}

func notPrintable(r rune) bool { return unicode.IsControl(r) || unicode.IsSpace(r) }
