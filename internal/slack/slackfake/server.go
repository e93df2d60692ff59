// Package slackfake is an in-process fake of the two Slack surfaces
// bluegreen uses: the Web API methods chat.postMessage and chat.update
// (form-encoded requests, {"ok": ...} JSON answers, channel IDs, message
// timestamps) and an incoming webhook (a JSON body, a plain "ok" answer).
// It records every payload, and fails the test on any other request and on
// a queued fault that was never served. It refuses, as Slack does, a
// message that breaks Block Kit's structure or limits (see Validate): the
// Web API with {"ok": false, "error": "invalid_blocks", "response_metadata":
// {"messages": [...]}}, a webhook with HTTP 400 and the bare code.
//
// slack-go's own slacktest lacks chat.update and payload recording, hence
// this one.
package slackfake

import (
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
)

// Method names as they appear in Call.Method.
const (
	PostMessage = "chat.postMessage"
	Update      = "chat.update"
	Webhook     = "webhook"
)

// Call is one recorded request.
type Call struct {
	Method      string          `json:"method"`
	Channel     string          `json:"channel,omitempty"` // as sent (webhook: empty)
	TS          string          `json:"ts,omitempty"`      // chat.update: the message updated; chat.postMessage: the ts assigned
	ThreadTS    string          `json:"thread_ts,omitempty"`
	Text        string          `json:"text,omitempty"`
	Blocks      json.RawMessage `json:"blocks,omitempty"`
	Attachments json.RawMessage `json:"attachments,omitempty"`
	Status      int             `json:"-"` // the HTTP status answered
	Error       string          `json:"-"` // the Slack error answered, if any
	Body        string          `json:"-"` // the raw request body (holds the bot token: keep it out of goldens)
}

// Fault is an answer to serve instead of success.
type Fault struct {
	Status     int      // HTTP status; 0 means 200
	RetryAfter int      // seconds, sent as Retry-After
	Error      string   // Slack error code for an {"ok": false} answer (Web API), or the text body (webhook)
	Messages   []string // the Web API answer's response_metadata.messages
}

// RateLimited is Slack's 429 with Retry-After.
func RateLimited(seconds int) Fault { return Fault{Status: 429, RetryAfter: seconds} }

// ServerError is an HTTP 5xx with Slack's HTML-ish body.
func ServerError(status int) Fault { return Fault{Status: status} }

// APIError is an HTTP 200 {"ok": false, "error": code}.
func APIError(code string) Fault { return Fault{Error: code} }

// Server is a fake Slack.
type Server struct {
	t          testing.TB
	srv        *httptest.Server
	mux        *http.ServeMux
	token      string
	webhookKey string

	mu       sync.Mutex
	calls    []Call
	faults   map[string][]Fault
	always   map[string]Fault
	nextTS   int
	messages map[string]bool // channelID + "/" + ts
}

// New starts a fake Slack that accepts token as the bot token. It is closed
// and checked when the test ends.
func New(t testing.TB, token string) *Server {
	t.Helper()
	s := &Server{t: t, token: token, webhookKey: "T0000000/B0000000/webhooksecret0123456789",
		faults: map[string][]Fault{}, always: map[string]Fault{}, messages: map[string]bool{}}
	mux := http.NewServeMux()
	s.mux = mux
	mux.HandleFunc("POST /api/chat.postMessage", s.chat(PostMessage))
	mux.HandleFunc("POST /api/chat.update", s.chat(Update))
	mux.HandleFunc("POST /services/"+s.webhookKey, s.webhook)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("slackfake: unexpected request %s %s", r.Method, r.URL.Path)
		http.NotFound(w, r)
	})
	s.srv = httptest.NewServer(mux)
	t.Cleanup(func() {
		s.srv.Close()
		s.mu.Lock()
		defer s.mu.Unlock()
		for m, fs := range s.faults {
			if len(fs) > 0 {
				t.Errorf("slackfake: %d fault(s) queued for %s were never served", len(fs), m)
			}
		}
	})
	return s
}

// APIURL is the Web API base, with the trailing slash slack-go needs.
func (s *Server) APIURL() string { return s.srv.URL + "/api/" }

// WebhookURL is the incoming webhook's URL. Like a real one, it is a secret.
func (s *Server) WebhookURL() string { return s.srv.URL + "/services/" + s.webhookKey }

// Fail queues faults for the next calls of method, one call each.
func (s *Server) Fail(method string, faults ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[method] = append(s.faults[method], faults...)
}

// FailAlways serves f to every call of method: Slack is down.
func (s *Server) FailAlways(method string, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.always[method] = f
}

// Calls returns every call so far, in order.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// ChannelID is the ID the fake gives a channel name: "#deploys" is C0DEPLOYS.
func ChannelID(name string) string {
	if !strings.HasPrefix(name, "#") {
		return name
	}
	return "C0" + strings.ToUpper(strings.TrimPrefix(name, "#"))
}

