package pipeline_test

import (
	"encoding/json"
	"strings"
	"testing"

	"gitlab.com/platform/bluegreen/internal/pipeline"
	"gitlab.com/platform/bluegreen/internal/slack/slackfake"
)

func TestThreads_RebuildsEachThreadAsSlackShowsIt(t *testing.T) {
	t.Parallel()
	section := func(text string) json.RawMessage {
		return json.RawMessage(`[{"blocks":[{"type":"header","text":{"type":"plain_text","text":"h"}},{"type":"section","text":{"type":"mrkdwn","text":"` + text + `"}}]}]`)
	}
	calls := []slackfake.Call{
		{Method: slackfake.PostMessage, TS: "1.1", Text: "shop · render", Attachments: section("*render* ok")},
		{Method: slackfake.PostMessage, TS: "1.2", ThreadTS: "1.1", Text: "render reply"},
		{Method: slackfake.PostMessage, TS: "2.1", Text: "other deployment"},
		{Method: slackfake.PostMessage, TS: "1.3", ThreadTS: "1.1", Text: "sync reply", Status: 429, Error: "Too Many Requests"},
		{Method: slackfake.PostMessage, TS: "1.4", ThreadTS: "1.1", Text: "sync reply"},
		{Method: slackfake.Update, TS: "1.1", Text: "shop · sync", Attachments: section("*sync* ok")},
	}
	threads := pipeline.Threads(calls)
	if len(threads) != 2 {
		t.Fatalf("%d threads, want 2", len(threads))
	}
	first := threads[0]
	if first.Head != "shop · sync\n*sync* ok" || first.Updates != 1 {
		t.Errorf("head %q after %d updates, want the update's text after 1", first.Head, first.Updates)
	}
	if strings.Join(first.Replies, "|") != "render reply|sync reply" {
		t.Errorf("replies %q: the failed call must not count", first.Replies)
	}
	if threads[1].Head != "other deployment" || len(threads[1].Replies) != 0 {
		t.Errorf("second thread: %+v", threads[1])
	}
	if s := first.String(); !strings.Contains(s, "├─ sync reply") || !strings.Contains(s, "updated 1 times") {
		t.Errorf("printed thread:\n%s", s)
	}
}
