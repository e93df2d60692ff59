package slack_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	goslack "github.com/slack-go/slack"

	"gitlab.com/platform/bluegreen/internal/config"
	"gitlab.com/platform/bluegreen/internal/slack"
	"gitlab.com/platform/bluegreen/internal/slack/slackfake"
)

const token = "xoxb-TEST-1111-secretsecret"

type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(_ context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.d = append(s.d, d)
	return nil
}

func (s *sleeps) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return fmt.Sprint(s.d)
}

func retry(sl *sleeps) slack.Retry {
	return slack.Retry{Attempts: 3, Base: time.Second, Max: 20 * time.Second, Sleep: sl.sleep,
		Jitter: func(d time.Duration) time.Duration { return d }}
}

func message() slack.Message {
	return slack.Message{
		Text:        "checkout: render ok",
		Blocks:      []goslack.Block{goslack.NewSectionBlock(goslack.NewTextBlockObject("mrkdwn", "*render* ok", false, false), nil, nil)},
		Attachments: []goslack.Attachment{{Color: "#2eb67d", Fallback: "render ok"}},
	}
}

func TestClient_PostsThreadAndUpdatesHead(t *testing.T) {
	t.Parallel()
	srv := slackfake.New(t, token)
	// No trailing slash: the adapter adds the one slack-go needs.
	c := slack.New(slack.Options{Token: config.Secret(token), APIURL: strings.TrimSuffix(srv.APIURL(), "/"), Retry: retry(&sleeps{})})
	ctx := context.Background()

	head, err := c.Post(ctx, "#deploys", "", message())
	if err != nil {
		t.Fatal(err)
	}
	if head.Channel != "C0DEPLOYS" || head.TS == "" {
		t.Fatalf("head = %+v, want the channel's ID and a ts", head)
	}
	reply, err := c.Post(ctx, head.Channel, head.TS, message())
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Update(ctx, head.Channel, head.TS, message()); err != nil {
		t.Fatal(err)
	}

	calls := srv.Calls()
	if len(calls) != 3 {
		t.Fatalf("calls = %d, want 3", len(calls))
	}
	if calls[1].ThreadTS != head.TS || reply.TS == head.TS {
		t.Errorf("reply thread_ts = %q, want %q", calls[1].ThreadTS, head.TS)
	}
	if calls[2].Method != slackfake.Update || calls[2].TS != head.TS || calls[2].Channel != "C0DEPLOYS" {
		t.Errorf("update = %+v", calls[2])
	}
	for _, c := range calls {
		if !strings.Contains(string(c.Blocks), `"*render* ok"`) || !strings.Contains(string(c.Attachments), `"#2eb67d"`) {
			t.Errorf("%s payload lacks blocks or attachments: %s %s", c.Method, c.Blocks, c.Attachments)
		}
		if !strings.Contains(c.Body, "unfurl_links=false") {
			t.Errorf("%s does not turn off link unfurling", c.Method)
		}
	}
}

