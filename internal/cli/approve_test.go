package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gitlab.com/platform/bluegreen/internal/gitlab/gitlabtest"
	"gitlab.com/platform/bluegreen/internal/plan"
	"gitlab.com/platform/bluegreen/internal/slack/slackfake"
)

// Secrets the approve tests hand to the binary; none may come out.
const (
	testSlackToken  = "xoxb-CLI-LEAKCHECK-1111-slack"
	testGitLabToken = "glpat-CLI-LEAKCHECK-gitlab"
	testJobToken    = "glcbt-CLI-LEAKCHECK-jobtoken"
)

// writeGreenPlan writes a plan whose green was synced a minute ago.
func writeGreenPlan(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	p := &plan.Plan{Schema: plan.SchemaVersion, App: "checkout", Namespace: "shop", Environment: "production",
		Image: "registry.example.com/shop/checkout:2b1c0b8f", Commit: "2b1c0b8f4a5d6e7f8091a2b3c4d5e6f708192a3b",
		LiveColor: plan.Blue, TargetColor: plan.Green, CreatedAt: time.Now().Add(-time.Hour).UTC(),
		Pipeline: plan.Pipeline{ProjectPath: "shop/checkout", ID: 7001, URL: "https://gitlab.example.com/shop/checkout/-/pipelines/7001"},
		Rendered: plan.Rendered{Dir: "rendered"}}
	p.Rendered.Digest = p.Rendered.Sum()
	p.Append(plan.Result{Stage: plan.Sync, Outcome: "ok", Started: time.Now().Add(-2 * time.Minute), Finished: time.Now().Add(-time.Minute)})
	if err := p.Save(dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

// approveEnv is a manual job's environment: alice pressed play, four-eyes
// and an allowed group are on, GitLab and Slack are the given fakes.
func approveEnv(dir, gitlabURL, slackURL string) map[string]string {
	return map[string]string{
		"BG_OUT": dir, "GITLAB_USER_LOGIN": "alice", "GITLAB_USER_ID": "7", "GITLAB_USER_NAME": "Alice Approver",
		"GITLAB_USER_EMAIL": "alice@example.com", "CI_COMMIT_AUTHOR": "Bob Builder <bob@example.com>",
		"CI_PROJECT_ID": "42", "CI_PROJECT_PATH": "shop/checkout", "CI_PIPELINE_ID": "7001",
		"CI_JOB_URL": "https://gitlab.example.com/shop/checkout/-/jobs/9003", "CI_SERVER_URL": "https://gitlab.example.com",
		"CI_API_V4_URL": gitlabURL, "CI_JOB_TOKEN": testJobToken, "BG_GITLAB_TOKEN": testGitLabToken,
		"BG_APPROVAL_FOUR_EYES": "true", "BG_APPROVAL_GROUPS": "shop/release-managers", "BG_APPROVAL_MAX_AGE": "1h",
		"BG_APPROVAL_REASON": "QA passed", "BG_SLACK_TOKEN": testSlackToken, "BG_SLACK_CHANNEL": "#deploys",
		"BG_SLACK_API_URL": slackURL, "BG_SLACK_TIMEOUT": "5s",
	}
}

func fakeGitLab(t *testing.T) *gitlabtest.Server {
	srv := gitlabtest.New(t, gitlabtest.WithToken(testGitLabToken))
	srv.Pipeline("42", gitlabtest.Pipeline{ID: 7001, User: &gitlabtest.UserRef{ID: 3, Username: "carol"}})
	srv.GroupMember("shop/release-managers", gitlabtest.Member{ID: 7, Username: "alice", AccessLevel: 30})
	return srv
}

func readPlan(t *testing.T, dir string) (*plan.Plan, string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, plan.FileName))
	if err != nil {
		t.Fatal(err)
	}
	p, err := plan.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return p, string(b)
}

// assertNoSecrets fails when any secret shows up in any of the texts.
func assertNoSecrets(t *testing.T, where string, texts ...string) {
	t.Helper()
	for _, s := range []string{testSlackToken, testGitLabToken, testJobToken, "webhooksecret", "deadhooksecret"} {
		for _, txt := range texts {
			if strings.Contains(txt, s) {
				t.Errorf("%s leaks %q", where, s)
			}
		}
	}
}

func slackPayloads(calls []slackfake.Call) string {
	var b strings.Builder
	for _, c := range calls {
		b.WriteString(c.Text + string(c.Blocks) + string(c.Attachments))
	}
	return b.String()
}

