package config

import (
	"net"
	"os"
	"time"

	"gitlab.com/platform/bluegreen/internal/redact"
)

// Doctor configures `bluegreen doctor`: the pipeline's own settings, each
// system checked when its settings are there and skipped when they are
// not. Only BG_APP is required.
type Doctor struct {
	Common
	Notify
	Prometheus
	GitOps        GitOps
	ArgoCD        ArgoCD
	AllowedGroups []string      `env:"BG_APPROVAL_GROUPS" flag:"allowed-groups" help:"approve's allowed-groups: their membership reads are checked"`
	Timeout       time.Duration `env:"BG_TIMEOUT, default=2m" flag:"timeout" help:"deadline for all the checks; a system that has not answered by then is unreachable"`
}

// Validate checks the doctor settings that are set.
func (c *Doctor) Validate() error {
	var ps Problems
	c.Common.Validate(&ps)
	c.Notify.Validate(&ps)
	c.AllowedGroups = cleanList(c.AllowedGroups)
	if c.GitOps.Project != "" || len(c.AllowedGroups) > 0 {
		if c.GitOps.Project != "" {
			c.GitOps.validate(&ps)
		}
		c.GitLab.Require(&ps, c.CI, "the GitLab checks")
	}
	if a := c.ArgoCD; a.Server != "" {
		if _, _, err := net.SplitHostPort(a.Server); err != nil {
			ps.Add("BG_ARGOCD_SERVER", "--argocd-server", "%q is not host:port", a.Server)
		}
		if !a.Token.IsSet() {
			ps.Add("BG_ARGOCD_TOKEN", "", "required with BG_ARGOCD_SERVER")
		}
		if a.App == "" {
			ps.Add("BG_ARGOCD_APP", "--argocd-app", "required with BG_ARGOCD_SERVER")
		}
	}
	if p := c.Prometheus; p.PrometheusURL != "" {
		if !isHTTPURL(p.PrometheusURL) {
			ps.Add("BG_PROMETHEUS_URL", "--prometheus", "%q is not an http(s) URL", redact.URL(p.PrometheusURL))
		}
		if p.PrometheusTimeout <= 0 {
			ps.Add("BG_PROMETHEUS_TIMEOUT", "--prometheus-timeout", "must be positive")
		}
		if p.PrometheusRetries < 1 {
			ps.Add("BG_PROMETHEUS_RETRIES", "--prometheus-retries", "must be at least 1")
		}
	}
	if c.Checks != "" {
		if _, err := os.Stat(c.Checks); err != nil {
			ps.Add("BG_CHECKS", "--checks", "%q cannot be read: %v", c.Checks, unwrapPathError(err))
		}
	}
	if c.Timeout <= 0 {
		ps.Add("BG_TIMEOUT", "--timeout", "must be positive")
	}
	return ps.Err()
}
