// Package gitlabtest is an in-process fake of the GitLab REST API v4 for
// tests. It speaks GitLab's wire format (JSON bodies as the real API returns
// them, pagination headers, {"message": ...} errors, PRIVATE-TOKEN auth) so
// that tests drive the real client library through bluegreen's adapter.
//
// A test registers the routes it expects; the server fails the test on any
// request no route matches, and, at cleanup, on any route never requested.
// Every request is recorded.
//
//	srv := gitlabtest.New(t, gitlabtest.WithToken("glpat-test"))
//	srv.Pipeline("42", gitlabtest.Pipeline{ID: 7, User: gitlabtest.UserRef{ID: 3, Username: "carol"}})
//	c, _ := gitlab.New(gitlab.Options{URL: srv.URL(), Token: "glpat-test"})
//
// Typed helpers live in one file per API area (pipelines.go, jobs.go,
// members.go, groups.go). To fake another area, e.g. Commits, add commits.go
// with a wire type copied from GitLab's API documentation and a helper that
// calls Handle with the endpoint's pattern; Handle, Where, JSON, Paginate,
// Error and Sequence do the rest.
package gitlabtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// APIPrefix is where GitLab serves API v4.
const APIPrefix = "/api/v4"

// Server is a fake GitLab.
type Server struct {
	t     testing.TB
	srv   *httptest.Server
	token string

	mu       sync.Mutex
	routes   []*Route
	requests []Request
}

// Option configures a Server.
type Option func(*Server)

// WithToken makes the server answer 401, as GitLab does, to any request whose
// PRIVATE-TOKEN, JOB-TOKEN or Authorization: Bearer header is not token.
func WithToken(token string) Option { return func(s *Server) { s.token = token } }

// New starts a fake GitLab that is closed and checked when the test ends.
func New(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := &Server{t: t}
	for _, o := range opts {
		o(s)
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(func() {
		s.srv.Close()
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, r := range s.routes {
			if r.hits == 0 && !r.spare {
				t.Errorf("gitlabtest: route %s was registered but never requested", r)
			}
		}
	})
	return s
}

// URL is the server's root, which the client library takes as its base URL.
func (s *Server) URL() string { return s.srv.URL }

// APIURL is what GitLab puts in CI_API_V4_URL.
func (s *Server) APIURL() string { return s.srv.URL + APIPrefix }

// Request is one recorded request.
type Request struct {
	Method string
	Path   string // unescaped, e.g. /api/v4/groups/platform/release/members/all/7
	Query  url.Values
	Header http.Header
	Body   []byte
}

// Requests returns every request received so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Route is a registered endpoint.
type Route struct {
	method string
	segs   []string // "{name}" segments are wildcards
	where  map[string]string
	h      http.HandlerFunc
	hits   int  // guarded by Server.mu
	spare  bool // guarded by Server.mu; an unused spare route is no error
	srv    *Server
}

func (r *Route) String() string {
	s := r.method + " " + APIPrefix + "/" + strings.Join(r.segs, "/")
	for k, v := range r.where {
		s += fmt.Sprintf(" [%s=%s]", k, v)
	}
	return s
}

// Hits is how often the route was requested.
func (r *Route) Hits() int {
	r.srv.mu.Lock()
	defer r.srv.mu.Unlock()
	return r.hits
}

// Where restricts the route to requests whose wildcard name has value
// (compared unescaped, so a project or group path may contain slashes).
func (r *Route) Where(name, value string) *Route {
	r.srv.mu.Lock()
	defer r.srv.mu.Unlock()
	r.where[name] = value
	return r
}

// Spare marks the route as one a test may leave unused: part of a whole
// API area that a fake serves (a repository's history and raw files), of
// which a test uses what the code under test needs.
func (r *Route) Spare() *Route {
	r.srv.mu.Lock()
	defer r.srv.mu.Unlock()
	r.spare = true
	return r
}

// Handle registers h for pattern, "METHOD /path/{wildcard}/..." relative to
// /api/v4. Wildcards match one escaped path segment, so "{project}" matches
// both 42 and platform%2Fcheckout; handlers read them with r.PathValue.
// Routes are tried in the order they were registered.
func (s *Server) Handle(pattern string, h http.HandlerFunc) *Route {
	method, path, ok := strings.Cut(pattern, " ")
	if !ok || !strings.HasPrefix(path, "/") {
		s.t.Fatalf("gitlabtest: pattern %q is not \"METHOD /path\"", pattern)
	}
	r := &Route{method: method, segs: strings.Split(strings.Trim(path, "/"), "/"), where: map[string]string{}, h: h, srv: s}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.routes = append(s.routes, r)
	return r
}

func (s *Server) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	req.Body = io.NopCloser(bytes.NewReader(body))
	s.mu.Lock()
	s.requests = append(s.requests, Request{
		Method: req.Method, Path: req.URL.Path, Query: req.URL.Query(), Header: req.Header.Clone(), Body: body,
	})
	s.mu.Unlock()

	if s.token != "" && !s.authorized(req) {
		JSON(w, http.StatusUnauthorized, map[string]string{"message": "401 Unauthorized"})
		return
	}
	route, vars := s.match(req)
	if route == nil {
		s.t.Errorf("gitlabtest: unexpected request %s %s", req.Method, req.URL.RequestURI())
		JSON(w, http.StatusNotFound, map[string]string{"error": "404 Not Found"})
		return
	}
	for k, v := range vars {
		req.SetPathValue(k, v)
	}
	route.h(w, req)
}

