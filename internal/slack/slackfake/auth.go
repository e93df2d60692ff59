package slackfake

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// Workspace is what a token's self-inspection sees: the token's scopes and
// the channels the bot can see.
type Workspace struct {
	Scopes   []string
	Channels []Conversation
}

// Conversation is a channel of the workspace.
type Conversation struct {
	Name      string // without '#'
	IsPrivate bool
	IsMember  bool // the bot was invited
}

// Inspect is a fake of the Slack methods that tell what a bot token is and
// may do, and nothing else: auth.test (with the x-oauth-scopes header),
// conversations.info and conversations.list. Any other request, a post
// among them, fails the test. Like Slack, the conversations methods answer
// missing_scope to a token without channels:read.
type Inspect struct {
	t     testing.TB
	srv   *httptest.Server
	token string
	ws    Workspace

	mu      sync.Mutex
	methods []string
}

// NewInspect starts an Inspect fake that accepts token, closed when the
// test ends.
func NewInspect(t testing.TB, token string, ws Workspace) *Inspect {
	t.Helper()
	s := &Inspect{t: t, token: token, ws: ws}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/auth.test", s.handle(s.authTest))
	mux.HandleFunc("POST /api/conversations.info", s.handle(s.info))
	mux.HandleFunc("POST /api/conversations.list", s.handle(s.list))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("slackfake: unexpected request %s %s", r.Method, r.URL.Path)
		http.NotFound(w, r)
	})
	s.srv = httptest.NewServer(mux)
	t.Cleanup(s.srv.Close)
	return s
}

// Workspace makes the fake Slack answer the self-inspection methods too
// (auth.test, conversations.info and .list), for ws, as Inspect does: a
// pipeline whose doctor job checks the token before the stages post.
func (s *Server) Workspace(ws Workspace) {
	in := &Inspect{t: s.t, token: s.token, ws: ws}
	s.mux.HandleFunc("POST /api/auth.test", in.handle(in.authTest))
	s.mux.HandleFunc("POST /api/conversations.info", in.handle(in.info))
	s.mux.HandleFunc("POST /api/conversations.list", in.handle(in.list))
}

// APIURL is the Web API base.
func (s *Inspect) APIURL() string { return s.srv.URL + "/api/" }

// Methods are the methods called so far, in order.
func (s *Inspect) Methods() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.methods...)
}

func (s *Inspect) handle(fn func(r *http.Request) map[string]any) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.methods = append(s.methods, strings.TrimPrefix(r.URL.Path, "/api/"))
		s.mu.Unlock()
		if err := r.ParseForm(); err != nil {
			s.t.Errorf("slackfake: %s: %v", r.URL.Path, err)
		}
		tok := r.PostForm.Get("token")
		if tok == "" {
			tok = strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		}
		var body map[string]any
		switch {
		case tok == "":
			body = map[string]any{"ok": false, "error": "not_authed"}
		case tok != s.token:
			body = map[string]any{"ok": false, "error": "invalid_auth"}
		default:
			// Slack sends the scopes on every Web API answer to a valid token.
			w.Header().Set("X-OAuth-Scopes", strings.Join(s.ws.Scopes, ","))
			body = fn(r)
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		json.NewEncoder(w).Encode(body)
	}
}

func (s *Inspect) authTest(*http.Request) map[string]any {
	return map[string]any{"ok": true, "url": "https://acme.slack.com/", "team": "Acme", "user": "bluegreen",
		"team_id": "T0000001", "user_id": "U0BLUEGREEN", "bot_id": "B0BLUEGREEN", "is_enterprise_install": false}
}

func (s *Inspect) hasScope(scope string) bool {
	for _, sc := range s.ws.Scopes {
		if sc == scope {
			return true
		}
	}
	return false
}

func (s *Inspect) conv(c Conversation) map[string]any {
	return map[string]any{"id": ChannelID("#" + c.Name), "name": c.Name, "is_channel": !c.IsPrivate, "is_group": false,
		"is_private": c.IsPrivate, "is_member": c.IsMember, "is_archived": false, "created": 1700000000}
}

func (s *Inspect) missing(needed string) map[string]any {
	return map[string]any{"ok": false, "error": "missing_scope", "needed": needed, "provided": strings.Join(s.ws.Scopes, ",")}
}

func (s *Inspect) info(r *http.Request) map[string]any {
	if !s.hasScope("channels:read") {
		return s.missing("channels:read")
	}
	id := r.PostForm.Get("channel")
	for _, c := range s.ws.Channels {
		if ChannelID("#"+c.Name) == id && (!c.IsPrivate || c.IsMember) {
			return map[string]any{"ok": true, "channel": s.conv(c)}
		}
	}
	return map[string]any{"ok": false, "error": "channel_not_found"}
}

func (s *Inspect) list(*http.Request) map[string]any {
	if !s.hasScope("channels:read") {
		return s.missing("channels:read")
	}
	chans := []map[string]any{}
	for _, c := range s.ws.Channels {
		// A private channel shows only to its members (and needs groups:read).
		if c.IsPrivate && (!c.IsMember || !s.hasScope("groups:read")) {
			continue
		}
		chans = append(chans, s.conv(c))
	}
	return map[string]any{"ok": true, "channels": chans, "response_metadata": map[string]string{"next_cursor": ""}}
}
