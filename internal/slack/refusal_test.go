package slack_test

import (
	"context"
	"strings"
	"testing"

	goslack "github.com/slack-go/slack"

	"gitlab.com/platform/bluegreen/internal/config"
	"gitlab.com/platform/bluegreen/internal/slack"
	"gitlab.com/platform/bluegreen/internal/slack/slackfake"
)

// Tests of what Slack says when it refuses a message, and that it reaches
// the error.

func oversize() slack.Message {
	long := strings.Repeat("x", slackfake.MaxSectionText+1)
	return slack.Message{Text: "checkout: render ok",
		Blocks: []goslack.Block{goslack.NewSectionBlock(goslack.NewTextBlockObject("mrkdwn", long, false, false), nil, nil)}}
}

// A webhook answers a refusal with HTTP 400 and the reason as a bare word;
// slack-go's webhook call drops that body, so every refusal read http_400.
func TestWebhook_RefusalNamesSlacksReason(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		msg  slack.Message
		f    *slackfake.Fault
		want string
	}{
		{"section text over 3000", oversize(), nil, "invalid_blocks"},
		{"nothing to show", slack.Message{}, nil, "no_text"},
		{"archived channel", message(), &slackfake.Fault{Status: 400, Error: "channel_is_archived"}, "channel_is_archived"},
		{"an HTML error page is no reason", message(), &slackfake.Fault{Status: 400, Error: "<html>Bad Request</html>"}, "http_400"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := slackfake.New(t, token)
			if tc.f != nil {
				srv.Fail(slackfake.Webhook, *tc.f)
			}
			sl := &sleeps{}
			err := slack.NewWebhook(config.Secret(srv.WebhookURL()), nil, retry(sl)).Post(context.Background(), tc.msg)
			if slack.Code(err) != tc.want || !strings.Contains(err.Error(), "HTTP 400") {
				t.Errorf("err = %v, want %s (HTTP 400)", err, tc.want)
			}
			if sl.String() != "[]" {
				t.Errorf("a refusal was retried: sleeps %s", sl)
			}
			if strings.Contains(err.Error(), "webhooksecret") {
				t.Errorf("error shows the webhook URL: %v", err)
			}
		})
	}
}

// The Web API sends what is wrong, and where, in response_metadata.messages:
// the error keeps it.
func TestClient_InvalidBlocksKeepsSlacksMessages(t *testing.T) {
	t.Parallel()
	srv := slackfake.New(t, token)
	c := slack.New(slack.Options{Token: config.Secret(token), APIURL: srv.APIURL(), Retry: retry(&sleeps{})})
	_, err := c.Post(context.Background(), "#deploys", "", oversize())
	want := "[ERROR] must be less than 3001 characters [json-pointer:/blocks/0/text/text]"
	if slack.Code(err) != "invalid_blocks" || !strings.Contains(err.Error(), want) {
		t.Errorf("err = %v, want invalid_blocks with %q", err, want)
	}
	if strings.Contains(err.Error(), token) {
		t.Errorf("error shows the token: %v", err)
	}
}