func (s *Server) authorized(req *http.Request) bool {
	for _, v := range []string{
		req.Header.Get("PRIVATE-TOKEN"),
		req.Header.Get("JOB-TOKEN"),
		strings.TrimPrefix(req.Header.Get("Authorization"), "Bearer "),
	} {
		if v == s.token {
			return true
		}
	}
	return false
}

// match finds the first route for req and counts the hit.
func (s *Server) match(req *http.Request) (*Route, map[string]string) {
	escaped, ok := strings.CutPrefix(req.URL.EscapedPath(), APIPrefix+"/")
	if !ok {
		return nil, nil
	}
	segs := strings.Split(strings.Trim(escaped, "/"), "/")
	for i, seg := range segs {
		if u, err := url.PathUnescape(seg); err == nil {
			segs[i] = u
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.routes {
		if vars, ok := r.match(req.Method, segs); ok {
			r.hits++
			return r, vars
		}
	}
	return nil, nil
}

func (r *Route) match(method string, segs []string) (map[string]string, bool) {
	if method != r.method || len(segs) != len(r.segs) {
		return nil, false
	}
	vars := map[string]string{}
	for i, p := range r.segs {
		if name, ok := strings.CutPrefix(p, "{"); ok {
			vars[strings.TrimSuffix(name, "}")] = segs[i]
			continue
		}
		if p != segs[i] {
			return nil, false
		}
	}
	for k, v := range r.where {
		if vars[k] != v {
			return nil, false
		}
	}
	return vars, true
}

// JSON writes v as GitLab does: application/json with the given status.
func JSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

// Error answers as GitLab does for a failed request: {"message": "..."}.
// message defaults to GitLab's own, e.g. "404 Not found".
func Error(status int, message string) http.HandlerFunc {
	if message == "" {
		message = fmt.Sprintf("%d %s", status, http.StatusText(status))
	}
	return func(w http.ResponseWriter, _ *http.Request) {
		JSON(w, status, map[string]string{"message": message})
	}
}

// RateLimited answers 429 with GitLab's rate-limit headers and Retry-After.
func RateLimited(retryAfterSeconds int) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds))
		w.Header().Set("RateLimit-Limit", "600")
		w.Header().Set("RateLimit-Remaining", "0")
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusTooManyRequests)
		io.WriteString(w, "Retry later\n")
	}
}

// RateLimitedUntil answers 429 with GitLab's RateLimit-* headers and no
// Retry-After, as some of GitLab's throttles do: the client must wait for
// RateLimit-Reset (a Unix time; RateLimit-ResetTime is the same as a date).
func RateLimitedUntil(reset time.Time) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("RateLimit-Limit", "600")
		w.Header().Set("RateLimit-Observed", "601")
		w.Header().Set("RateLimit-Remaining", "0")
		w.Header().Set("RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
		w.Header().Set("RateLimit-ResetTime", reset.UTC().Format(http.TimeFormat))
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusTooManyRequests)
		io.WriteString(w, "Retry later\n")
	}
}

// Sequence answers the nth request with the nth handler; the last one
// answers every request after that.
func Sequence(hs ...http.HandlerFunc) http.HandlerFunc {
	var mu sync.Mutex
	n := 0
	return func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		h := hs[min(n, len(hs)-1)]
		n++
		mu.Unlock()
		h(w, r)
	}
}

// Paginate writes the page of items that r asks for (page, per_page;
// GitLab's defaults 1 and 20) with GitLab's offset pagination headers:
// X-Page, X-Per-Page, X-Total, X-Total-Pages, X-Next-Page, X-Prev-Page and
// Link.
func Paginate[T any](w http.ResponseWriter, r *http.Request, items []T) {
	page := queryInt(r, "page", 1)
	per := min(queryInt(r, "per_page", 20), 100)
	total := len(items)
	pages := max((total+per-1)/per, 1)
	lo := min((page-1)*per, total)
	hi := min(lo+per, total)

	h := w.Header()
	h.Set("X-Page", strconv.Itoa(page))
	h.Set("X-Per-Page", strconv.Itoa(per))
	h.Set("X-Total", strconv.Itoa(total))
	h.Set("X-Total-Pages", strconv.Itoa(pages))
	h.Set("X-Next-Page", "")
	h.Set("X-Prev-Page", "")
	link := func(p int, rel string) string {
		u := *r.URL
		u.Scheme, u.Host = "http", r.Host
		q := u.Query()
		q.Set("page", strconv.Itoa(p))
		q.Set("per_page", strconv.Itoa(per))
		u.RawQuery = q.Encode()
		return fmt.Sprintf("<%s>; rel=\"%s\"", u.String(), rel)
	}
	var links []string
	if page < pages {
		h.Set("X-Next-Page", strconv.Itoa(page+1))
		links = append(links, link(page+1, "next"))
	}
	if page > 1 {
		h.Set("X-Prev-Page", strconv.Itoa(page-1))
		links = append(links, link(page-1, "prev"))
	}
	links = append(links, link(1, "first"), link(pages, "last"))
	h.Set("Link", strings.Join(links, ", "))
	JSON(w, http.StatusOK, items[lo:hi])
}

func queryInt(r *http.Request, key string, def int) int {
	if n, err := strconv.Atoi(r.URL.Query().Get(key)); err == nil && n > 0 {
		return n
	}
	return def
}
