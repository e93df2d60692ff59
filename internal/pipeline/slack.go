package pipeline

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"gitlab.com/platform/bluegreen/internal/slack/slackfake"
)

// Thread is what Slack shows of the messages the jobs sent: the message at
// the top of each thread as it ended (after every update), followed by its
// replies, in order.
type Thread struct {
	Head    string   // the top message's text, as last updated
	Updates int      // how often the top message was updated
	Replies []string // the replies' texts
}

// Threads rebuilds the threads from the calls the Slack fake recorded, in
// the order they were started. A message's text is its fallback line
// followed by the text of its sections.
func Threads(calls []slackfake.Call) []*Thread {
	var order []string
	byTS := map[string]*Thread{}
	for _, c := range calls {
		if c.Error != "" || c.Status >= 300 {
			continue
		}
		switch {
		case c.Method == slackfake.PostMessage && c.ThreadTS == "":
			byTS[c.TS] = &Thread{Head: messageText(c)}
			order = append(order, c.TS)
		case c.Method == slackfake.PostMessage:
			if t := byTS[c.ThreadTS]; t != nil {
				t.Replies = append(t.Replies, messageText(c))
			}
		case c.Method == slackfake.Update:
			if t := byTS[c.TS]; t != nil {
				t.Head = messageText(c)
				t.Updates++
			}
		}
	}
	out := make([]*Thread, 0, len(order))
	for _, ts := range order {
		out = append(out, byTS[ts])
	}
	return out
}

// String prints the thread for people, indented.
func (t *Thread) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "┌ %s\n", indentRest(t.Head, "│ "))
	for _, r := range t.Replies {
		fmt.Fprintf(&b, "├─ %s\n", indentRest(r, "│  "))
	}
	fmt.Fprintf(&b, "└ (top message updated %d times)\n", t.Updates)
	return b.String()
}

func indentRest(s, prefix string) string {
	return strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n"+prefix)
}

// messageText is a call's fallback text and the mrkdwn of its sections.
func messageText(c slackfake.Call) string {
	parts := []string{c.Text}
	for _, raw := range []json.RawMessage{c.Blocks, c.Attachments} {
		if len(raw) == 0 {
			continue
		}
		var v any
		if json.Unmarshal(raw, &v) == nil {
			sections(v, &parts)
		}
	}
	return strings.Join(parts, "\n")
}

// sections collects the text of every block of type "section".
func sections(v any, out *[]string) {
	switch v := v.(type) {
	case []any:
		for _, e := range v {
			sections(e, out)
		}
	case map[string]any:
		if v["type"] == "section" {
			if t, ok := v["text"].(map[string]any); ok {
				if s, ok := t["text"].(string); ok {
					*out = append(*out, s)
				}
			}
			return
		}
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			sections(v[k], out)
		}
	}
}
