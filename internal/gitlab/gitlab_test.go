package gitlab_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"gitlab.com/platform/bluegreen/internal/config"
	"gitlab.com/platform/bluegreen/internal/gitlab"
	"gitlab.com/platform/bluegreen/internal/gitlab/gitlabtest"
	"gitlab.com/platform/bluegreen/internal/outcome"
)

const token = "glpat-TESTTOKEN-0123456789"

// sleeps records the waits the retry policy asked for, without waiting.
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

func (s *sleeps) got() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.d...)
}

var now = time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)

func newClient(t *testing.T, url string, sl *sleeps, attempts int) *gitlab.Client {
	t.Helper()
	c, err := gitlab.New(gitlab.Options{
		URL:   url,
		Token: config.Secret(token),
		Retry: gitlab.Retry{
			Attempts: attempts, Base: time.Second, Max: 30 * time.Second,
			Sleep: sl.sleep, Now: func() time.Time { return now }, Jitter: func(d time.Duration) time.Duration { return d },
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestPipeline_ReadsCreator(t *testing.T) {
	t.Parallel()
	srv := gitlabtest.New(t, gitlabtest.WithToken(token))
	srv.Pipeline("42", gitlabtest.Pipeline{ID: 7001, User: &gitlabtest.UserRef{ID: 3, Username: "carol", Name: "Carol Creator"}})
	p, err := newClient(t, srv.URL(), &sleeps{}, 4).Pipeline(context.Background(), "42", 7001)
	if err != nil {
		t.Fatal(err)
	}
	if p.Creator == nil || p.Creator.ID != 3 || p.Creator.Username != "carol" || p.Creator.Name != "Carol Creator" {
		t.Errorf("creator = %+v, want carol (3)", p.Creator)
	}
	if p.ID != 7001 || p.Status != "running" || !strings.HasSuffix(p.WebURL, "/42/-/pipelines/7001") {
		t.Errorf("pipeline = %+v", p)
	}
	reqs := srv.Requests()
	if len(reqs) != 1 || reqs[0].Header.Get("PRIVATE-TOKEN") != token {
		t.Errorf("requests = %d, PRIVATE-TOKEN sent = %v", len(reqs), len(reqs) == 1 && reqs[0].Header.Get("PRIVATE-TOKEN") == token)
	}
}

func TestPipelineJobs_FollowsPagination(t *testing.T) {
	t.Parallel()
	srv := gitlabtest.New(t, gitlabtest.WithToken(token))
	var jobs []gitlabtest.Job
	for i := 250; i > 0; i-- {
		jobs = append(jobs, gitlabtest.Job{ID: int64(9000 + i), Name: fmt.Sprintf("job-%d", i), Stage: "test", Status: "success"})
	}
	jobs = append(jobs, gitlabtest.Job{ID: 8999, Name: "approve", Stage: "qa", Status: "manual"})
	srv.PipelineJobs("42", 7001, jobs...)
	c := newClient(t, srv.URL(), &sleeps{}, 4)

	got, err := c.PipelineJobs(context.Background(), "42", 7001)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 251 {
		t.Fatalf("got %d jobs, want 251", len(got))
	}
	var pages []string
	for _, r := range srv.Requests() {
		pages = append(pages, r.Query.Get("page")+"/"+r.Query.Get("per_page"))
	}
	if strings.Join(pages, ",") != "1/100,2/100,3/100" {
		t.Errorf("pages requested = %v, want 1..3 of 100", pages)
	}

	j, err := c.PipelineJob(context.Background(), "42", 7001, "approve")
	if err != nil {
		t.Fatal(err)
	}
	if !j.IsPlayable() || j.ID != 8999 || !strings.HasSuffix(j.WebURL, "/42/-/jobs/8999") {
		t.Errorf("approve job = %+v", j)
	}
}

func TestPipelineJob_MissingJobIsNotFound(t *testing.T) {
	t.Parallel()
	srv := gitlabtest.New(t, gitlabtest.WithToken(token))
	srv.PipelineJobs("platform/checkout", 7001, gitlabtest.Job{ID: 1, Name: "render", Status: "success"})
	_, err := newClient(t, srv.URL(), &sleeps{}, 4).PipelineJob(context.Background(), "platform/checkout", 7001, "approve")
	if !errors.Is(err, gitlab.ErrNotFound) {
		t.Errorf("err = %v, want ErrNotFound", err)
	}
	if p := srv.Requests()[0].Path; p != "/api/v4/projects/platform/checkout/pipelines/7001/jobs" {
		t.Errorf("path = %s", p)
	}
}

func TestGroupMember_CountsInheritedMembership(t *testing.T) {
	t.Parallel()
	srv := gitlabtest.New(t, gitlabtest.WithToken(token))
	srv.GroupMember("platform/release-managers", gitlabtest.Member{ID: 7, Username: "alice", AccessLevel: gitlab.AccessDeveloper})
	m, err := newClient(t, srv.URL(), &sleeps{}, 4).GroupMember(context.Background(), "platform/release-managers", 7)
	if err != nil {
		t.Fatal(err)
	}
	if !m.Active() || m.Username != "alice" || m.AccessLevel != gitlab.AccessDeveloper {
		t.Errorf("member = %+v", m)
	}
}

func TestGroupMember_TellsNonMemberFromUnknownGroup(t *testing.T) {
	t.Parallel()
	srv := gitlabtest.New(t, gitlabtest.WithToken(token))
	srv.NotGroupMember("platform/release", 7)
	srv.Group(gitlabtest.Group{ID: 12, FullPath: "platform/release"})
	srv.NotGroupMember("platform/typo", 7)
	srv.NoGroup("platform/typo")
	c := newClient(t, srv.URL(), &sleeps{}, 4)

	_, err := c.GroupMember(context.Background(), "platform/release", 7)
	if !errors.Is(err, gitlab.ErrNotMember) {
		t.Errorf("non-member: err = %v, want ErrNotMember", err)
	}
	_, err = c.GroupMember(context.Background(), "platform/typo", 7)
	if !errors.Is(err, gitlab.ErrNotFound) || outcome.KindOf(err) != outcome.Usage {
		t.Errorf("unknown group: err = %v (kind %v), want ErrNotFound, usage", err, outcome.KindOf(err))
	}
}

func TestMember_MinimalAccessAndPendingDoNotCount(t *testing.T) {
	t.Parallel()
	for _, m := range []gitlab.Member{
		{State: "active", MembershipState: "active", AccessLevel: gitlab.AccessMinimal},
		{State: "active", MembershipState: "awaiting", AccessLevel: gitlab.AccessMaintainer},
		{State: "blocked", MembershipState: "active", AccessLevel: gitlab.AccessOwner},
	} {
		if m.Active() {
			t.Errorf("%+v counts as a member", m)
		}
	}
}

func TestRetry(t *testing.T) {
	t.Parallel()
	ok := func(w http.ResponseWriter, r *http.Request) {
		gitlabtest.JSON(w, 200, gitlabtest.Pipeline{ID: 7001, Status: "running", WebURL: "http://x/p/7001",
			CreatedAt: gitlabtest.Timestamp, UpdatedAt: gitlabtest.Timestamp})
	}
	retryAt := now.Add(4 * time.Second).Format(http.TimeFormat)
	tests := []struct {
		name      string
		handler   http.HandlerFunc
		attempts  int
		wantSleep []time.Duration
		wantReqs  int
		wantKind  outcome.Kind // OK: success
	}{
		{"5xx backs off exponentially then succeeds", gitlabtest.Sequence(gitlabtest.Error(502, ""), gitlabtest.Error(503, ""), ok), 4,
			[]time.Duration{time.Second, 2 * time.Second}, 3, outcome.OK},
		{"429 waits what Retry-After says", gitlabtest.Sequence(gitlabtest.RateLimited(7), ok), 4,
			[]time.Duration{7 * time.Second}, 2, outcome.OK},
		{"Retry-After as an HTTP date", gitlabtest.Sequence(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", retryAt)
			w.WriteHeader(503)
		}, ok), 4, []time.Duration{4 * time.Second}, 2, outcome.OK},
		{"Retry-After longer than the cap is not waited for", gitlabtest.RateLimited(120), 4, nil, 1, outcome.External},
		{"429 with only RateLimit-Reset waits until the reset", gitlabtest.Sequence(gitlabtest.RateLimitedUntil(now.Add(9*time.Second)), ok), 4,
			[]time.Duration{9 * time.Second}, 2, outcome.OK},
		{"RateLimit-Reset beyond the cap is not waited for", gitlabtest.RateLimitedUntil(now.Add(5 * time.Minute)), 4, nil, 1, outcome.External},
		{"gives up after the attempts", gitlabtest.Error(500, ""), 3,
			[]time.Duration{time.Second, 2 * time.Second}, 3, outcome.External},
		{"401 is a configuration error, not retried", gitlabtest.Error(401, "401 Unauthorized"), 4, nil, 1, outcome.Usage},
		{"403 is a configuration error, not retried", gitlabtest.Error(403, "403 Forbidden - insufficient_scope"), 4, nil, 1, outcome.Usage},
		{"501 is not retried", gitlabtest.Error(501, ""), 4, nil, 1, outcome.External},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := gitlabtest.New(t)
			srv.Handle("GET /projects/{project}/pipelines/{pipeline}", tt.handler)
			sl := &sleeps{}
			_, err := newClient(t, srv.URL(), sl, tt.attempts).Pipeline(context.Background(), "42", 7001)
			if k := outcome.KindOf(err); k != tt.wantKind {
				t.Errorf("kind = %v (%v), want %v", k, err, tt.wantKind)
			}
			if n := len(srv.Requests()); n != tt.wantReqs {
				t.Errorf("requests = %d, want %d", n, tt.wantReqs)
			}
			if got := sl.got(); fmt.Sprint(got) != fmt.Sprint(tt.wantSleep) {
				t.Errorf("sleeps = %v, want %v", got, tt.wantSleep)
			}
			if err != nil && strings.Contains(err.Error(), token) {
				t.Errorf("error leaks the token: %v", err)
			}
		})
	}
}

func TestRetry_UnreachableServerIsExternal(t *testing.T) {
	t.Parallel()
	url := "http://127.0.0.1:1" // nothing listens on port 1
	sl := &sleeps{}
	_, err := newClient(t, url, sl, 3).Pipeline(context.Background(), "42", 1)
	if outcome.KindOf(err) != outcome.External || len(sl.got()) != 2 {
		t.Errorf("err = %v (kind %v), sleeps = %v; want external after 3 attempts", err, outcome.KindOf(err), sl.got())
	}
}

func TestRetry_StopsWhenContextEnds(t *testing.T) {
	t.Parallel()
	srv := gitlabtest.New(t)
	srv.Handle("GET /projects/{project}/pipelines/{pipeline}", gitlabtest.Error(503, ""))
	ctx, cancel := context.WithCancel(context.Background())
	c, _ := gitlab.New(gitlab.Options{URL: srv.URL(), Token: token, Retry: gitlab.Retry{
		Attempts: 10, Sleep: func(context.Context, time.Duration) error { cancel(); return context.Canceled },
	}})
	_, err := c.Pipeline(ctx, "42", 1)
	if !errors.Is(err, context.Canceled) || len(srv.Requests()) != 1 {
		t.Errorf("err = %v after %d requests, want canceled after 1", err, len(srv.Requests()))
	}
}

func TestNew_RequiresURLAndToken(t *testing.T) {
	t.Parallel()
	if _, err := gitlab.New(gitlab.Options{Token: token}); err == nil {
		t.Error("no URL: no error")
	}
	if _, err := gitlab.New(gitlab.Options{URL: "http://x"}); err == nil {
		t.Error("no token: no error")
	}
}
