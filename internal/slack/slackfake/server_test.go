package slackfake_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"gitlab.com/platform/bluegreen/internal/slack/slackfake"
)

type fakeT struct {
	testing.TB
	mu       sync.Mutex
	errs     []string
	cleanups []func()
}

func (f *fakeT) Helper() {}
func (f *fakeT) Errorf(format string, a ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errs = append(f.errs, fmt.Sprintf(format, a...))
}
func (f *fakeT) Cleanup(fn func()) { f.cleanups = append(f.cleanups, fn) }
func (f *fakeT) finish() []string {
	for i := len(f.cleanups) - 1; i >= 0; i-- {
		f.cleanups[i]()
	}
	return f.errs
}

func TestServer_FailsOnUnexpectedMethod(t *testing.T) {
	t.Parallel()
	ft := &fakeT{TB: t}
	srv := slackfake.New(ft, "xoxb-1")
	resp, err := http.PostForm(srv.APIURL()+"conversations.list", url.Values{"token": {"xoxb-1"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if errs := ft.finish(); len(errs) != 1 || !strings.Contains(errs[0], "unexpected request POST /api/conversations.list") {
		t.Errorf("reported %q", errs)
	}
}

func TestServer_FailsOnFaultNeverServed(t *testing.T) {
	t.Parallel()
	ft := &fakeT{TB: t}
	srv := slackfake.New(ft, "xoxb-1")
	srv.Fail(slackfake.Update, slackfake.ServerError(503))
	if errs := ft.finish(); len(errs) != 1 || !strings.Contains(errs[0], "never served") {
		t.Errorf("reported %q", errs)
	}
}

func TestServer_AnswersLikeSlack(t *testing.T) {
	t.Parallel()
	srv := slackfake.New(t, "xoxb-1")
	post := func(method string, v url.Values) string {
		resp, err := http.PostForm(srv.APIURL()+method, v)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		fmt.Fprint(&b, resp.StatusCode)
		buf := make([]byte, 512)
		n, _ := resp.Body.Read(buf)
		return b.String() + " " + string(buf[:n])
	}
	if got := post("chat.postMessage", url.Values{"token": {"bad"}, "channel": {"#deploys"}}); !strings.Contains(got, `"error":"invalid_auth"`) {
		t.Errorf("bad token: %s", got)
	}
	if got := post("chat.postMessage", url.Values{"token": {"xoxb-1"}, "channel": {"#deploys"}, "text": {"hi"}}); !strings.Contains(got, `"channel":"C0DEPLOYS"`) || !strings.Contains(got, `"ok":true`) {
		t.Errorf("post: %s", got)
	}
	if got := post("chat.update", url.Values{"token": {"xoxb-1"}, "channel": {"#deploys"}, "ts": {"1795000000.000100"}, "text": {"hi"}}); !strings.Contains(got, "channel_not_found") {
		t.Errorf("update by name: %s", got)
	}
	if got := post("chat.update", url.Values{"token": {"xoxb-1"}, "channel": {"C0DEPLOYS"}, "ts": {"1795000000.000100"}, "text": {"hi"}}); !strings.Contains(got, `"ok":true`) {
		t.Errorf("update by ID: %s", got)
	}
}
