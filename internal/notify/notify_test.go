package notify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gitlab.com/platform/bluegreen/internal/config"
	"gitlab.com/platform/bluegreen/internal/gitlab"
	"gitlab.com/platform/bluegreen/internal/gitlab/gitlabtest"
	"gitlab.com/platform/bluegreen/internal/notify"
	"gitlab.com/platform/bluegreen/internal/plan"
	"gitlab.com/platform/bluegreen/internal/slack"
	"gitlab.com/platform/bluegreen/internal/slack/slackfake"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

const (
	slackToken  = "xoxb-NOTIFY-TEST-0000-secret"
	gitlabToken = "glpat-NOTIFY-TEST-secret"
)

var t0 = time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)

// clock is a test clock that moves only when told.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func basePlan() *plan.Plan {
	return &plan.Plan{
		Schema: plan.SchemaVersion, App: "checkout", Namespace: "shop", Environment: "production",
		Commit: "2b1c0b8f4a5d6e7f8091a2b3c4d5e6f708192a3b", Image: "registry.example.com/shop/checkout:2b1c0b8f",
		LiveColor: plan.Blue, TargetColor: plan.Green,
		Pipeline:  plan.Pipeline{ProjectPath: "shop/checkout", ID: 7001, URL: "https://gitlab.example.com/shop/checkout/-/pipelines/7001"},
		Rendered:  plan.Rendered{Dir: "rendered", Digest: "sha256:5f1d0c0ffee0d15c0ffee0d15c0ffee0d15c0ffee0d15c0ffee0d15c0ffee0"},
		CreatedAt: t0,
	}
}

func jobURL(id int) string {
	return "https://gitlab.example.com/shop/checkout/-/jobs/" + string(rune('0'+id/1000%10)) + string(rune('0'+id/100%10)) + string(rune('0'+id/10%10)) + string(rune('0'+id%10))
}

// step is one stage of a deployment: what it records in the plan, and what
// it reports.
type step struct {
	name   string // golden file
	stage  string
	result string
	msg    string
	apply  func(p *plan.Plan, at time.Time)
}

func ledger(stage, outcome, msg string, details map[string]string) func(*plan.Plan, time.Time) {
	return func(p *plan.Plan, at time.Time) {
		p.Append(plan.Result{Stage: plan.Stage(stage), Outcome: outcome, Message: msg, Started: at.Add(-3200 * time.Millisecond), Finished: at,
			JobURL: jobURL(9000 + len(p.Ledger) + 1), Details: details})
	}
}

func approved(p *plan.Plan, at time.Time) {
	ledger("approve", "ok", "", map[string]string{"approver": "alice", "four-eyes": "passed", "allowed-approvers": "passed"})(p, at)
	p.Approval = &plan.Approval{
		Approver: plan.Approver{Login: "alice", ID: 7, Name: "Alice Approver"}, At: at, Digest: p.Rendered.Digest,
		Reason: "QA signed off <!channel> & checkout flows pass", JobURL: jobURL(9003),
		Rules: []plan.RuleResult{{Rule: "deploy-freeze", Passed: true, Detail: "no deploy freeze"}, {Rule: "four-eyes", Passed: true, Detail: "alice is neither author nor creator"}, {Rule: "allowed-approvers", Passed: true, Detail: "member of shop/release-managers"}},
	}
}

func synced(p *plan.Plan, at time.Time) {
	p.ArgoCD = &plan.ArgoCD{App: "checkout-production", Revision: "9c8b7a6"}
	ledger("sync", "ok", "", map[string]string{"revision": "9c8b7a6", "argocd": "Synced, Healthy"})(p, at)
}

func num(f float64) *plan.Number { n := plan.Number(f); return &n }

