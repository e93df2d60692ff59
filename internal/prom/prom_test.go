package prom

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"gitlab.com/platform/bluegreen/internal/config"
)

// fakeProm is an httptest server that speaks the Prometheus HTTP API's wire
// format. It fails the test on a route nobody registered, and on a
// registered route that was never hit.
type fakeProm struct {
	t      *testing.T
	srv    *httptest.Server
	mu     sync.Mutex
	routes map[string]http.HandlerFunc
	hits   map[string]int
	reqs   []*http.Request
}

func newFakeProm(t *testing.T) *fakeProm {
	t.Helper()
	f := &fakeProm{t: t, routes: map[string]http.HandlerFunc{}, hits: map[string]int{}}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		f.mu.Lock()
		h, ok := f.routes[r.URL.Path]
		f.hits[r.URL.Path]++
		f.reqs = append(f.reqs, r)
		f.mu.Unlock()
		if !ok {
			t.Errorf("unexpected request %s %s", r.Method, r.URL.Path)
			http.Error(w, "unexpected", http.StatusNotFound)
			return
		}
		h(w, r)
	}))
	t.Cleanup(func() {
		f.srv.Close()
		f.mu.Lock()
		defer f.mu.Unlock()
		for p := range f.routes {
			if f.hits[p] == 0 {
				t.Errorf("route %s was registered but never hit", p)
			}
		}
	})
	return f
}

func (f *fakeProm) handle(path string, h http.HandlerFunc) { f.routes[path] = h }

func (f *fakeProm) count(path string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hits[path]
}

// reply writes a success envelope around data.
func reply(w http.ResponseWriter, data string, warnings ...string) {
	w.Header().Set("Content-Type", "application/json")
	warn := ""
	if len(warnings) > 0 {
		warn = fmt.Sprintf(`,"warnings":["%s"]`, strings.Join(warnings, `","`))
	}
	fmt.Fprintf(w, `{"status":"success","data":%s%s}`, data, warn)
}

func replyError(w http.ResponseWriter, code int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	fmt.Fprintf(w, `{"status":"error","errorType":%q,"error":%q}`, typ, msg)
}

// noSleep records backoffs instead of waiting.
type noSleep struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (n *noSleep) sleep(_ context.Context, d time.Duration) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.waits = append(n.waits, d)
	return nil
}

func newClient(t *testing.T, url string, token config.Secret, s *noSleep) *Client {
	t.Helper()
	c, err := New(Config{URL: url, Token: token, Timeout: 5 * time.Second,
		Retry: Retry{Attempts: 3, Base: 100 * time.Millisecond, Cap: time.Second, Sleep: s.sleep, Jitter: func() float64 { return 0.5 }}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var at = time.Unix(1_800_000_000, 0).UTC()

func TestQuery_DecodesValues(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		data     string
		warnings []string
		want     []float64 // one per series
		wantErr  error
	}{
		{name: "one series", data: `{"resultType":"vector","result":[{"metric":{},"value":[1800000000,"0.25"]}]}`, want: []float64{0.25}},
		{name: "scalar", data: `{"resultType":"scalar","result":[1800000000,"3"]}`, want: []float64{3}},
		{name: "NaN is a value, not an error", data: `{"resultType":"vector","result":[{"metric":{},"value":[1800000000,"NaN"]}]}`, want: []float64{math.NaN()}},
		{name: "+Inf is a value", data: `{"resultType":"vector","result":[{"metric":{},"value":[1800000000,"+Inf"]}]}`, want: []float64{math.Inf(1)}},
		{name: "several series", data: `{"resultType":"vector","result":[{"metric":{"code":"200"},"value":[1800000000,"1"]},{"metric":{"code":"500"},"value":[1800000000,"2"]}]}`, want: []float64{1, 2}},
		{name: "empty vector is no data", data: `{"resultType":"vector","result":[]}`, warnings: []string{"partial answer"}, wantErr: ErrNoData},
		{name: "a string is a bad query", data: `{"resultType":"string","result":[1800000000,"hello"]}`, wantErr: ErrBadQuery},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeProm(t)
			f.handle("/api/v1/query", func(w http.ResponseWriter, r *http.Request) {
				if got := r.Form.Get("query"); got != "up" {
					t.Errorf("query = %q, want up", got)
				}
				if got := r.Form.Get("time"); got != "1800000000" {
					t.Errorf("time = %q", got)
				}
				reply(w, tt.data, tt.warnings...)
			})
			res, err := newClient(t, f.srv.URL, "", &noSleep{}).Query(context.Background(), "up", at)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if len(tt.warnings) > 0 && (len(res.Warnings) != 1 || res.Warnings[0] != tt.warnings[0]) {
				t.Errorf("warnings = %q, want %q", res.Warnings, tt.warnings)
			}
			if len(res.Series) != len(tt.want) {
				t.Fatalf("got %d series, want %d", len(res.Series), len(tt.want))
			}
			for i, w := range tt.want {
				got := res.Series[i].Points[0].V
				if got != w && !(math.IsNaN(got) && math.IsNaN(w)) {
					t.Errorf("series %d = %v, want %v", i, got, w)
				}
			}
		})
	}
}

