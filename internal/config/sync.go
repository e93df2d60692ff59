package config

import (
	"net"
	"path"
	"strings"
	"time"
)

// Sync configures `bluegreen sync`.
type Sync struct {
	Common
	Notify
	GitOps  GitOps
	ArgoCD  ArgoCD
	Timeout time.Duration `env:"BG_TIMEOUT, default=10m" flag:"timeout" help:"deadline for Argo CD to sync and green to be proven; past it the job exits 3"`
	DryRun  bool          `env:"BG_DRY_RUN" flag:"dry-run" help:"change nothing: show the files the commit would change and the diff against the live cluster; exit 1 when there are changes"`
}

// GitOps locates the app's folder in the GitOps repository.
type GitOps struct {
	Project string `env:"BG_GITOPS_PROJECT" flag:"gitops-project" help:"GitOps project path or ID, e.g. platform/gitops"`
	Branch  string `env:"BG_GITOPS_BRANCH, default=main" flag:"gitops-branch" help:"GitOps branch Argo CD follows"`
	Path    string `env:"BG_GITOPS_PATH" flag:"gitops-path" help:"the app's folder in the GitOps repo, holding blue/, green/ and shared/ (default: <environment>/<app>)"`
}

// ArgoCD configures the Argo CD API.
type ArgoCD struct {
	Server    string `env:"BG_ARGOCD_SERVER" flag:"argocd-server" help:"Argo CD API server, host:port"`
	Token     Secret `env:"BG_ARGOCD_TOKEN"`
	App       string `env:"BG_ARGOCD_APP" flag:"argocd-app" help:"the Argo CD Application that deploys the GitOps folder"`
	GRPCWeb   bool   `env:"BG_ARGOCD_GRPC_WEB" flag:"argocd-grpc-web" help:"use gRPC-Web, for proxies that do not pass HTTP/2"`
	PlainText bool   `env:"BG_ARGOCD_PLAINTEXT" flag:"argocd-plaintext" help:"no TLS (an argocd-server started with --insecure)"`
	Insecure  bool   `env:"BG_ARGOCD_INSECURE" flag:"argocd-insecure" help:"TLS without verifying the certificate; never in production"`
}

// Validate checks the sync settings.
func (c *Sync) Validate() error {
	var ps Problems
	c.Common.ValidateWithPlan(&ps)
	c.Notify.Validate(&ps)
	c.GitOps.validate(&ps)
	if !c.GitLab.Token.IsSet() {
		ps.Add("BG_GITLAB_TOKEN", "", "required: a project access token of the GitOps project with the api scope and the Developer role (CI_JOB_TOKEN cannot commit to another project)")
	}
	if c.GitLab.URL(c.CI) == "" {
		ps.Add("BG_GITLAB_API_URL", "--gitlab-api-url", "required (GitLab sets CI_API_V4_URL in CI)")
	}
	if !c.DryRun {
		c.ArgoCD.validate(&ps)
	}
	if c.Timeout <= 0 {
		ps.Add("BG_TIMEOUT", "--timeout", "must be positive")
	}
	return ps.Err()
}

func (g *GitOps) validate(ps *Problems) {
	if g.Project == "" {
		ps.Add("BG_GITOPS_PROJECT", "--gitops-project", "required")
	}
	if g.Branch == "" {
		ps.Add("BG_GITOPS_BRANCH", "--gitops-branch", "must not be empty")
	}
	if p := g.Path; p != "" && (strings.HasPrefix(p, "/") || path.Clean(p) != strings.TrimSuffix(p, "/") || strings.Contains(p, "..")) {
		ps.Add("BG_GITOPS_PATH", "--gitops-path", "%q is not a clean relative folder", p)
	}
}

func (a *ArgoCD) validate(ps *Problems) {
	if a.Server == "" {
		ps.Add("BG_ARGOCD_SERVER", "--argocd-server", "required")
	} else if _, _, err := net.SplitHostPort(a.Server); err != nil {
		ps.Add("BG_ARGOCD_SERVER", "--argocd-server", "%q is not host:port", a.Server)
	}
	if !a.Token.IsSet() {
		ps.Add("BG_ARGOCD_TOKEN", "", "required: an Argo CD account token with applications get and sync on this app")
	}
	if a.App == "" {
		ps.Add("BG_ARGOCD_APP", "--argocd-app", "required")
	}
}

// Folder is the app's folder in the GitOps repo: BG_GITOPS_PATH, else
// <environment>/<app>, else <app>.
func (g *GitOps) Folder(environment, app string) string {
	if g.Path != "" {
		return strings.TrimSuffix(g.Path, "/")
	}
	if environment != "" {
		return environment + "/" + app
	}
	return app
}