// verified records a verify run as the verify stage does.
func verified(result string, checks ...plan.CheckResult) func(*plan.Plan, time.Time) {
	return func(p *plan.Plan, at time.Time) {
		p.Verification = &plan.Verification{Result: result, Target: p.TargetColor, Live: p.LiveColor, Checks: checks,
			Started: at.Add(-10 * time.Minute), Finished: at}
		outcome := map[string]string{"pass": "ok", "fail": "negative"}[result]
		ledger("verify", outcome, result, map[string]string{"result": result})(p, at)
	}
}

var happyPath = []step{
	{"render", "render", "ok", "", ledger("render", "ok", "7 objects rendered", map[string]string{"objects": "7"})},
	{"sync", "sync", "ok", "", synced},
	{"approve", "approve", "ok", "", approved},
	{"verify", "verify", "ok", "", verified("pass",
		plan.CheckResult{Name: "error-rate", Verdict: "pass", Target: num(0.0012), Threshold: "<= 0.01", Window: "10m0s"},
		plan.CheckResult{Name: "p99-latency", Verdict: "pass", Target: num(0.212), Live: num(0.198), LiveQuery: "q", Threshold: "<= 0.3 and <= live +20%", Window: "10m0s"})},
	{"promote", "promote", "ok", "", ledger("promote", "ok", "", nil)},
}

type rig struct {
	slack  *slackfake.Server
	gitlab *gitlabtest.Server
	n      *notify.Notifier
	clock  *clock
	out    *bytes.Buffer
	logs   *bytes.Buffer
}

func newRig(t *testing.T, withJobs bool) *rig {
	t.Helper()
	r := &rig{slack: slackfake.New(t, slackToken), clock: &clock{t: t0}, out: &bytes.Buffer{}, logs: &bytes.Buffer{}}
	noSleep := slack.Retry{Attempts: 3, Sleep: func(context.Context, time.Duration) error { return nil }}
	r.n = &notify.Notifier{
		Chat:    slack.New(slack.Options{Token: slackToken, APIURL: r.slack.APIURL(), Retry: noSleep}),
		Channel: "#deploys",
		Site: notify.Site{ServerURL: "https://gitlab.example.com", ProjectID: "42", ArgoCDURL: "https://argocd.example.com/",
			ApproveJob: "approve"},
		Templates: notify.DefaultTemplates(),
		Now:       r.clock.now,
		Log:       newLogger(r.logs),
		Out:       r.out,
	}
	if withJobs {
		r.gitlab = gitlabtest.New(t, gitlabtest.WithToken(gitlabToken))
		r.gitlab.PipelineJobs("42", 7001,
			gitlabtest.Job{ID: 9003, Name: "approve", Stage: "qa", Status: "manual", WebURL: jobURL(9003)},
			gitlabtest.Job{ID: 9002, Name: "sync", Stage: "deploy", Status: "running"},
			gitlabtest.Job{ID: 9001, Name: "render", Stage: "render", Status: "success"})
		gl, err := gitlab.New(gitlab.Options{URL: r.gitlab.URL(), Token: gitlabToken})
		if err != nil {
			t.Fatal(err)
		}
		r.n.Jobs = gl
	}
	return r
}

// run applies s to p, notifies, and returns the Slack calls it made.
func (r *rig) run(t *testing.T, p *plan.Plan, s step) []slackfake.Call {
	t.Helper()
	before := len(r.slack.Calls())
	r.clock.t = r.clock.t.Add(5 * time.Minute)
	s.apply(p, r.clock.t)
	last := p.Ledger[len(p.Ledger)-1]
	r.n.Notify(context.Background(), p, notify.Event{Stage: plan.Stage(s.stage), Result: s.result, Message: s.msg, JobURL: last.JobURL})
	return r.slack.Calls()[before:]
}

// wire is the readable form of a call's payload: JSON without HTML escapes.
func wire(c slackfake.Call) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	var v struct {
		slackfake.Call
		Blocks      any `json:"blocks,omitempty"`
		Attachments any `json:"attachments,omitempty"`
	}
	v.Call = c
	json.Unmarshal(c.Blocks, &v.Blocks)
	json.Unmarshal(c.Attachments, &v.Attachments)
	enc.Encode(v)
	return b.String()
}