func (s *Server) fault(method string) (Fault, bool) {
	if f, ok := s.always[method]; ok {
		return f, true
	}
	if q := s.faults[method]; len(q) > 0 {
		s.faults[method] = q[1:]
		return q[0], true
	}
	return Fault{}, false
}

func (s *Server) chat(method string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		form, err := url.ParseQuery(string(body))
		if err != nil || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
			s.t.Errorf("slackfake: %s: not a form post: %v", method, err)
		}
		c := Call{Method: method, Channel: form.Get("channel"), TS: form.Get("ts"), ThreadTS: form.Get("thread_ts"),
			Text: form.Get("text"), Blocks: raw(form.Get("blocks")), Attachments: raw(form.Get("attachments")), Body: string(body)}

		s.mu.Lock()
		defer s.mu.Unlock()
		rep := s.answer(method, r, form, &c)
		c.Status = rep.status
		s.calls = append(s.calls, c)
		if rep.retryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(rep.retryAfter))
		}
		if rep.body == nil {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(rep.status)
			io.WriteString(w, "<html><body>Slack is having trouble</body></html>")
			return
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(rep.status)
		json.NewEncoder(w).Encode(rep.body)
	}
}

type reply struct {
	status     int
	retryAfter int
	body       map[string]any // nil: an HTML error page
}

// answer decides the reply to a chat call, as Slack would.
func (s *Server) answer(method string, r *http.Request, form url.Values, c *Call) reply {
	fail := func(code string) reply {
		c.Error = code
		return reply{status: 200, body: map[string]any{"ok": false, "error": code}}
	}
	tok := form.Get("token")
	if tok == "" {
		tok = strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	}
	if tok != s.token {
		return fail("invalid_auth")
	}
	if f, ok := s.fault(method); ok {
		if f.Status >= 300 {
			c.Error = http.StatusText(f.Status)
			return reply{status: f.Status, retryAfter: f.RetryAfter}
		}
		r := fail(f.Error)
		if len(f.Messages) > 0 {
			r.body["response_metadata"] = map[string]any{"messages": f.Messages}
		}
		return r
	}
	if ref := Validate(c.Text, c.Blocks, c.Attachments); ref != nil {
		c.Error = ref.Code
		body := map[string]any{"ok": false, "error": ref.Code}
		if len(ref.Messages) > 0 {
			body["response_metadata"] = map[string]any{"messages": ref.Messages}
		}
		return reply{status: 200, body: body}
	}
	channel := form.Get("channel")
	switch method {
	case PostMessage:
		id := ChannelID(channel)
		if id == "" {
			return fail("channel_not_found")
		}
		if c.ThreadTS != "" && !s.messages[id+"/"+c.ThreadTS] {
			s.t.Errorf("slackfake: reply to unknown thread %s in %s", c.ThreadTS, id)
		}
		s.nextTS++
		ts := fmt.Sprintf("1795000000.%06d", s.nextTS*100)
		s.messages[id+"/"+ts] = true
		c.TS = ts
		msg := map[string]any{"type": "message", "text": c.Text, "ts": ts, "bot_id": "B0BLUEGREEN"}
		if c.ThreadTS != "" {
			msg["thread_ts"] = c.ThreadTS
		}
		return reply{status: 200, body: map[string]any{"ok": true, "channel": id, "ts": ts, "message": msg}}
	default: // chat.update needs a channel ID, not a name
		if strings.HasPrefix(channel, "#") {
			return fail("channel_not_found")
		}
		if !s.messages[channel+"/"+c.TS] {
			return fail("message_not_found")
		}
		return reply{status: 200, body: map[string]any{"ok": true, "channel": channel, "ts": c.TS, "text": c.Text}}
	}
}

func (s *Server) webhook(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var m struct {
		Text        string          `json:"text"`
		ThreadTS    string          `json:"thread_ts"`
		Blocks      json.RawMessage `json:"blocks"`
		Attachments json.RawMessage `json:"attachments"`
	}
	if err := json.Unmarshal(body, &m); err != nil {
		s.t.Errorf("slackfake: webhook: not JSON: %v", err)
	}
	c := Call{Method: Webhook, Text: m.Text, ThreadTS: m.ThreadTS, Blocks: m.Blocks, Attachments: m.Attachments, Body: string(body)}
	s.mu.Lock()
	f, failed := s.fault(Webhook)
	if ref := Validate(m.Text, m.Blocks, m.Attachments); !failed && ref != nil {
		// A webhook answers a refusal with HTTP 400 and the bare code.
		f, failed = Fault{Status: 400, Error: ref.Code}, true
	}
	c.Status = 200
	if failed {
		c.Status, c.Error = max(f.Status, 400), f.Error
	}
	s.calls = append(s.calls, c)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain")
	if failed {
		if f.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(f.RetryAfter))
		}
		w.WriteHeader(c.Status)
		io.WriteString(w, f.Error)
		return
	}
	io.WriteString(w, "ok")
}

func raw(s string) json.RawMessage {
	if s == "" {
		return nil
	}
	return json.RawMessage(s)
}
