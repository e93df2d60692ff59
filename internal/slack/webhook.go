package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
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
	body, err := json.Marshal(msg)
	if err != nil {
		return &Error{Method: "webhook", Code: "invalid_payload", Err: err}
	}
	return w.retry.do(ctx, "webhook", w.url.Reveal(), func() error { return w.post(ctx, body) })
}

// post sends one request. slack-go's webhook call drops the answer's body,
// which is the only place Slack says why it refused (invalid_blocks,
// no_text, channel_is_archived, ...), so this reads it.
func (w *Webhook) post(ctx context.Context, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url.Reveal(), bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := w.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	if resp.StatusCode == http.StatusOK {
		return nil
	}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && resp.StatusCode == http.StatusTooManyRequests {
		return &slack.RateLimitedError{RetryAfter: time.Duration(s) * time.Second}
	}
	return &refusal{status: resp.StatusCode, body: strings.TrimSpace(string(answer))}
}

// refusal is a webhook's non-200 answer.
type refusal struct {
	status int
	body   string
}

// slackCode matches the bare error code a webhook answers with; anything
// else (an HTML error page) is not Slack's reason.
var slackCode = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// code is Slack's reason, or http_<status> when the body holds none.
func (r *refusal) code() string {
	if slackCode.MatchString(r.body) {
		return r.body
	}
	return fmt.Sprintf("http_%d", r.status)
}

func (r *refusal) Error() string { return fmt.Sprintf("HTTP %d", r.status) }
