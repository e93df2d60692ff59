// Package slack is bluegreen's thin adapter over github.com/slack-go/slack:
// a bot-token client that posts into a thread and updates a message, and an
// incoming-webhook fallback that can only post (no thread, no update). Both
// retry rate limits and server errors with capped, jittered backoff that
// honours Retry-After, and return errors that never contain a token or the
// webhook URL.
package slack

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"gitlab.com/platform/bluegreen/internal/config"
)

// Message is what bluegreen sends: fallback text (shown in notifications),
// Block Kit blocks, and attachments (used for the coloured bar).
type Message struct {
	Text        string
	Blocks      []slack.Block
	Attachments []slack.Attachment
}

// Posted identifies a message Slack accepted.
type Posted struct {
	Channel string // the channel's ID, which chat.update needs (not "#name")
	TS      string
}

// Options configures a Client.
type Options struct {
	Token config.Secret // bot token (xoxb-), scope chat:write
	// APIURL is the Web API base; empty means https://slack.com/api/. A
	// trailing slash is added when missing, as slack-go needs one.
	APIURL     string
	HTTPClient *http.Client // nil: a client with a 15 s timeout
	Retry      Retry
}

// Client posts and updates messages with a bot token.
type Client struct {
	api   *slack.Client
	retry Retry
}

// New builds a Client. It makes no request.
func New(o Options) *Client {
	hc := o.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 15 * time.Second}
	}
	opts := []slack.Option{slack.OptionHTTPClient(hc)}
	if o.APIURL != "" {
		opts = append(opts, slack.OptionAPIURL(withSlash(o.APIURL)))
	}
	return &Client{api: slack.New(o.Token.Reveal(), opts...), retry: o.Retry.withDefaults()}
}

func withSlash(u string) string {
	if strings.HasSuffix(u, "/") {
		return u
	}
	return u + "/"
}

// Post sends m to channel (an ID or #name), as a reply in the thread of
// threadTS when it is not empty.
func (c *Client) Post(ctx context.Context, channel, threadTS string, m Message) (Posted, error) {
	opts := msgOptions(m)
	if threadTS != "" {
		opts = append(opts, slack.MsgOptionTS(threadTS))
	}
	var out Posted
	err := c.retry.do(ctx, "chat.postMessage", "", func() error {
		ch, ts, err := c.api.PostMessageContext(ctx, channel, opts...)
		out = Posted{Channel: ch, TS: ts}
		return err
	})
	return out, err
}

// Update replaces the message ts in channel (an ID) with m.
func (c *Client) Update(ctx context.Context, channel, ts string, m Message) error {
	return c.retry.do(ctx, "chat.update", "", func() error {
		_, _, _, err := c.api.UpdateMessageContext(ctx, channel, ts, msgOptions(m)...)
		return err
	})
}

func msgOptions(m Message) []slack.MsgOption {
	opts := []slack.MsgOption{
		slack.MsgOptionText(m.Text, false),
		slack.MsgOptionDisableLinkUnfurl(),
		slack.MsgOptionDisableMediaUnfurl(),
	}
	if len(m.Blocks) > 0 {
		opts = append(opts, slack.MsgOptionBlocks(m.Blocks...))
	}
	if len(m.Attachments) > 0 {
		opts = append(opts, slack.MsgOptionAttachments(m.Attachments...))
	}
	return opts
}
