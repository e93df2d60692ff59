package config

import (
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// MaxReasonLen is the longest approval reason kept, in characters.
const MaxReasonLen = 500

// Approve configures `bluegreen approve`, the body of the manual QA job.
// Every policy rule is off unless configured, except the deploy-freeze rule.
type Approve struct {
	Common
	Notify

	FourEyes      bool          `env:"BG_APPROVAL_FOUR_EYES" flag:"four-eyes" help:"refuse when the approver authored the commit or created the pipeline"`
	AllowedUsers  []string      `env:"BG_APPROVAL_USERS" flag:"allowed-users" help:"comma-separated GitLab usernames allowed to approve"`
	AllowedGroups []string      `env:"BG_APPROVAL_GROUPS" flag:"allowed-groups" help:"comma-separated GitLab group paths whose members (inherited included) may approve"`
	DenyInFreeze  bool          `env:"BG_APPROVAL_DENY_IN_FREEZE, default=true" flag:"deny-in-freeze" help:"refuse during a GitLab deploy freeze (CI_DEPLOY_FREEZE)"`
	MaxAge        time.Duration `env:"BG_APPROVAL_MAX_AGE" flag:"max-age" help:"refuse when green was last synced or verified longer ago than this (0: no limit)"`
	RequireReason bool          `env:"BG_APPROVAL_REQUIRE_REASON" flag:"require-reason" help:"refuse when no reason is given"`
	Reason        string        `env:"BG_APPROVAL_REASON" flag:"reason" help:"why this is approved; set as a variable when pressing play"`

	// The approver's name and email, for the four-eyes rule. In a manual job
	// GitLab sets them for the user who pressed play.
	ApproverName  string `env:"GITLAB_USER_NAME"`
	ApproverEmail string `env:"GITLAB_USER_EMAIL"`
}

// username is a GitLab username, as the allowed-users input gives it.
var username = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}$`)

// Validate checks the approve settings.
func (c *Approve) Validate() error {
	var ps Problems
	c.Common.ValidateWithPlan(&ps)
	c.Notify.Validate(&ps)
	c.AllowedUsers = cleanList(c.AllowedUsers)
	c.AllowedGroups = cleanList(c.AllowedGroups)
	c.Reason = strings.TrimSpace(c.Reason)

	if c.CI.UserLogin == "" {
		ps.Add("GITLAB_USER_LOGIN", "", "required: GitLab sets it to the user who pressed play; set it yourself when running locally")
	}
	if c.CI.UserID <= 0 {
		ps.Add("GITLAB_USER_ID", "", "required: GitLab sets it to the user who pressed play; set it yourself when running locally")
	}
	if c.MaxAge < 0 {
		ps.Add("BG_APPROVAL_MAX_AGE", "--max-age", "must not be negative")
	}
	if n := utf8.RuneCountInString(c.Reason); n > MaxReasonLen {
		ps.Add("BG_APPROVAL_REASON", "--reason", "is %d characters long; at most %d", n, MaxReasonLen)
	}
	for _, u := range c.AllowedUsers {
		if !username.MatchString(u) {
			ps.Add("BG_APPROVAL_USERS", "--allowed-users", "%q is not a GitLab username (letters, digits, '_', '.', '-')", u)
		}
	}
	for _, g := range c.AllowedGroups {
		if strings.HasPrefix(g, "/") || strings.HasSuffix(g, "/") || strings.Contains(g, "//") {
			ps.Add("BG_APPROVAL_GROUPS", "--allowed-groups", "%q is not a group path like platform/release-managers", g)
		}
	}
	if c.FourEyes {
		if c.CI.CommitAuthor == "" {
			ps.Add("CI_COMMIT_AUTHOR", "", "required for the four-eyes rule")
		}
		if c.ApproverEmail == "" && c.ApproverName == "" {
			ps.Add("GITLAB_USER_EMAIL", "", "required for the four-eyes rule (or GITLAB_USER_NAME)")
		}
		if c.CI.ProjectID <= 0 {
			ps.Add("CI_PROJECT_ID", "", "required for the four-eyes rule")
		}
		if c.CI.PipelineID <= 0 {
			ps.Add("CI_PIPELINE_ID", "", "required for the four-eyes rule")
		}
	}
	switch {
	case c.FourEyes && len(c.AllowedGroups) > 0:
		c.GitLab.Require(&ps, c.CI, "the four-eyes rule and BG_APPROVAL_GROUPS")
	case c.FourEyes:
		c.GitLab.Require(&ps, c.CI, "the four-eyes rule (the pipeline's creator)")
	case len(c.AllowedGroups) > 0:
		c.GitLab.Require(&ps, c.CI, "BG_APPROVAL_GROUPS (group membership)")
	}
	return ps.Err()
}

// NeedsGitLab reports whether the policy makes GitLab API calls.
func (c *Approve) NeedsGitLab() bool { return c.FourEyes || len(c.AllowedGroups) > 0 }

// cleanList trims the items of a comma-separated list and drops empty ones.
func cleanList(in []string) []string {
	var out []string
	for _, s := range in {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
