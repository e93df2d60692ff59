package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gitlab.com/platform/bluegreen/internal/redact"
)

// Verify configures `bluegreen verify`.
//
// With a plan.json in BG_OUT the app, namespace and colours come from it,
// and the flags below, when given, must agree with it (they never rewrite
// the plan). Without one, --app, --namespace, --target-color and
// --live-color are required.
type Verify struct {
	Common
	Notify

	Prometheus
	Since       string `env:"BG_SINCE" flag:"since" help:"start of the target colour's observation: an RFC 3339 time, or a duration ago such as 30m (default: when sync finished, from plan.json; without a plan, now). A window that ended more than an interval ago is not judged: the newest complete one is"`
	TargetColor string `env:"BG_TARGET_COLOR" flag:"target-color" help:"the colour under test, blue or green (with a plan.json: must match it)"`
	LiveColor   string `env:"BG_LIVE_COLOR" flag:"live-color" help:"the live colour to compare with: blue, green or none on a first release (with a plan.json: must match it)"`
}

// Prometheus is what verify and monitor need to judge the checks file.
type Prometheus struct {
	PrometheusURL     string        `env:"BG_PROMETHEUS_URL" flag:"prometheus" help:"Prometheus base URL, e.g. http://prometheus.monitoring:9090"`
	PrometheusToken   Secret        `env:"BG_PROMETHEUS_TOKEN"` // bearer token; no flag, as a flag shows in ps and shell history
	PrometheusTimeout time.Duration `env:"BG_PROMETHEUS_TIMEOUT, default=30s" flag:"prometheus-timeout" help:"time one Prometheus query may take"`
	PrometheusRetries int           `env:"BG_PROMETHEUS_RETRIES, default=4" flag:"prometheus-retries" help:"attempts per Prometheus query (transient failures only)"`
	Checks            string        `env:"BG_CHECKS" flag:"checks" help:"the checks file (YAML): PromQL queries with their limits, windows and intervals"`
	Settle            time.Duration `env:"BG_VERIFY_SETTLE, default=15s" flag:"settle" help:"how long after an interval ends its data is trusted (scrape and ingestion delay); only live intervals wait"`
}

func (c *Prometheus) validate(ps *Problems) {
	switch {
	case c.PrometheusURL == "":
		ps.Add("BG_PROMETHEUS_URL", "--prometheus", "required")
	case !isHTTPURL(c.PrometheusURL):
		ps.Add("BG_PROMETHEUS_URL", "--prometheus", "%q is not an http(s) URL", redact.URL(c.PrometheusURL))
	}
	if c.Checks == "" {
		ps.Add("BG_CHECKS", "--checks", "required")
	} else if _, err := os.Stat(c.Checks); err != nil {
		ps.Add("BG_CHECKS", "--checks", "%q cannot be read: %v", c.Checks, unwrapPathError(err))
	}
	if c.PrometheusTimeout <= 0 {
		ps.Add("BG_PROMETHEUS_TIMEOUT", "--prometheus-timeout", "must be positive")
	}
	if c.PrometheusRetries < 1 {
		ps.Add("BG_PROMETHEUS_RETRIES", "--prometheus-retries", "must be at least 1")
	}
	if c.Settle < 0 {
		ps.Add("BG_VERIFY_SETTLE", "--settle", "must not be negative")
	}
}

// HasPlan reports whether BG_OUT holds a plan.json to verify.
func (c *Verify) HasPlan() bool {
	_, err := os.Stat(filepath.Join(c.OutDir, "plan.json"))
	return err == nil
}

// Validate checks the verify settings.
func (c *Verify) Validate() error {
	var ps Problems
	c.Notify.Validate(&ps)
	if c.HasPlan() {
		c.Common.ValidateWithPlan(&ps)
	} else {
		c.Common.Validate(&ps)
		if c.Namespace == "" {
			ps.Add("BG_NAMESPACE", "--namespace", "required without a plan.json in %s", c.OutDir)
		}
		for _, req := range []struct{ v, env, flag string }{{c.TargetColor, "BG_TARGET_COLOR", "--target-color"}, {c.LiveColor, "BG_LIVE_COLOR", "--live-color"}} {
			if req.v == "" {
				ps.Add(req.env, req.flag, "required without a plan.json in %s", c.OutDir)
			}
		}
	}
	switch c.TargetColor {
	case "", "blue", "green":
	default:
		ps.Add("BG_TARGET_COLOR", "--target-color", "%q is not blue or green", c.TargetColor)
	}
	switch c.LiveColor {
	case "", "blue", "green", "none":
	default:
		ps.Add("BG_LIVE_COLOR", "--live-color", "%q is not blue, green or none", c.LiveColor)
	}
	if c.TargetColor != "" && c.TargetColor == c.LiveColor {
		ps.Add("BG_TARGET_COLOR", "--target-color", "is the live colour too; verify judges the other colour")
	}
	c.Prometheus.validate(&ps)
	if _, _, err := c.SinceAt(time.Now()); err != nil {
		ps.Add("BG_SINCE", "--since", "%v", err)
	}
	return ps.Err()
}

// SinceAt resolves BG_SINCE against now: an RFC 3339 time, or a duration
// ago. ok is false when it is not set.
func (c *Verify) SinceAt(now time.Time) (at time.Time, ok bool, err error) {
	s := strings.TrimSpace(c.Since)
	if s == "" {
		return time.Time{}, false, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		if t.After(now.Add(time.Minute)) {
			return time.Time{}, false, fmt.Errorf("%s is in the future", s)
		}
		return t, true, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return time.Time{}, false, fmt.Errorf("%q is neither an RFC 3339 time (2026-11-26T12:00:00Z) nor a duration ago (30m)", s)
	}
	return now.Add(-d), true, nil
}
