package slackfake_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"gitlab.com/platform/bluegreen/internal/slack/slackfake"
)

func rep(s string, n int) string { return strings.Repeat(s, n) }

func section(text string) string {
	return fmt.Sprintf(`{"type":"section","text":{"type":"mrkdwn","text":%q}}`, text)
}

func button(text, url, id string) string {
	return fmt.Sprintf(`{"type":"button","text":{"type":"plain_text","text":%q},"url":%q,"action_id":%q}`, text, url, id)
}

func n(k int, item string) string { return strings.TrimSuffix(rep(item+",", k), ",") }

// Each of Slack's documented structure rules and limits for a message, at
// the limit (taken) and one past it (refused, with the pointer Slack names).
func TestValidate_RefusesWhatSlackRefuses(t *testing.T) {
	t.Parallel()
	ok := section("hi")
	cases := []struct {
		name, text, blocks, attachments string
		code, msg                       string // "" code: taken
	}{
		{"section text 3000", "t", `[` + section(rep("x", 3000)) + `]`, "", "", ""},
		{"section text 3001", "t", `[` + section(rep("x", 3001)) + `]`, "", "invalid_blocks", "[ERROR] must be less than 3001 characters [json-pointer:/blocks/0/text/text]"},
		{"characters, not bytes", "t", `[` + section(rep("é", 3000)) + `]`, "", "", ""},
		{"50 blocks", "t", `[` + n(50, ok) + `]`, "", "", ""},
		{"51 blocks", "t", `[` + n(51, ok) + `]`, "", "invalid_blocks", "[ERROR] no more than 50 items allowed [json-pointer:/blocks]"},
		{"11 fields", "t", `[{"type":"section","fields":[` + n(11, `{"type":"mrkdwn","text":"f"}`) + `]}]`, "", "invalid_blocks", "[json-pointer:/blocks/0/fields]"},
		{"field 2001", "t", `[{"type":"section","fields":[{"type":"mrkdwn","text":"` + rep("f", 2001) + `"}]}]`, "", "invalid_blocks", "must be less than 2001 characters [json-pointer:/blocks/0/fields/0/text]"},
		{"section with neither", "t", `[{"type":"section"}]`, "", "invalid_blocks", "[json-pointer:/blocks/0]"},
		{"header 150", "t", `[{"type":"header","text":{"type":"plain_text","text":"` + rep("h", 150) + `"}}]`, "", "", ""},
		{"header 151", "t", `[{"type":"header","text":{"type":"plain_text","text":"` + rep("h", 151) + `"}}]`, "", "invalid_blocks", "must be less than 151 characters [json-pointer:/blocks/0/text/text]"},
		{"header in mrkdwn", "t", `[{"type":"header","text":{"type":"mrkdwn","text":"h"}}]`, "", "invalid_blocks", "[json-pointer:/blocks/0/text/type]"},
		{"header in an attachment", "t", "", `[{"color":"#000000","blocks":[{"type":"header","text":{"type":"plain_text","text":"h"}}]}]`, "invalid_attachments", "[json-pointer:/attachments/0/blocks/0]"},
		{"attachment's section 3001", "t", "", `[{"blocks":[` + section(rep("x", 3001)) + `]}]`, "invalid_attachments", "[json-pointer:/attachments/0/blocks/0/text/text]"},
		{"11 context elements", "t", `[{"type":"context","elements":[` + n(11, `{"type":"mrkdwn","text":"c"}`) + `]}]`, "", "invalid_blocks", "no more than 10 items allowed [json-pointer:/blocks/0/elements]"},
		{"26 actions elements", "t", `[{"type":"actions","elements":[` + strings.Join(buttons(26), ",") + `]}]`, "", "invalid_blocks", "no more than 25 items allowed [json-pointer:/blocks/0/elements]"},
		{"button text 76", "t", `[{"type":"actions","elements":[` + button(rep("b", 76), "https://x", "a") + `]}]`, "", "invalid_blocks", "must be less than 76 characters [json-pointer:/blocks/0/elements/0/text/text]"},
		{"button url 3001", "t", `[{"type":"actions","elements":[` + button("b", "https://"+rep("u", 2993), "a") + `]}]`, "", "invalid_blocks", "must be less than 3001 characters [json-pointer:/blocks/0/elements/0/url]"},
		{"action_id 256", "t", `[{"type":"actions","elements":[` + button("b", "https://x", rep("a", 256)) + `]}]`, "", "invalid_blocks", "[json-pointer:/blocks/0/elements/0/action_id]"},
		{"duplicate action_id", "t", `[{"type":"actions","elements":[` + button("b", "https://x", "a") + `,` + button("c", "https://y", "a") + `]}]`, "", "invalid_blocks", "[json-pointer:/blocks/0/elements/1/action_id]"},
		{"block_id 256", "t", `[{"type":"divider","block_id":"` + rep("i", 256) + `"}]`, "", "invalid_blocks", "[json-pointer:/blocks/0/block_id]"},
		{"duplicate block_id", "t", `[{"type":"divider","block_id":"x"},{"type":"divider","block_id":"x"}]`, "", "invalid_blocks", "[json-pointer:/blocks/1/block_id]"},
		{"a modal's block", "t", `[{"type":"alert","text":{"type":"plain_text","text":"a"}}]`, "", "invalid_blocks", "[json-pointer:/blocks/0/type]"},
		{"text 40000", rep("t", 40000), "", "", "", ""},
		{"text 40001", rep("t", 40001), "", "", "msg_too_long", ""},
		{"nothing", "", "", "", "no_text", ""},
		{"blocks not an array", "t", `{"type":"section"}`, "", "invalid_blocks_format", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			raw := func(s string) json.RawMessage {
				if s == "" {
					return nil
				}
				return json.RawMessage(s)
			}
			r := slackfake.Validate(tc.text, raw(tc.blocks), raw(tc.attachments))
			switch {
			case tc.code == "" && r != nil:
				t.Fatalf("refused: %s %v", r.Code, r.Messages)
			case tc.code == "":
			case r == nil:
				t.Fatalf("taken, want %s", tc.code)
			case r.Code != tc.code || !strings.Contains(strings.Join(r.Messages, "\n"), tc.msg):
				t.Errorf("refused with %s %q, want %s with %q", r.Code, r.Messages, tc.code, tc.msg)
			}
		})
	}
}