func golden(t *testing.T, name string, calls []slackfake.Call) {
	t.Helper()
	var parts []string
	for _, c := range calls {
		parts = append(parts, strings.TrimSpace(wire(c)))
	}
	got := []byte("[\n" + strings.Join(parts, ",\n") + "\n]\n")
	path := filepath.Join("testdata", name+".json")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file; run go test -update and review the diff.\ngot:\n%s", path, got)
	}
}

func TestNotify_DeploymentIsOneThreadWithUpdatedHead(t *testing.T) {
	t.Parallel()
	r := newRig(t, true)
	p := basePlan()
	for _, s := range happyPath {
		golden(t, "stage-"+s.name, r.run(t, p, s))
	}

	calls := r.slack.Calls()
	head := calls[0]
	if head.Method != slackfake.PostMessage || head.ThreadTS != "" || head.TS == "" {
		t.Fatalf("first call = %+v, want the head message", head)
	}
	var updates, replies []slackfake.Call
	for _, c := range calls[1:] {
		switch {
		case c.Method == slackfake.Update && c.TS == head.TS && c.Channel == "C0DEPLOYS":
			updates = append(updates, c)
		case c.Method == slackfake.PostMessage && c.ThreadTS == head.TS && c.Channel == "C0DEPLOYS":
			replies = append(replies, c)
		default:
			t.Errorf("call outside the thread: %+v", c)
		}
	}
	if len(updates) != len(happyPath)-1 || len(replies) != len(happyPath) {
		t.Errorf("%d head updates and %d replies, want %d and %d", len(updates), len(replies), len(happyPath)-1, len(happyPath))
	}
	for i, s := range happyPath {
		if i < len(replies) && !strings.Contains(replies[i].Text, s.stage) {
			t.Errorf("reply %d = %q, want the %s stage", i, replies[i].Text, s.stage)
		}
	}
	final := string(updates[len(updates)-1].Attachments)
	for _, want := range []string{`"color":"#2eb67d"`, "*promote*: promoted", `*Live*\n:large_green_circle: green`, "checkout-production"} {
		if !strings.Contains(final, want) {
			t.Errorf("final head lacks %s: %s", want, final)
		}
	}
	if p.Slack == nil || p.Slack.ThreadTS != head.TS || p.Slack.Channel != "C0DEPLOYS" {
		t.Errorf("plan.Slack = %+v, want the head's channel ID and ts", p.Slack)
	}
	for _, d := range p.Notifications.Deliveries {
		if d.Status != plan.DeliverySent || d.Via != "bot" || d.TS == "" || d.Attempts != 1 {
			t.Errorf("delivery %+v, want sent by bot once", d)
		}
	}
	if n := len(r.gitlab.Requests()); n != 2 {
		t.Errorf("%d Jobs API requests, want 2 (render, sync: before approval)", n)
	}
}

func TestNotify_GoldenForNegativeResults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		steps []step
	}{
		{"approve-refused", []step{happyPath[0], happyPath[1], {"approve-refused", "approve", "negative",
			"approval refused by four-eyes: alice authored the commit", ledger("approve", "negative", "approval refused by four-eyes", map[string]string{"approver": "alice", "four-eyes": "refused"})}}},
		{"verify-failed", []step{happyPath[0], happyPath[1], happyPath[2], {"verify-failed", "verify", "negative", "failed: error-rate", verified("fail",
			plan.CheckResult{Name: "error-rate", Verdict: "fail", Target: num(0.042), Threshold: "<= 0.01", Window: "10m0s", Reason: "3 of 4 intervals breached <= 0.01"},
			plan.CheckResult{Name: "p99-latency", Verdict: "pass", Target: num(0.23), Threshold: "<= 0.3", Window: "10m0s"},
			plan.CheckResult{Name: "saturation", Verdict: "inconclusive", Threshold: "<= 0.8", Window: "5m0s", Reason: "no data: green has no samples"})}}},
		{"rollback", []step{happyPath[0], happyPath[1], happyPath[2], happyPath[3], happyPath[4], {"rollback", "rollback", "ok", "", ledger("rollback", "ok", "", nil)}}},
		{"sync-external", []step{happyPath[0], {"sync-external", "sync", "external", "argocd sync \"checkout-production\": deadline exceeded", ledger("sync", "external", "", nil)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newRig(t, false)
			p := basePlan()
			var last []slackfake.Call
			for _, s := range tt.steps {
				last = r.run(t, p, s)
			}
			golden(t, "stage-"+tt.name, last)
		})
	}
}