func TestApprove_SlackOutageNeverChangesTheExitCode(t *testing.T) {
	t.Parallel()
	deadURL := func(*testing.T) string { return "http://127.0.0.1:1/" } // nothing listens on port 1
	slackStates := []struct {
		name      string
		setup     func(t *testing.T, s *slackfake.Server, env map[string]string)
		delivered bool
	}{
		{"slack up", func(*testing.T, *slackfake.Server, map[string]string) {}, true},
		{"slack 503", func(t *testing.T, s *slackfake.Server, env map[string]string) {
			s.FailAlways(slackfake.PostMessage, slackfake.ServerError(503))
			env["BG_SLACK_RETRIES"] = "1"
		}, false},
		{"slack 429 Retry-After 120", func(t *testing.T, s *slackfake.Server, env map[string]string) {
			s.FailAlways(slackfake.PostMessage, slackfake.RateLimited(120))
		}, false},
		{"slack invalid_auth", func(t *testing.T, s *slackfake.Server, env map[string]string) {
			env["BG_SLACK_TOKEN"] = "xoxb-revoked-token"
		}, false},
		{"slack unreachable, webhook too", func(t *testing.T, s *slackfake.Server, env map[string]string) {
			env["BG_SLACK_API_URL"] = deadURL(t)
			env["BG_SLACK_WEBHOOK_URL"] = strings.TrimSuffix(deadURL(t), "/") + "/services/T1/B1/deadhooksecret"
			env["BG_SLACK_RETRIES"] = "1"
		}, false},
	}
	verdicts := []struct {
		name     string
		freeze   string
		wantCode int
	}{
		{"approved", "false", 0},
		{"refused", "true", 1},
	}
	for _, st := range slackStates {
		for _, v := range verdicts {
			t.Run(st.name+"/"+v.name, func(t *testing.T) {
				t.Parallel()
				dir := writeGreenPlan(t)
				gl := fakeGitLab(t)
				sl := slackfake.New(t, testSlackToken)
				env := approveEnv(dir, gl.APIURL(), sl.APIURL())
				env["CI_DEPLOY_FREEZE"] = v.freeze
				st.setup(t, sl, env)

				start := time.Now()
				code, stdout, stderr := runCLI(t, env, "approve")
				if code != v.wantCode {
					t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, v.wantCode, stdout, stderr)
				}
				if took := time.Since(start); took > 3*time.Second {
					t.Errorf("took %s: Slack held the job up", took)
				}
				p, raw := readPlan(t, dir)
				if (p.Approval != nil) != (v.wantCode == 0) {
					t.Errorf("approval = %+v", p.Approval)
				}
				if p.Approval != nil && (p.Approval.Approver.Login != "alice" || p.Approval.Reason != "QA passed" || len(p.Approval.Rules) != 4) {
					t.Errorf("approval = %+v", p.Approval)
				}
				last := p.Ledger[len(p.Ledger)-1]
				if last.Stage != "approve" || last.Details["approver"] != "alice" {
					t.Errorf("ledger = %+v", last)
				}
				if p.Notifications == nil || len(p.Notifications.Deliveries) != 1 {
					t.Fatalf("notifications = %+v", p.Notifications)
				}
				d := p.Notifications.Deliveries[0]
				if st.delivered != (d.Status == plan.DeliverySent) || (!st.delivered && d.Error == "") {
					t.Errorf("delivery = %+v, want delivered=%v", d, st.delivered)
				}
				if st.delivered && (p.Slack == nil || p.Slack.Channel != "C0DEPLOYS") {
					t.Errorf("plan.Slack = %+v", p.Slack)
				}
				if !st.delivered && !strings.Contains(stdout, "wait for the next stage") {
					t.Errorf("stdout does not say Slack failed:\n%s", stdout)
				}
				var reqs strings.Builder
				for _, r := range gl.Requests() {
					reqs.WriteString(r.Path + "?" + r.Query.Encode() + string(r.Body))
				}
				assertNoSecrets(t, "output, plan, Slack or GitLab URLs", stdout, stderr, raw, slackPayloads(sl.Calls()), reqs.String())
			})
		}
	}
}

