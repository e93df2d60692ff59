package config

import (
	"strings"
	"testing"
	"time"
)

func validNotify() Notify {
	return Notify{SlackAPIURL: "https://slack.com/api/", SlackTimeout: 30 * time.Second, SlackRetries: 3,
		ApproveJob: "approve", GitLab: GitLab{Retries: 4}}
}

func TestNotify_ValidateNamesVariablesWithoutEchoingSecrets(t *testing.T) {
	t.Parallel()
	n := validNotify()
	n.SlackToken = "xoxb-secret-value-123"
	n.SlackWebhookURL = "hooks.slack.com/services/T/B/secretpath"
	n.SlackTimeout = 0
	var ps Problems
	n.Validate(&ps)
	msg := ps.Error()
	for _, want := range []string{"BG_SLACK_CHANNEL", "BG_SLACK_WEBHOOK_URL", "BG_SLACK_TIMEOUT"} {
		if !strings.Contains(msg, want) {
			t.Errorf("problems do not name %s: %s", want, msg)
		}
	}
	if strings.Contains(msg, "secret") {
		t.Errorf("problems echo a secret: %s", msg)
	}
}

func TestNotify_NothingIsRequired(t *testing.T) {
	t.Parallel()
	n := validNotify()
	var ps Problems
	n.Validate(&ps)
	if ps.Err() != nil || n.SlackEnabled() {
		t.Errorf("problems %v, slack enabled %v", ps.Err(), n.SlackEnabled())
	}
}

func TestGitLab_URLFallsBackToCI(t *testing.T) {
	t.Parallel()
	g := GitLab{}
	if got := g.URL(CI{APIURL: "https://gitlab.example.com/api/v4"}); got != "https://gitlab.example.com/api/v4" {
		t.Errorf("URL = %q", got)
	}
	g.APIURL = "https://other.example.com"
	if got := g.URL(CI{APIURL: "https://gitlab.example.com/api/v4"}); got != "https://other.example.com" {
		t.Errorf("URL = %q", got)
	}
}

func TestApprove_ValidateCleansListsAndRequiresWhatRulesNeed(t *testing.T) {
	t.Parallel()
	c := Approve{Common: Common{OutDir: ".bluegreen", CI: CI{UserLogin: "alice", UserID: 7}}, Notify: validNotify(),
		FourEyes: true, AllowedUsers: []string{" bob", "", "carol "}, AllowedGroups: []string{"shop/release ", "/bad"}}
	err := c.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"CI_COMMIT_AUTHOR", "GITLAB_USER_EMAIL", "CI_PROJECT_ID", "CI_PIPELINE_ID", "BG_GITLAB_TOKEN", "BG_GITLAB_API_URL", `"/bad"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %s: %v", want, err)
		}
	}
	if strings.Join(c.AllowedUsers, ",") != "bob,carol" || c.AllowedGroups[0] != "shop/release" {
		t.Errorf("lists = %q %q", c.AllowedUsers, c.AllowedGroups)
	}
	if !c.NeedsGitLab() {
		t.Error("four-eyes needs GitLab")
	}

	ok := Approve{Common: Common{OutDir: ".bluegreen", CI: CI{UserLogin: "alice", UserID: 7}}, Notify: validNotify(), DenyInFreeze: true}
	if err := ok.Validate(); err != nil || ok.NeedsGitLab() {
		t.Errorf("minimal config: %v, needs GitLab %v", err, ok.NeedsGitLab())
	}
}

// The inputs with an empty default carry no regex in the templates (GitLab
// versions before the fix of gitlab-org/gitlab#477707 refuse one), so the
// binary refuses what the regex used to.
func TestValidate_InputsWithoutARegexAreCheckedHere(t *testing.T) {
	t.Parallel()
	for _, job := range []string{"", "approve", "checkout-approve", "a_b-approve"} {
		n := validNotify()
		n.ApproveJob = job
		var ps Problems
		if n.Validate(&ps); ps.Err() != nil {
			t.Errorf("approve job %q: %v", job, ps.Err())
		}
	}
	for _, job := range []string{"x: y approve", "pre\napprove", "$(id)approve", strings.Repeat("a", 256)} {
		n := validNotify()
		n.ApproveJob = job
		var ps Problems
		if n.Validate(&ps); ps.Err() == nil || !strings.Contains(ps.Err().Error(), "BG_APPROVE_JOB") || !strings.Contains(ps.Err().Error(), "job-prefix") {
			t.Errorf("approve job %q: %v, want a problem naming BG_APPROVE_JOB and job-prefix", job, ps.Err())
		}
	}
	c := Approve{Common: Common{OutDir: ".bluegreen", CI: CI{UserLogin: "alice", UserID: 7}}, Notify: validNotify(), DenyInFreeze: true,
		AllowedUsers: []string{"bob", "carol.smith", "x y", "<script>"}}
	err := c.Validate()
	if err == nil {
		t.Fatal("bad usernames accepted")
	}
	for _, want := range []string{`"x y" is not a GitLab username`, `"<script>" is not a GitLab username`, "BG_APPROVAL_USERS"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %s: %v", want, err)
		}
	}
	if strings.Contains(err.Error(), `"bob"`) || strings.Contains(err.Error(), "carol.smith") {
		t.Errorf("good usernames refused: %v", err)
	}
}
