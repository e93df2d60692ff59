package notify_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gitlab.com/platform/bluegreen/internal/config"
	"gitlab.com/platform/bluegreen/internal/notify"
	"gitlab.com/platform/bluegreen/internal/plan"
	"gitlab.com/platform/bluegreen/internal/slack"
	"gitlab.com/platform/bluegreen/internal/slack/slackfake"
)

// Tests of what Slack refuses: every payload bluegreen sends passes
// Slack's Block Kit rules, and when Slack refuses one anyway, its reason
// reaches plan.json.

// Every golden payload is one Slack takes (the fake refuses what Slack
// refuses, so the goldens alone would not show it).
func TestGoldenPayloads_PassSlacksBlockKitRules(t *testing.T) {
	t.Parallel()
	if notify.MaxMessageSize > slackfake.MaxText {
		t.Errorf("notify.MaxMessageSize %d is over Slack's %d", notify.MaxMessageSize, slackfake.MaxText)
	}
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files: %v", err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var calls []struct {
			Method      string          `json:"method"`
			Text        string          `json:"text"`
			Blocks      json.RawMessage `json:"blocks"`
			Attachments json.RawMessage `json:"attachments"`
		}
		if err := json.Unmarshal(data, &calls); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for i, c := range calls {
			if r := slackfake.Validate(c.Text, c.Blocks, c.Attachments); r != nil {
				t.Errorf("%s: call %d (%s): Slack refuses it: %s %v", f, i, c.Method, r.Code, r.Messages)
			}
		}
	}
}

// Links longer than a button's url may be, and more checks than fit in 50
// blocks: the messages still go out, every one within Slack's limits.
func TestNotify_HostileSizesStayWithinSlacksLimits(t *testing.T) {
	t.Parallel()
	long := "https://gitlab.example.com/" + strings.Repeat("a", 3000)
	r := newRig(t, true)
	r.n.Site.ServerURL, r.n.Site.ArgoCDURL = long, long
	r.n.Webhook = slack.NewWebhook(config.Secret(r.slack.WebhookURL()), nil, slack.Retry{})
	p := basePlan()
	p.Pipeline.URL = long + "/-/pipelines/7001"
	var checks []plan.CheckResult
	for i := range 600 {
		checks = append(checks, plan.CheckResult{Name: fmt.Sprintf("check-%03d", i), Verdict: "pass", Target: num(0.001), Threshold: "<= 0.01", Window: "10m0s"})
	}
	for _, s := range append(happyPath[:3:3], step{"verify", "verify", "ok", "", verified("pass", checks...)}) {
		r.run(t, p, s)
	}
	r.n.Chat = nil // and once through the webhook, which adds a block
	r.run(t, p, step{"verify", "verify", "ok", "", verified("pass", checks...)})
	for _, c := range r.slack.Calls() {
		if c.Error != "" {
			t.Errorf("%s refused: %s", c.Method, c.Error)
		}
	}
	for _, d := range p.Notifications.Deliveries {
		if d.Status != plan.DeliverySent {
			t.Errorf("delivery %s: %s %s", d.Stage, d.Status, d.Error)
		}
	}
}

// Slack's reason for a refusal, and the messages that say where, are kept
// in plan.json: a webhook's bare-word answer (which slack-go turns into
// http_400) and the Web API's response_metadata.messages.
func TestNotify_SlacksReasonReachesThePlan(t *testing.T) {
	t.Parallel()
	t.Run("web api", func(t *testing.T) {
		t.Parallel()
		r := newRig(t, false)
		p := basePlan()
		r.run(t, p, happyPath[0])
		msg := "[ERROR] must be less than 3001 characters [json-pointer:/blocks/0/text/text]"
		r.slack.Fail(slackfake.PostMessage, slackfake.Fault{Error: "invalid_blocks", Messages: []string{msg}})
		r.run(t, p, happyPath[1])
		if d := p.Notifications.Deliveries[1]; d.Status != plan.DeliveryPending || !strings.Contains(d.Error, "invalid_blocks") || !strings.Contains(d.Error, msg) {
			t.Errorf("delivery %+v, want pending with Slack's messages", d)
		}
		b, _ := json.Marshal(p)
		if strings.Contains(string(b), slackToken) {
			t.Error("plan carries the bot token")
		}
	})
	t.Run("webhook", func(t *testing.T) {
		t.Parallel()
		r := newRig(t, false)
		r.n.Chat = nil
		r.n.Webhook = slack.NewWebhook(config.Secret(r.slack.WebhookURL()), nil, slack.Retry{})
		r.slack.Fail(slackfake.Webhook, slackfake.Fault{Status: 400, Error: "channel_is_archived"})
		p := basePlan()
		r.run(t, p, happyPath[0])
		d := p.Notifications.Deliveries[0]
		if !strings.Contains(d.Error, "channel_is_archived") || strings.Contains(d.Error, "http_400") {
			t.Errorf("delivery error %q, want Slack's reason", d.Error)
		}
		if strings.Contains(d.Error, "webhooksecret") || strings.Contains(d.Error, "/services/") {
			t.Errorf("delivery error shows the webhook URL: %q", d.Error)
		}
	})
}