func TestApprove_SlackMessageGoesToTheThread(t *testing.T) {
	t.Parallel()
	dir := writeGreenPlan(t) // no thread yet: approve is the first stage to notify
	sl := slackfake.New(t, testSlackToken)
	env := approveEnv(dir, fakeGitLab(t).APIURL(), sl.APIURL())
	code, stdout, stderr := runCLI(t, env, "approve")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	calls := sl.Calls()
	if len(calls) != 2 || calls[0].ThreadTS != "" || calls[1].ThreadTS != calls[0].TS {
		t.Fatalf("calls = %+v, want a head and a reply in its thread", calls)
	}
	if !strings.Contains(slackPayloads(calls[1:]), "approved by *alice* (Alice Approver)") {
		t.Errorf("reply = %s", slackPayloads(calls[1:]))
	}
	p, _ := readPlan(t, dir)
	if p.Slack == nil || p.Slack.ThreadTS != calls[0].TS {
		t.Errorf("plan.Slack = %+v", p.Slack)
	}

	// A second run (someone retries the job) updates the same thread.
	code, _, _ = runCLI(t, env, "approve")
	calls = sl.Calls()
	if code != 0 || len(calls) != 4 || calls[2].Method != slackfake.Update || calls[2].TS != calls[0].TS || calls[3].ThreadTS != calls[0].TS {
		t.Errorf("second run: exit %d, calls %+v", code, calls[2:])
	}
}

func TestApprove_ConfigErrorsNameTheVariable(t *testing.T) {
	t.Parallel()
	dir := writeGreenPlan(t)
	tests := []struct {
		name  string
		edit  func(map[string]string)
		wants []string
	}{
		{"no approver", func(e map[string]string) { delete(e, "GITLAB_USER_LOGIN"); delete(e, "GITLAB_USER_ID") },
			[]string{"GITLAB_USER_LOGIN", "GITLAB_USER_ID"}},
		{"four-eyes without a token", func(e map[string]string) { delete(e, "BG_GITLAB_TOKEN") },
			[]string{"BG_GITLAB_TOKEN", "four-eyes", "CI_JOB_TOKEN cannot"}},
		{"slack token without channel", func(e map[string]string) { delete(e, "BG_SLACK_CHANNEL") },
			[]string{"BG_SLACK_CHANNEL"}},
		{"bad max age", func(e map[string]string) { e["BG_APPROVAL_MAX_AGE"] = "-1h" }, []string{"BG_APPROVAL_MAX_AGE", "--max-age"}},
		{"bad webhook", func(e map[string]string) { e["BG_SLACK_WEBHOOK_URL"] = "not a url " + testSlackToken }, []string{"BG_SLACK_WEBHOOK_URL"}},
		{"broken template", func(e map[string]string) {
			path := filepath.Join(dir, "broken.tmpl")
			os.WriteFile(path, []byte(`{{define "reply"}}{{.Nope}}{{end}}`), 0o644)
			e["BG_SLACK_TEMPLATES"] = path
		}, []string{"BG_SLACK_TEMPLATES"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := approveEnv(dir, "http://127.0.0.1:1/api/v4", "http://127.0.0.1:1/")
			tt.edit(env)
			code, stdout, stderr := runCLI(t, env, "approve")
			if code != 2 {
				t.Fatalf("exit %d, want 2\n%s", code, stderr)
			}
			for _, w := range tt.wants {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr does not name %s:\n%s", w, stderr)
				}
			}
			assertNoSecrets(t, "config error", stdout, stderr)
		})
	}
}

func TestApprove_HelpDocumentsTheRules(t *testing.T) {
	t.Parallel()
	code, out, _ := runCLI(t, nil, "approve", "--help")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"--four-eyes", "$BG_APPROVAL_FOUR_EYES", "--allowed-groups", "--max-age", "--deny-in-freeze", "(default true)", "--reason", "--slack-channel", "BG_GITLAB_TOKEN"} {
		if !strings.Contains(out, want) {
			t.Errorf("help lacks %q", want)
		}
	}
	if strings.Contains(out, "--slack-token") || strings.Contains(out, "--gitlab-token") {
		t.Error("tokens must not have flags")
	}
}

func TestApprove_GitLabRejectingTheTokenIsExit2WithoutLeaks(t *testing.T) {
	t.Parallel()
	dir := writeGreenPlan(t)
	gl := gitlabtest.New(t, gitlabtest.WithToken("glpat-the-one-gitlab-knows"))
	// The fake answers 401 to the wrong token before any route is matched.
	sl := slackfake.New(t, testSlackToken)
	env := approveEnv(dir, gl.APIURL(), sl.APIURL())
	env["BG_VERBOSE"] = "true"
	code, stdout, stderr := runCLI(t, env, "approve")
	if code != 2 || !strings.Contains(stderr, "BG_GITLAB_TOKEN") {
		t.Fatalf("exit %d, want 2 naming the token\n%s", code, stderr)
	}
	if n := len(gl.Requests()); n != 1 {
		t.Errorf("GitLab asked %d times, want once (a 401 is not retried)", n)
	}
	_, raw := readPlan(t, dir)
	assertNoSecrets(t, "a rejected token's run", stdout, stderr, raw, slackPayloads(sl.Calls()))
}