func TestClient_Retries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		faults     []slackfake.Fault
		token      string
		timeout    time.Duration
		wantErr    string // the Slack code, "" for success
		wantSleeps string
		wantCalls  int
	}{
		{"429 waits Retry-After then succeeds", []slackfake.Fault{slackfake.RateLimited(3)}, token, 0, "", "[3s]", 2},
		{"5xx backs off then succeeds", []slackfake.Fault{slackfake.ServerError(503), slackfake.ServerError(502)}, token, 0, "", "[1s 2s]", 3},
		{"5xx gives up after the attempts", []slackfake.Fault{slackfake.ServerError(500), slackfake.ServerError(500), slackfake.ServerError(500)}, token, 0, "http_500", "[1s 2s]", 3},
		{"Retry-After beyond the cap is not waited", []slackfake.Fault{slackfake.RateLimited(60)}, token, 0, "ratelimited", "[]", 1},
		{"Retry-After beyond the deadline is not waited", []slackfake.Fault{slackfake.RateLimited(10)}, token, 5 * time.Second, "ratelimited", "[]", 1},
		{"internal_error is retried", []slackfake.Fault{slackfake.APIError("internal_error")}, token, 0, "", "[1s]", 2},
		{"invalid_auth is final", nil, "xoxb-wrong-token", 0, "invalid_auth", "[]", 1},
		{"channel_not_found is final", []slackfake.Fault{slackfake.APIError("channel_not_found")}, token, 0, "channel_not_found", "[]", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := slackfake.New(t, token)
			srv.Fail(slackfake.PostMessage, tt.faults...)
			sl := &sleeps{}
			c := slack.New(slack.Options{Token: config.Secret(tt.token), APIURL: srv.APIURL(), Retry: retry(sl)})
			ctx := context.Background()
			if tt.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.timeout)
				defer cancel()
			}
			_, err := c.Post(ctx, "#deploys", "", message())
			if got := slack.Code(err); got != tt.wantErr {
				t.Errorf("error = %v, want code %q", err, tt.wantErr)
			}
			if sl.String() != tt.wantSleeps {
				t.Errorf("sleeps = %s, want %s", sl, tt.wantSleeps)
			}
			if n := len(srv.Calls()); n != tt.wantCalls {
				t.Errorf("calls = %d, want %d", n, tt.wantCalls)
			}
			if err != nil && (strings.Contains(err.Error(), token) || strings.Contains(err.Error(), tt.token)) {
				t.Errorf("error leaks the token: %v", err)
			}
		})
	}
}

func TestClient_UpdateOfUnknownMessageIsFinal(t *testing.T) {
	t.Parallel()
	srv := slackfake.New(t, token)
	c := slack.New(slack.Options{Token: token, APIURL: srv.APIURL(), Retry: retry(&sleeps{})})
	err := c.Update(context.Background(), "C0DEPLOYS", "1.000000", message())
	if slack.Code(err) != "message_not_found" {
		t.Errorf("err = %v, want message_not_found", err)
	}
}

func TestWebhook_PostsBlocksWithoutThread(t *testing.T) {
	t.Parallel()
	srv := slackfake.New(t, token)
	w := slack.NewWebhook(config.Secret(srv.WebhookURL()), nil, retry(&sleeps{}))
	if err := w.Post(context.Background(), message()); err != nil {
		t.Fatal(err)
	}
	calls := srv.Calls()
	if len(calls) != 1 || calls[0].Method != slackfake.Webhook || !strings.Contains(string(calls[0].Blocks), "*render* ok") || calls[0].ThreadTS != "" {
		t.Errorf("calls = %+v", calls)
	}
}

func TestWebhook_ErrorsNeverShowTheURL(t *testing.T) {
	t.Parallel()
	srv := slackfake.New(t, token)
	srv.Fail(slackfake.Webhook, slackfake.Fault{Status: 404, Error: "no_service"})
	sl := &sleeps{}
	err := slack.NewWebhook(config.Secret(srv.WebhookURL()), nil, retry(sl)).Post(context.Background(), message())
	if slack.Code(err) != "no_service" || !strings.Contains(err.Error(), "HTTP 404") || sl.String() != "[]" {
		t.Errorf("revoked webhook: err = %v, sleeps %s; want no_service (HTTP 404), no retry", err, sl)
	}

	dead := "http://127.0.0.1:1/services/T1/B1/deadwebhooksecret" // nothing listens on port 1
	err = slack.NewWebhook(config.Secret(dead), nil, retry(&sleeps{})).Post(context.Background(), message())
	if slack.Code(err) != "unreachable" {
		t.Errorf("dead webhook: err = %v, want unreachable", err)
	}
	for _, e := range []error{err} {
		if strings.Contains(e.Error(), "deadwebhooksecret") || strings.Contains(e.Error(), "/services/") {
			t.Errorf("error shows the webhook URL: %v", e)
		}
	}
}
