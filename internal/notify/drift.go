package notify

import (
	"context"
	"time"

	"gitlab.com/platform/bluegreen/internal/drift"
	"gitlab.com/platform/bluegreen/internal/slack"
)

// DriftView is the data of the "drift" template: an environment's drift
// appeared, changed or cleared. Every string is escaped for Slack mrkdwn.
type DriftView struct {
	Environment string
	Drift       bool   // drift now; false: it cleared
	Emoji       string // :rotating_light: for drift, :white_check_mark: when it cleared
	Title       string // one line
	Lines       []string
	Links       DriftLinks
}

// DriftLinks are the drift message's links; empty when unknown.
type DriftLinks struct {
	Issue string // the environment's drift issue
	Job   string // the drift job
}

// DriftAnnouncer posts drift's changes of state to a channel: through the
// bot (a message of its own, not a deployment's thread), else, or when the
// bot's post fails, through the webhook. Each post gets Timeout.
type DriftAnnouncer struct {
	Chat      *slack.Client  // nil: no bot
	Webhook   *slack.Webhook // nil: no webhook
	Channel   string
	Templates *Templates
	Scrub     func(string) string // removes secrets from text; nil keeps it
	Timeout   time.Duration       // 0: ctx's own
}

// Announce renders a with the "drift" template and posts it.
func (d DriftAnnouncer) Announce(ctx context.Context, a drift.Announcement) error {
	if d.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d.Timeout)
		defer cancel()
	}
	t := d.Templates
	if t == nil {
		t = DefaultTemplates()
	}
	text, err := t.drift(d.view(a))
	if err != nil && text == "" {
		return err
	}
	msg := slack.Message{Text: text}
	if d.Chat != nil {
		if _, err := d.Chat.Post(ctx, d.Channel, "", msg); err == nil || d.Webhook == nil {
			return err
		}
	}
	if d.Webhook != nil {
		return d.Webhook.Post(ctx, msg)
	}
	return nil
}

// view escapes and scrubs the announcement for the template.
func (d DriftAnnouncer) view(a drift.Announcement) DriftView {
	scrub := d.Scrub
	if scrub == nil {
		scrub = func(s string) string { return s }
	}
	clean := func(s string) string { return escape(oneLine(scrub(s))) }
	v := DriftView{Environment: clean(a.Environment), Drift: a.Drift, Emoji: ":white_check_mark:", Title: clean(a.Title),
		Links: DriftLinks{Issue: scrub(a.IssueURL), Job: scrub(a.JobURL)}}
	if a.Drift {
		v.Emoji = ":rotating_light:"
	}
	for _, l := range a.Lines {
		v.Lines = append(v.Lines, clean(l))
	}
	return v
}

func sampleDriftView() DriftView {
	return DriftView{Environment: "production", Drift: true, Emoji: ":rotating_light:", Title: "Drift in production: 1 dangerous finding.",
		Lines: []string{"shop active: selects blue, recorded green"}, Links: DriftLinks{Issue: "https://gitlab.example.com/i", Job: "https://gitlab.example.com/j"}}
}