func TestNotify_SlackDownLeavesReplyPendingForNextStage(t *testing.T) {
	t.Parallel()
	r := newRig(t, false)
	p := basePlan()
	// render: Slack answers 503 to every attempt at the head.
	r.slack.Fail(slackfake.PostMessage, slackfake.ServerError(503), slackfake.ServerError(503), slackfake.ServerError(503))
	r.run(t, p, happyPath[0])
	if p.Slack != nil || len(p.Notifications.PendingDeliveries()) != 1 || !strings.Contains(p.Notifications.HeadError, "http_503") {
		t.Fatalf("after outage: slack %+v, notifications %+v", p.Slack, p.Notifications)
	}
	if d := p.Notifications.Deliveries[0]; d.Attempts != 1 {
		t.Errorf("attempts = %d, want 1", d.Attempts)
	}
	if !strings.Contains(r.out.String(), "wait for the next stage") || !strings.Contains(r.logs.String(), "http_503") {
		t.Errorf("outage not reported: out %q, logs %q", r.out, r.logs)
	}

	// sync: Slack is back; render's reply goes first, into the new thread.
	calls := r.run(t, p, happyPath[1])
	if len(calls) != 3 || calls[0].ThreadTS != "" || !strings.Contains(calls[1].Text, "render") || !strings.Contains(calls[2].Text, "sync") {
		t.Fatalf("calls = %+v, want head, render reply, sync reply", calls)
	}
	for _, d := range p.Notifications.Deliveries {
		if d.Status != plan.DeliverySent || d.Error != "" {
			t.Errorf("delivery %+v, want sent", d)
		}
	}
	if p.Notifications.Deliveries[0].Attempts != 2 || p.Notifications.HeadError != "" {
		t.Errorf("render delivery %+v, head error %q", p.Notifications.Deliveries[0], p.Notifications.HeadError)
	}
}

func TestNotify_RateLimitBeyondBudgetIsNotWaitedFor(t *testing.T) {
	t.Parallel()
	r := newRig(t, false)
	p := basePlan()
	r.run(t, p, happyPath[0])
	r.slack.Fail(slackfake.PostMessage, slackfake.RateLimited(120)) // sync's reply
	r.run(t, p, happyPath[1])
	d := p.Notifications.Deliveries[1]
	if d.Status != plan.DeliveryPending || !strings.Contains(d.Error, "ratelimited (retry after 2m0s)") {
		t.Errorf("delivery = %+v, want pending, rate limited", d)
	}
}

