package slack

import (
	"context"
	"net/http"
	"time"

	"github.com/slack-go/slack"

	"gitlab.com/platform/bluegreen/internal/config"
)

// Webhook posts through an incoming webhook: the fallback when there is no
// bot token. It cannot reply in a thread or update a message, and its
// channel is fixed when the webhook is created.
type Webhook struct {
	url   config.Secret
	hc    *http.Client
	retry Retry
}

// NewWebhook builds a Webhook for url (a secret: whoever has it can post).
func NewWebhook(url config.Secret, hc *http.Client, r Retry) *Webhook {
	if hc == nil {
		hc = &http.Client{Timeout: 15 * time.Second}
	}
	return &Webhook{url: url, hc: hc, retry: r.withDefaults()}
}

// Post sends m to the webhook's channel.
func (w *Webhook) Post(ctx context.Context, m Message) error {
	msg := &slack.WebhookMessage{Text: m.Text, Attachments: m.Attachments}
	if len(m.Blocks) > 0 {
		msg.Blocks = &slack.Blocks{BlockSet: m.Blocks}
	}
	off := false
	msg.UnfurlLinks, msg.UnfurlMedia = &off, &off
	return w.retry.do(ctx, "webhook", w.url.Reveal(), func() error {
		return slack.PostWebhookCustomHTTPContext(ctx, w.url.Reveal(), w.hc, msg)
	})
}
