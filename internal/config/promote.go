package config

import "time"

// Switch configures `bluegreen promote` and `bluegreen rollback`.
type Switch struct {
	Common
	Notify
	GitOps  GitOps
	ArgoCD  ArgoCD
	Timeout time.Duration `env:"BG_TIMEOUT, default=10m" flag:"timeout" help:"deadline for Argo CD to sync and the switch to be proven; past it the job exits 3"`
	Direct  bool          `env:"BG_DIRECT" flag:"direct" help:"switch by patching the active Services, without a GitOps commit (for apps not deployed by Argo CD)"`
	Window  time.Duration `env:"BG_ROLLBACK_WINDOW, default=10m" flag:"rollback-window" help:"promote: how long the old colour stays up for an instant rollback"`
	Now     bool          `env:"BG_NOW" flag:"now" help:"rollback: patch the live Services first (traffic back within a second), then reconcile git and Argo CD"`
	LockTTL time.Duration `env:"BG_LOCK_TTL, default=30s" flag:"lock-ttl" help:"how long the environment lock outlives a killed job"`
	// NoCapacityMatch switches to a target smaller than the live colour.
	NoCapacityMatch bool `env:"BG_NO_CAPACITY_MATCH" flag:"no-capacity-match" help:"switch without first scaling the target colour (or raising its HPA's minReplicas) to the live colour's ready replicas and waiting for them"`
	// Drain is how long a retired colour's pods are out of the active
	// Services' endpoints before it is scaled down.
	Drain time.Duration `env:"BG_DRAIN, default=30s" flag:"drain" help:"rollback: how long the failed colour's pods are out of every active Service's endpoints before it is scaled down (the time proxies and load balancers need to stop sending it new connections)"`
	// UnlessHeld makes the rollback after a failed monitor leave alone the
	// traffic monitor chose to hold on an inconclusive verdict.
	UnlessHeld bool `env:"BG_UNLESS_HELD" flag:"unless-held" help:"rollback: change nothing when monitor held traffic on the new colour after an inconclusive verdict (the job after a failed monitor)"`
	// What promote requires of the plan: the evidence chain.
	RequireVerification bool          `env:"BG_REQUIRE_VERIFICATION, default=true" flag:"require-verification" help:"promote: refuse without a passing verification of this release (false only for a pipeline with no verify job)"`
	RequireApproval     bool          `env:"BG_REQUIRE_APPROVAL, default=true" flag:"require-approval" help:"promote: refuse without an approval of the digest being promoted (false only for a pipeline with no approve job)"`
	MaxAge              time.Duration `env:"BG_MAX_AGE" flag:"max-age" help:"promote: refuse a verification older than this (0: no limit)"`
}

// validateGitOpsSwitch checks what a switch through git and Argo CD needs;
// token says what BG_GITLAB_TOKEN must be.
func validateGitOpsSwitch(ps *Problems, g GitOps, gl GitLab, ci CI, a ArgoCD, token string) {
	g.validate(ps)
	if !gl.Token.IsSet() {
		ps.Add("BG_GITLAB_TOKEN", "", "required unless --direct: %s", token)
	}
	if gl.URL(ci) == "" {
		ps.Add("BG_GITLAB_API_URL", "--gitlab-api-url", "required unless --direct (GitLab sets CI_API_V4_URL in CI)")
	}
	a.validate(ps)
}

// Validate checks the switch settings.
func (c *Switch) Validate() error {
	var ps Problems
	c.Common.ValidateWithPlan(&ps)
	c.Notify.Validate(&ps)
	if !c.Direct {
		validateGitOpsSwitch(&ps, c.GitOps, c.GitLab, c.CI, c.ArgoCD, "a project access token of the GitOps project with the api scope and the Developer role")
	}
	if c.Timeout <= 0 {
		ps.Add("BG_TIMEOUT", "--timeout", "must be positive")
	}
	if c.Window < 0 {
		ps.Add("BG_ROLLBACK_WINDOW", "--rollback-window", "must not be negative")
	}
	if c.MaxAge < 0 {
		ps.Add("BG_MAX_AGE", "--max-age", "must not be negative")
	}
	if c.Drain < 0 {
		ps.Add("BG_DRAIN", "--drain", "must not be negative")
	}
	if c.LockTTL < 3*time.Second {
		ps.Add("BG_LOCK_TTL", "--lock-ttl", "must be at least 3s")
	}
	return ps.Err()
}