func TestQueryRange_KeepsGapsAndWarnings(t *testing.T) {
	t.Parallel()
	f := newFakeProm(t)
	f.handle("/api/v1/query_range", func(w http.ResponseWriter, r *http.Request) {
		if r.Form.Get("step") != "60" || r.Form.Get("start") != "1800000000" || r.Form.Get("end") != "1800000180" {
			t.Errorf("range = %v", r.Form)
		}
		reply(w, `{"resultType":"matrix","result":[{"metric":{},"values":[[1800000000,"1"],[1800000120,"NaN"],[1800000180,"3"]]}]}`, "query hit the sample limit")
	})
	res, err := newClient(t, f.srv.URL, "", &noSleep{}).QueryRange(context.Background(), "x", Range{Start: at, End: at.Add(3 * time.Minute), Step: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	pts := res.Series[0].Points
	if len(pts) != 3 || !pts[1].T.Equal(at.Add(2*time.Minute)) || !math.IsNaN(pts[1].V) || pts[2].V != 3 {
		t.Errorf("points = %v", pts)
	}
	if len(res.Warnings) != 1 {
		t.Errorf("warnings = %q", res.Warnings)
	}
}

func TestQueryRange_EmptyMatrixIsNoData(t *testing.T) {
	t.Parallel()
	f := newFakeProm(t)
	f.handle("/api/v1/query_range", func(w http.ResponseWriter, _ *http.Request) {
		reply(w, `{"resultType":"matrix","result":[]}`)
	})
	_, err := newClient(t, f.srv.URL, "", &noSleep{}).QueryRange(context.Background(), "x", Range{Start: at, End: at.Add(time.Minute), Step: time.Minute})
	if !errors.Is(err, ErrNoData) {
		t.Fatalf("err = %v, want ErrNoData", err)
	}
}

func TestQuery_ClassifiesFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		handler   func(n int) http.HandlerFunc // n: the attempt, from 1
		want      error
		wantHits  int
		wantWaits int
	}{
		{
			name: "syntax error is a bad query, not retried",
			handler: func(int) http.HandlerFunc {
				return func(w http.ResponseWriter, _ *http.Request) {
					replyError(w, 400, "bad_data", `1:5: parse error: unclosed left parenthesis`)
				}
			},
			want: ErrBadQuery, wantHits: 1,
		},
		{
			name: "execution error is a bad query",
			handler: func(int) http.HandlerFunc {
				return func(w http.ResponseWriter, _ *http.Request) {
					replyError(w, 422, "execution", "found duplicate series for the match group")
				}
			},
			want: ErrBadQuery, wantHits: 1,
		},
		{
			name: "401 is unauthorized, not retried",
			handler: func(int) http.HandlerFunc {
				return func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "no", http.StatusUnauthorized) }
			},
			want: ErrUnauthorized, wantHits: 1,
		},
		{
			name: "5xx is retried, then unavailable",
			handler: func(int) http.HandlerFunc {
				return func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "boom", http.StatusBadGateway) }
			},
			want: ErrUnavailable, wantHits: 3, wantWaits: 2,
		},
		{
			name: "query timeout is retried",
			handler: func(int) http.HandlerFunc {
				return func(w http.ResponseWriter, _ *http.Request) {
					replyError(w, 503, "timeout", "query timed out in expression evaluation")
				}
			},
			want: ErrUnavailable, wantHits: 3, wantWaits: 2,
		},
		{
			name: "a proxy's HTML page is retried",
			handler: func(int) http.HandlerFunc {
				return func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "<html>maintenance</html>") }
			},
			want: ErrUnavailable, wantHits: 3, wantWaits: 2,
		},
		{
			name: "a transient failure that recovers succeeds",
			handler: func(n int) http.HandlerFunc {
				return func(w http.ResponseWriter, _ *http.Request) {
					if n < 3 {
						http.Error(w, "warming up", http.StatusServiceUnavailable)
						return
					}
					reply(w, `{"resultType":"vector","result":[{"metric":{},"value":[1800000000,"1"]}]}`)
				}
			},
			want: nil, wantHits: 3, wantWaits: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeProm(t)
			var mu sync.Mutex
			n := 0
			f.handle("/api/v1/query", func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				n++
				h := tt.handler(n)
				mu.Unlock()
				h(w, r)
			})
			s := &noSleep{}
			_, err := newClient(t, f.srv.URL, "", s).Query(context.Background(), "up", at)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if got := f.count("/api/v1/query"); got != tt.wantHits {
				t.Errorf("hits = %d, want %d", got, tt.wantHits)
			}
			if len(s.waits) != tt.wantWaits {
				t.Errorf("waits = %v, want %d", s.waits, tt.wantWaits)
			}
			for _, sentinel := range []error{ErrNoData, ErrBadQuery, ErrUnauthorized, ErrUnavailable} {
				if sentinel != tt.want && errors.Is(err, sentinel) {
					t.Errorf("err %v also matches %v", err, sentinel)
				}
			}
		})
	}
}

