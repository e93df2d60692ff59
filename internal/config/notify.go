package config

import (
	"net/url"
	"os"
	"regexp"
	"time"
)

// Notify configures the Slack messages every mode sends, and the GitLab API
// access behind their links. Mode configs embed it next to Common.
//
// Tokens have no flags: a token on a command line shows in `ps` and in shell
// history. Set them as masked, protected CI/CD variables.
type Notify struct {
	SlackToken      Secret        `env:"BG_SLACK_TOKEN"`
	SlackChannel    string        `env:"BG_SLACK_CHANNEL" flag:"slack-channel" help:"Slack channel for the deployment thread, e.g. #deploys (needs BG_SLACK_TOKEN)"`
	SlackWebhookURL Secret        `env:"BG_SLACK_WEBHOOK_URL"`
	SlackAPIURL     string        `env:"BG_SLACK_API_URL, default=https://slack.com/api/" flag:"slack-api-url" help:"Slack Web API base URL"`
	SlackTemplates  string        `env:"BG_SLACK_TEMPLATES" flag:"slack-templates" help:"a .tmpl file, or a folder of them, overriding the Slack message templates"`
	SlackTimeout    time.Duration `env:"BG_SLACK_TIMEOUT, default=30s" flag:"slack-timeout" help:"time a stage may spend on Slack, retries included; past it the message waits for the next stage"`
	SlackRetries    int           `env:"BG_SLACK_RETRIES, default=3" flag:"slack-retries" help:"attempts per Slack request"`
	ArgoCDURL       string        `env:"BG_ARGOCD_URL"` // Argo CD web UI, for links; no flag, as sync may own one
	ApproveJob      string        `env:"BG_APPROVE_JOB, default=approve" flag:"approve-job" help:"name of the manual approve job, whose play link the messages carry"`
	GitLab          GitLab
}

// GitLab configures bluegreen's own GitLab API access (not CI_JOB_TOKEN's).
type GitLab struct {
	APIURL  string `env:"BG_GITLAB_API_URL" flag:"gitlab-api-url" help:"GitLab API v4 URL (default: $CI_API_V4_URL)"`
	Token   Secret `env:"BG_GITLAB_TOKEN"`
	Retries int    `env:"BG_GITLAB_RETRIES, default=4" flag:"gitlab-retries" help:"attempts per GitLab API request"`
}

// SlackEnabled reports whether any Slack transport is configured.
func (n *Notify) SlackEnabled() bool { return n.SlackToken.IsSet() || n.SlackWebhookURL.IsSet() }

// Validate checks the notification settings. Nothing here is required: with
// no Slack token and no webhook, stages simply send no messages.
func (n *Notify) Validate(ps *Problems) {
	if n.SlackToken.IsSet() && n.SlackChannel == "" {
		ps.Add("BG_SLACK_CHANNEL", "--slack-channel", "required when BG_SLACK_TOKEN is set")
	}
	if n.SlackWebhookURL.IsSet() && !isHTTPURL(n.SlackWebhookURL.Reveal()) {
		// Never echo the value: the webhook URL is the credential.
		ps.Add("BG_SLACK_WEBHOOK_URL", "", "is not an http(s) URL")
	}
	if !isHTTPURL(n.SlackAPIURL) {
		ps.Add("BG_SLACK_API_URL", "--slack-api-url", "%q is not an http(s) URL", n.SlackAPIURL)
	}
	if n.SlackTemplates != "" {
		if _, err := os.Stat(n.SlackTemplates); err != nil {
			ps.Add("BG_SLACK_TEMPLATES", "--slack-templates", "%q cannot be read: %v", n.SlackTemplates, unwrapPathError(err))
		}
	}
	if n.SlackTimeout <= 0 {
		ps.Add("BG_SLACK_TIMEOUT", "--slack-timeout", "must be positive")
	}
	if n.SlackRetries < 1 {
		ps.Add("BG_SLACK_RETRIES", "--slack-retries", "must be at least 1")
	}
	// The approve job's name carries the components' job-prefix input,
	// which has no regex there (GitLab versions before the fix of
	// gitlab-org/gitlab#477707 refuse a regex on an empty default).
	if !jobName.MatchString(n.ApproveJob) {
		ps.Add("BG_APPROVE_JOB", "--approve-job", "%q is not a job name of letters, digits, '_' and '-' (check the job-prefix input)", n.ApproveJob)
	}
	if n.ArgoCDURL != "" && !isHTTPURL(n.ArgoCDURL) {
		ps.Add("BG_ARGOCD_URL", "", "%q is not an http(s) URL", n.ArgoCDURL)
	}
	n.GitLab.Validate(ps)
}

// jobName is a bluegreen job's name: the job-prefix input and the mode
// (empty: no approve job, so no play link).
var jobName = regexp.MustCompile(`^[A-Za-z0-9_-]{0,255}$`)

// Validate checks the GitLab API settings that are set.
func (g *GitLab) Validate(ps *Problems) {
	if g.APIURL != "" && !isHTTPURL(g.APIURL) {
		ps.Add("BG_GITLAB_API_URL", "--gitlab-api-url", "%q is not an http(s) URL", g.APIURL)
	}
	if g.Retries < 1 {
		ps.Add("BG_GITLAB_RETRIES", "--gitlab-retries", "must be at least 1")
	}
}

// URL is the API URL to use: BG_GITLAB_API_URL, else GitLab's CI_API_V4_URL.
func (g *GitLab) URL(ci CI) string {
	if g.APIURL != "" {
		return g.APIURL
	}
	return ci.APIURL
}

// Require adds a problem for every setting a GitLab API call needs that is
// missing; why says what needs it, e.g. "the four-eyes rule".
func (g *GitLab) Require(ps *Problems, ci CI, why string) {
	if !g.Token.IsSet() {
		ps.Add("BG_GITLAB_TOKEN", "", "required for %s: a project or group access token with read_api (see internal/approve/README.md); CI_JOB_TOKEN cannot read these endpoints", why)
	}
	if g.URL(ci) == "" {
		ps.Add("BG_GITLAB_API_URL", "--gitlab-api-url", "required for %s (GitLab sets CI_API_V4_URL in CI)", why)
	}
}

func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}
