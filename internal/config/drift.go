package config

import (
	"net"
	"time"
)

// Drift configures `bluegreen drift`. Without BG_APP it checks every app
// with an active Service in the namespace; BG_GITOPS_PATH and
// BG_ARGOCD_APP may then contain "{app}".
type Drift struct {
	Common
	Notify
	GitOps        GitOps
	ArgoCD        ArgoCD
	Fix           bool          `env:"BG_DRIFT_FIX" flag:"fix" help:"repair what is safe to repair: a pending git reconcile left by a fast-path rollback, and an idle colour past its rollback window (one GitOps commit each, synced by Argo CD)"`
	IssuesProject string        `env:"BG_DRIFT_ISSUES_PROJECT" flag:"issues-project" help:"GitLab project (path or ID) that holds the environment's drift issue (default: $CI_PROJECT_ID); \"none\" keeps no issue"`
	IssueLabel    string        `env:"BG_DRIFT_ISSUE_LABEL, default=bluegreen-drift" flag:"issue-label" help:"label that marks drift issues"`
	KeepRevisions int           `env:"BG_DRIFT_KEEP_REVISIONS, default=0" flag:"keep-revisions" help:"unreferenced coloured ConfigMaps and Secrets kept per name and colour before they count as orphans"`
	Timeout       time.Duration `env:"BG_TIMEOUT, default=5m" flag:"timeout" help:"deadline of each --fix repair's Argo CD sync"`
	Drain         time.Duration `env:"BG_DRAIN, default=30s" flag:"drain" help:"--fix: how long after the switch a colour's pods must have been out of the active Services' endpoints before it is scaled down (the time proxies and load balancers need)"`
	LockTTL       time.Duration `env:"BG_LOCK_TTL, default=30s" flag:"lock-ttl" help:"how long the environment lock a --fix repair takes outlives a killed job"`
}

// Validate checks the drift settings. GitLab is required (the GitOps repo
// is read through it); Argo CD is optional: without BG_ARGOCD_SERVER its
// check is skipped.
func (c *Drift) Validate() error {
	var ps Problems
	c.Common.ValidateWithPlan(&ps) // BG_APP is optional
	c.Notify.Validate(&ps)
	c.GitOps.validate(&ps)
	if !c.GitLab.Token.IsSet() {
		ps.Add("BG_GITLAB_TOKEN", "", "required: an access token with read_api on the GitOps project, api (Reporter) on the drift issues' project, and Developer on the GitOps project for --fix")
	}
	if c.GitLab.URL(c.CI) == "" {
		ps.Add("BG_GITLAB_API_URL", "--gitlab-api-url", "required (GitLab sets CI_API_V4_URL in CI)")
	}
	if a := c.ArgoCD; a.Server != "" {
		if _, _, err := net.SplitHostPort(a.Server); err != nil {
			ps.Add("BG_ARGOCD_SERVER", "--argocd-server", "%q is not host:port", a.Server)
		}
		if !a.Token.IsSet() {
			ps.Add("BG_ARGOCD_TOKEN", "", "required with BG_ARGOCD_SERVER: an Argo CD account token with applications get (and sync, for --fix) on the apps checked")
		}
	} else if c.Fix {
		ps.Add("BG_ARGOCD_SERVER", "--argocd-server", "required with --fix: every repair is synced by Argo CD")
	}
	if c.IssueLabel == "" {
		ps.Add("BG_DRIFT_ISSUE_LABEL", "--issue-label", "must not be empty")
	}
	if c.KeepRevisions < 0 {
		ps.Add("BG_DRIFT_KEEP_REVISIONS", "--keep-revisions", "must not be negative")
	}
	if c.Timeout <= 0 {
		ps.Add("BG_TIMEOUT", "--timeout", "must be positive")
	}
	if c.LockTTL < 3*time.Second {
		ps.Add("BG_LOCK_TTL", "--lock-ttl", "must be at least 3s")
	}
	return ps.Err()
}