func TestQuery_UnreachableIsUnavailable(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	s := &noSleep{}
	_, err := newClient(t, url, "", s).Query(context.Background(), "up", at)
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable", err)
	}
	if !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("err = %v, want the cause", err)
	}
	if len(s.waits) != 2 {
		t.Errorf("waits = %v, want 2 backoffs", s.waits)
	}
}

func TestQuery_CancelledContextIsNotUnavailable(t *testing.T) {
	t.Parallel()
	f := newFakeProm(t)
	ctx, cancel := context.WithCancel(context.Background())
	f.handle("/api/v1/query", func(w http.ResponseWriter, _ *http.Request) {
		cancel()
		http.Error(w, "boom", http.StatusBadGateway)
	})
	_, err := newClient(t, f.srv.URL, "", &noSleep{}).Query(ctx, "up", at)
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrUnavailable) {
		t.Fatalf("err = %v, want context.Canceled only", err)
	}
}

func TestRetry_BackoffIsCappedAndJittered(t *testing.T) {
	t.Parallel()
	r := Retry{Attempts: 8, Base: 100 * time.Millisecond, Cap: time.Second, Jitter: func() float64 { return 0.999 }}.withDefaults()
	lo := Retry{Attempts: 8, Base: 100 * time.Millisecond, Cap: time.Second, Jitter: func() float64 { return 0 }}.withDefaults()
	want := []time.Duration{100, 200, 400, 800, 1000, 1000}
	for n, w := range want {
		w *= time.Millisecond
		if got := r.backoff(n, 0); got > w || got < w*99/100 {
			t.Errorf("backoff(%d) high = %v, want about %v", n, got, w)
		}
		if got := lo.backoff(n, 0); got != w/2 {
			t.Errorf("backoff(%d) low = %v, want %v", n, got, w/2)
		}
	}
	if got := r.backoff(0, 30*time.Second); got != time.Second {
		t.Errorf("Retry-After beyond the cap = %v, want the cap", got)
	}
}

func TestQuery_HonoursRetryAfter(t *testing.T) {
	t.Parallel()
	f := newFakeProm(t)
	f.handle("/api/v1/query", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "1")
		http.Error(w, "slow down", http.StatusTooManyRequests)
	})
	s := &noSleep{}
	_, err := newClient(t, f.srv.URL, "", s).Query(context.Background(), "up", at)
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("err = %v", err)
	}
	if len(s.waits) != 2 || s.waits[0] != time.Second {
		t.Errorf("waits = %v, want the server's 1s", s.waits)
	}
}

const token = config.Secret("s3cr3t-prom-token")

func TestQuery_SendsBearerTokenAndNeverLeaksIt(t *testing.T) {
	t.Parallel()
	f := newFakeProm(t)
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h := r.Header.Get("Authorization"); h != "" {
			t.Errorf("redirect target got Authorization %q", h)
		}
		replyError(w, 400, "bad_data", "parse error near "+r.URL.Query().Get("query"))
	}))
	t.Cleanup(other.Close)
	f.handle("/api/v1/query", func(w http.ResponseWriter, r *http.Request) {
		if got := r.Header.Get("Authorization"); got != "Bearer "+token.Reveal() {
			t.Errorf("Authorization = %q", got)
		}
		if r.Form.Get("query") == "redirect" {
			http.Redirect(w, r, other.URL+"/api/v1/query?query=x", http.StatusFound)
			return
		}
		http.Error(w, "denied for "+r.Header.Get("X-Nothing"), http.StatusForbidden)
	})
	c := newClient(t, f.srv.URL, token, &noSleep{})
	_, err := c.Query(context.Background(), "up", at)
	if !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("err = %v, want ErrUnauthorized", err)
	}
	_, err2 := c.Query(context.Background(), "redirect", at)
	for _, s := range []string{err.Error(), err2.Error(), fmt.Sprintf("%v %+v %#v", c, c, token)} {
		if strings.Contains(s, token.Reveal()) {
			t.Errorf("token leaked: %s", s)
		}
	}
}

func TestNew_RejectsBadURLWithoutLeakingCredentials(t *testing.T) {
	t.Parallel()
	for _, u := range []string{"", "prometheus:9090", "ftp://host", "http://"} {
		if _, err := New(Config{URL: u}); err == nil {
			t.Errorf("New(%q) = nil error", u)
		}
	}
	c, err := New(Config{URL: "https://user:hunter2@prom.example.com/prometheus"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(c.String(), "hunter2") {
		t.Errorf("String() = %s leaks the password", c)
	}
}