func TestNotify_FallsBackToWebhook(t *testing.T) {
	t.Parallel()
	t.Run("no bot token", func(t *testing.T) {
		t.Parallel()
		r := newRig(t, false)
		r.n.Chat = nil
		r.n.Webhook = slack.NewWebhook(config.Secret(r.slack.WebhookURL()), nil, slack.Retry{})
		p := basePlan()
		calls := r.run(t, p, happyPath[0])
		golden(t, "webhook-render", calls)
		if len(calls) != 1 || calls[0].Method != slackfake.Webhook || p.Slack != nil {
			t.Errorf("calls = %+v, plan.Slack = %+v; want one webhook post, no thread", calls, p.Slack)
		}
		if d := p.Notifications.Deliveries[0]; d.Status != plan.DeliverySent || d.Via != "webhook" {
			t.Errorf("delivery = %+v", d)
		}
	})
	t.Run("bot token revoked", func(t *testing.T) {
		t.Parallel()
		r := newRig(t, false)
		r.n.Chat = slack.New(slack.Options{Token: "xoxb-revoked", APIURL: r.slack.APIURL()})
		r.n.Webhook = slack.NewWebhook(config.Secret(r.slack.WebhookURL()), nil, slack.Retry{})
		p := basePlan()
		calls := r.run(t, p, happyPath[0])
		if len(calls) != 2 || calls[0].Error != "invalid_auth" || calls[1].Method != slackfake.Webhook {
			t.Errorf("calls = %+v, want invalid_auth then the webhook", calls)
		}
		if d := p.Notifications.Deliveries[0]; d.Via != "webhook" || !strings.Contains(p.Notifications.HeadError, "invalid_auth") {
			t.Errorf("delivery = %+v, head error %q", d, p.Notifications.HeadError)
		}
	})
}

func TestNotify_ReplacesDeletedHead(t *testing.T) {
	t.Parallel()
	r := newRig(t, false)
	p := basePlan()
	p.Slack = &plan.Slack{Channel: "C0DEPLOYS", ThreadTS: "1700000000.000001"} // deleted in Slack
	calls := r.run(t, p, happyPath[0])
	if len(calls) != 3 || calls[0].Error != "message_not_found" || calls[1].ThreadTS != "" || calls[2].ThreadTS != calls[1].TS {
		t.Fatalf("calls = %+v, want failed update, new head, reply", calls)
	}
	if p.Slack.ThreadTS != calls[1].TS {
		t.Errorf("thread = %s, want the new head %s", p.Slack.ThreadTS, calls[1].TS)
	}
}

func TestNotify_JobsAPIDownLosesOnlyThePlayLink(t *testing.T) {
	t.Parallel()
	r := newRig(t, false)
	srv := gitlabtest.New(t)
	srv.Handle("GET /projects/{project}/pipelines/{pipeline}/jobs", gitlabtest.Error(403, "403 Forbidden"))
	gl, _ := gitlab.New(gitlab.Options{URL: srv.URL(), Token: gitlabToken})
	r.n.Jobs = gl
	p := basePlan()
	calls := r.run(t, p, happyPath[0])
	if len(calls) != 2 || p.Notifications.Deliveries[0].Status != plan.DeliverySent {
		t.Errorf("calls = %d, delivery %+v", len(calls), p.Notifications.Deliveries[0])
	}
	if !strings.Contains(r.logs.String(), "approve job not found") {
		t.Errorf("logs = %s", r.logs)
	}
}

func TestNotify_EscapesAndScrubsText(t *testing.T) {
	t.Parallel()
	r := newRig(t, false)
	r.n.Scrub = strings.NewReplacer(gitlabToken, "[redacted]").Replace
	p := basePlan()
	r.run(t, p, happyPath[0])
	r.run(t, p, happyPath[1])
	calls := r.run(t, p, step{"x", "approve", "ok", "fetched with " + gitlabToken, approved})
	for _, c := range calls {
		payload := wire(c)
		if strings.Contains(payload, "<!channel>") || !strings.Contains(payload, "&lt;!channel&gt;") {
			t.Errorf("%s: the reason's mention is not escaped: %s", c.Method, payload)
		}
		if strings.Contains(payload, gitlabToken) {
			t.Errorf("%s: payload carries the token", c.Method)
		}
	}
	b, _ := json.Marshal(p)
	if strings.Contains(string(b), gitlabToken) {
		t.Error("plan carries the token")
	}
}

func TestNotify_DoesNothingWithoutSlack(t *testing.T) {
	t.Parallel()
	n := &notify.Notifier{}
	p := basePlan()
	s := n.Notify(context.Background(), p, notify.Event{Stage: "render", Result: "ok"})
	if p.Notifications != nil || s.Sent != 0 || s.Err != nil {
		t.Errorf("plan notifications %+v, summary %+v", p.Notifications, s)
	}
}