func buttons(k int) []string {
	var out []string
	for i := range k {
		out = append(out, button("b", "https://x", fmt.Sprint("a", i)))
	}
	return out
}

// The fake answers a refused message as Slack does: the Web API with
// {"ok":false,"error":"invalid_blocks","response_metadata":{"messages":[...]}}
// (chat.update too), a webhook with HTTP 400 and the bare code.
func TestServer_RefusesInvalidBlocksLikeSlack(t *testing.T) {
	t.Parallel()
	srv := slackfake.New(t, "xoxb-1")
	blocks := `[` + section(rep("x", 3001)) + `]`
	read := func(resp *http.Response, err error) (int, string) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, method := range []string{"chat.postMessage", "chat.update"} {
		status, body := read(http.PostForm(srv.APIURL()+method, url.Values{"token": {"xoxb-1"}, "channel": {"C0DEPLOYS"}, "ts": {"1.1"}, "text": {"t"}, "blocks": {blocks}}))
		var got struct {
			OK               bool   `json:"ok"`
			Error            string `json:"error"`
			ResponseMetadata struct {
				Messages []string `json:"messages"`
			} `json:"response_metadata"`
		}
		if err := json.Unmarshal([]byte(body), &got); err != nil || status != 200 || got.OK || got.Error != "invalid_blocks" ||
			len(got.ResponseMetadata.Messages) != 1 || got.ResponseMetadata.Messages[0] != "[ERROR] must be less than 3001 characters [json-pointer:/blocks/0/text/text]" {
			t.Errorf("%s: %d %s", method, status, body)
		}
	}
	status, body := read(http.Post(srv.WebhookURL(), "application/json", strings.NewReader(`{"text":"t","blocks":`+blocks+`}`)))
	if status != 400 || body != "invalid_blocks" {
		t.Errorf("webhook: %d %q, want 400 invalid_blocks", status, body)
	}
	status, body = read(http.Post(srv.WebhookURL(), "application/json", strings.NewReader(`{}`)))
	if status != 400 || body != "no_text" {
		t.Errorf("empty webhook: %d %q, want 400 no_text", status, body)
	}
	for _, c := range srv.Calls() {
		if c.Error == "" {
			t.Errorf("call %s recorded as taken", c.Method)
		}
	}
}
