package slack

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"gitlab.com/platform/bluegreen/internal/config"
)

// Inspector asks Slack what a bot token is and may do, and posts nothing:
// auth.test and conversations.info/list only. slack-go's AuthTest drops
// the x-oauth-scopes header that says the token's scopes, hence plain
// HTTP here.
type Inspector struct {
	token config.Secret
	base  string
	hc    *http.Client
	retry Retry
}

// NewInspector builds an Inspector from the same options as New.
func NewInspector(o Options) *Inspector {
	hc := o.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 15 * time.Second}
	}
	base := o.APIURL
	if base == "" {
		base = slack.APIURL
	}
	return &Inspector{token: o.Token, base: withSlash(base), hc: hc, retry: o.Retry.withDefaults()}
}

// Identity is what auth.test says of a token.
type Identity struct {
	Team, User, UserID, BotID string
	// Scopes are the token's OAuth scopes, from the x-oauth-scopes header.
	Scopes []string
}

// HasScope reports whether the token was granted scope.
func (id Identity) HasScope(scope string) bool {
	for _, s := range id.Scopes {
		if s == scope {
			return true
		}
	}
	return false
}

// AuthTest checks the token. An invalid or revoked token is an *Error with
// Code invalid_auth, token_revoked or not_authed.
func (in *Inspector) AuthTest(ctx context.Context) (Identity, error) {
	var body struct {
		Team   string `json:"team"`
		User   string `json:"user"`
		UserID string `json:"user_id"`
		BotID  string `json:"bot_id"`
	}
	h, err := in.call(ctx, "auth.test", nil, &body)
	if err != nil {
		return Identity{}, err
	}
	id := Identity{Team: body.Team, User: body.User, UserID: body.UserID, BotID: body.BotID}
	for _, s := range strings.Split(h.Get("X-OAuth-Scopes"), ",") {
		if s = strings.TrimSpace(s); s != "" {
			id.Scopes = append(id.Scopes, s)
		}
	}
	return id, nil
}

// Channel is a conversation as the bot sees it.
type Channel struct {
	ID, Name  string
	IsPrivate bool
	IsMember  bool // the bot is in it, so chat:write may post there
	Archived  bool
}

// Channel looks up channel, an ID (conversations.info) or a #name
// (conversations.list, public and private channels the bot can see). Both
// need channels:read (groups:read for private ones); without them Slack
// answers missing_scope. A name not found is Code channel_not_found.
func (in *Inspector) Channel(ctx context.Context, channel string) (Channel, error) {
	type conv struct {
		ID         string `json:"id"`
		Name       string `json:"name"`
		IsPrivate  bool   `json:"is_private"`
		IsMember   bool   `json:"is_member"`
		IsArchived bool   `json:"is_archived"`
	}
	of := func(c conv) Channel {
		return Channel{ID: c.ID, Name: c.Name, IsPrivate: c.IsPrivate, IsMember: c.IsMember, Archived: c.IsArchived}
	}
	name, byName := strings.CutPrefix(channel, "#")
	if !byName {
		var body struct {
			Channel conv `json:"channel"`
		}
		if _, err := in.call(ctx, "conversations.info", url.Values{"channel": {channel}}, &body); err != nil {
			return Channel{}, err
		}
		return of(body.Channel), nil
	}
	cursor := ""
	for {
		var body struct {
			Channels []conv `json:"channels"`
			Meta     struct {
				NextCursor string `json:"next_cursor"`
			} `json:"response_metadata"`
		}
		form := url.Values{"types": {"public_channel,private_channel"}, "exclude_archived": {"true"}, "limit": {"200"}}
		if cursor != "" {
			form.Set("cursor", cursor)
		}
		if _, err := in.call(ctx, "conversations.list", form, &body); err != nil {
			return Channel{}, err
		}
		for _, c := range body.Channels {
			if c.Name == name {
				return of(c), nil
			}
		}
		if cursor = body.Meta.NextCursor; cursor == "" {
			return Channel{}, &Error{Method: "conversations.list", Code: "channel_not_found", Err: fmt.Errorf("no channel #%s that the bot can see", name)}
		}
	}
}

// call posts form to method with retries, decodes the answer into out, and
// returns the answer's headers.
func (in *Inspector) call(ctx context.Context, method string, form url.Values, out any) (http.Header, error) {
	var header http.Header
	err := in.retry.do(ctx, method, "", func() error {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, in.base+method, strings.NewReader(form.Encode()))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", "Bearer "+in.token.Reveal())
		resp, err := in.hc.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
		if err != nil {
			return err
		}
		if resp.StatusCode == http.StatusTooManyRequests {
			return &slack.RateLimitedError{RetryAfter: retryAfter(resp.Header.Get("Retry-After"))}
		}
		if resp.StatusCode != http.StatusOK {
			return slack.StatusCodeError{Code: resp.StatusCode, Status: resp.Status}
		}
		var ok struct {
			OK    bool   `json:"ok"`
			Error string `json:"error"`
		}
		if err := json.Unmarshal(b, &ok); err != nil {
			return fmt.Errorf("%s: not a Slack answer: %w", method, err)
		}
		if !ok.OK {
			return slack.SlackErrorResponse{Err: ok.Error}
		}
		header = resp.Header
		return json.Unmarshal(b, out)
	})
	return header, err
}

func retryAfter(v string) time.Duration {
	d, err := time.ParseDuration(strings.TrimSpace(v) + "s")
	if err != nil {
		return time.Second
	}
	return d
}
