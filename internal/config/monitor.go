package config

import "time"

// Monitor configures `bluegreen monitor`: the checks file judged on the
// new live colour after promote, and the fast rollback it takes on a fail.
type Monitor struct {
	Common
	Notify
	Prometheus
	GitOps GitOps
	ArgoCD ArgoCD
	Bake   time.Duration `env:"BG_BAKE, default=10m" flag:"bake" help:"how long to watch the new live colour after the switch; at most the rollback window promote kept the old colour warm for"`
	// OnInconclusive is what an inconclusive verdict does to traffic.
	OnInconclusive string        `env:"BG_ON_INCONCLUSIVE, default=hold" flag:"on-inconclusive" help:"hold (leave traffic on the new colour and exit 1) or rollback (switch back, as on a fail)"`
	Timeout        time.Duration `env:"BG_TIMEOUT, default=10m" flag:"timeout" help:"deadline for a rollback's proof and git reconcile; past it the job exits 3"`
	Direct         bool          `env:"BG_DIRECT" flag:"direct" help:"an app not deployed through GitOps: a rollback patches the Services and reconciles nothing"`
	LockTTL        time.Duration `env:"BG_LOCK_TTL, default=30s" flag:"lock-ttl" help:"how long the environment lock outlives a killed job"`
	// The rollback's capacity matching and drain, as rollback's.
	NoCapacityMatch bool          `env:"BG_NO_CAPACITY_MATCH" flag:"no-capacity-match" help:"rollback: switch back without first scaling the previous colour to the new colour's ready replicas"`
	Drain           time.Duration `env:"BG_DRAIN, default=30s" flag:"drain" help:"rollback: how long the new colour's pods are out of every active Service's endpoints before it is scaled down (the time proxies and load balancers need)"`
}

// Validate checks the monitor settings.
func (c *Monitor) Validate() error {
	var ps Problems
	c.Common.ValidateWithPlan(&ps)
	c.Notify.Validate(&ps)
	c.Prometheus.validate(&ps)
	if !c.Direct {
		validateGitOpsSwitch(&ps, c.GitOps, c.GitLab, c.CI, c.ArgoCD, "the rollback reconciles git after the fast switch")
	}
	if c.Bake <= 0 {
		ps.Add("BG_BAKE", "--bake", "must be positive")
	}
	switch c.OnInconclusive {
	case "hold", "rollback":
	default:
		ps.Add("BG_ON_INCONCLUSIVE", "--on-inconclusive", "%q: want hold or rollback", c.OnInconclusive)
	}
	if c.Timeout <= 0 {
		ps.Add("BG_TIMEOUT", "--timeout", "must be positive")
	}
	if c.LockTTL < 3*time.Second {
		ps.Add("BG_LOCK_TTL", "--lock-ttl", "must be at least 3s")
	}
	return ps.Err()
}
