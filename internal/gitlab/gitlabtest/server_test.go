package gitlabtest_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"gitlab.com/platform/bluegreen/internal/gitlab/gitlabtest"
)

// fakeT records what the server reports, and runs cleanups on demand.
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

func get(t *testing.T, url string, header ...string) (int, string, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func TestServer_FailsOnUnexpectedRoute(t *testing.T) {
	t.Parallel()
	ft := &fakeT{TB: t}
	srv := gitlabtest.New(ft)
	status, body, _ := get(t, srv.APIURL()+"/projects/1/issues")
	errs := ft.finish()
	if status != 404 || !strings.Contains(body, "404") {
		t.Errorf("answer = %d %s, want GitLab's 404", status, body)
	}
	if len(errs) != 1 || !strings.Contains(errs[0], "unexpected request GET /api/v4/projects/1/issues") {
		t.Errorf("reported %q, want one unexpected request", errs)
	}
}

func TestServer_FailsOnRouteNeverHit(t *testing.T) {
	t.Parallel()
	ft := &fakeT{TB: t}
	srv := gitlabtest.New(ft)
	srv.GroupMember("platform/release", gitlabtest.Member{ID: 7, Username: "alice"})
	errs := ft.finish()
	if len(errs) != 1 || !strings.Contains(errs[0], "never requested") || !strings.Contains(errs[0], "group=platform/release") {
		t.Errorf("reported %q, want the unused route", errs)
	}
}

func TestServer_RequiresToken(t *testing.T) {
	t.Parallel()
	srv := gitlabtest.New(t, gitlabtest.WithToken("good"))
	srv.Group(gitlabtest.Group{ID: 1, FullPath: "platform"})
	if status, body, _ := get(t, srv.APIURL()+"/groups/platform", "PRIVATE-TOKEN", "bad"); status != 401 || !strings.Contains(body, `"401 Unauthorized"`) {
		t.Errorf("bad token: %d %s", status, body)
	}
	if status, _, _ := get(t, srv.APIURL()+"/groups/platform", "PRIVATE-TOKEN", "good"); status != 200 {
		t.Errorf("good token: %d", status)
	}
	if got := len(srv.Requests()); got != 2 {
		t.Errorf("recorded %d requests, want 2", got)
	}
}

func TestServer_MatchesEscapedPaths(t *testing.T) {
	t.Parallel()
	srv := gitlabtest.New(t)
	r := srv.Group(gitlabtest.Group{ID: 1, FullPath: "platform/release"})
	status, body, _ := get(t, srv.APIURL()+"/groups/platform%2Frelease")
	if status != 200 || !strings.Contains(body, `"full_path":"platform/release"`) || r.Hits() != 1 {
		t.Errorf("answer = %d %s, hits %d", status, body, r.Hits())
	}
}

func TestPaginate_WritesGitLabHeaders(t *testing.T) {
	t.Parallel()
	srv := gitlabtest.New(t)
	srv.Handle("GET /items", func(w http.ResponseWriter, r *http.Request) {
		gitlabtest.Paginate(w, r, []int{1, 2, 3, 4, 5})
	})
	status, body, h := get(t, srv.APIURL()+"/items?page=2&per_page=2")
	if status != 200 || body != "[3,4]" {
		t.Errorf("page 2 = %d %s", status, body)
	}
	for k, want := range map[string]string{"X-Page": "2", "X-Per-Page": "2", "X-Total": "5", "X-Total-Pages": "3", "X-Next-Page": "3", "X-Prev-Page": "1"} {
		if got := h.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if l := h.Get("Link"); !strings.Contains(l, `page=3&per_page=2>; rel="next"`) || !strings.Contains(l, `rel="last"`) {
		t.Errorf("Link = %s", l)
	}
}

func TestPipelineJobs_FiltersByScope(t *testing.T) {
	t.Parallel()
	srv := gitlabtest.New(t)
	srv.PipelineJobs("42", 9, gitlabtest.Job{ID: 2, Name: "approve", Status: "manual"}, gitlabtest.Job{ID: 1, Name: "render", Status: "success"})
	_, body, _ := get(t, srv.APIURL()+"/projects/42/pipelines/9/jobs?scope[]=manual")
	if !strings.Contains(body, `"name":"approve"`) || strings.Contains(body, `"name":"render"`) {
		t.Errorf("scope=manual gave %s", body)
	}
}
