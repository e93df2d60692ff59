package slack

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/slack-go/slack"
)

// Error is a failed Slack call. Its text never contains a token or the
// webhook URL.
type Error struct {
	Method     string        // chat.postMessage, chat.update, webhook
	Code       string        // Slack's error code (invalid_auth, channel_not_found, ...), or http_503, ratelimited, unreachable, timeout
	Transient  bool          // worth retrying later
	RetryAfter time.Duration // what Slack asked for on 429
	Attempts   int           // requests made
	Err        error         // the cause, scrubbed
	// Messages are Slack's response_metadata.messages: for invalid_blocks,
	// what is wrong and where, e.g. "[ERROR] must be less than 3001
	// characters [json-pointer:/blocks/0/text/text]".
	Messages []string
}

func (e *Error) Error() string {
	s := fmt.Sprintf("slack %s: %s", e.Method, e.Code)
	if e.RetryAfter > 0 {
		s += fmt.Sprintf(" (retry after %s)", e.RetryAfter)
	}
	if e.Err != nil && e.Err.Error() != e.Code {
		s += ": " + e.Err.Error()
	}
	if len(e.Messages) > 0 {
		s += ": " + strings.Join(e.Messages, "; ")
	}
	if e.Attempts > 1 {
		s += fmt.Sprintf(" (after %d attempts)", e.Attempts)
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Code returns the Slack error code of err, or "".
func Code(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// transientCodes are Slack API errors that may go away by themselves.
var transientCodes = map[string]bool{
	"internal_error": true, "fatal_error": true, "service_unavailable": true,
	"request_timeout": true, "ratelimited": true,
}

func classify(method string, err error, secret string) *Error {
	e := &Error{Method: method}
	var rl *slack.RateLimitedError
	var sc slack.StatusCodeError
	var api slack.SlackErrorResponse
	var wr *refusal
	var ue *url.Error
	var ne net.Error
	switch {
	case errors.As(err, &rl):
		e.Code, e.Transient, e.RetryAfter = "ratelimited", true, rl.RetryAfter
	case errors.As(err, &sc):
		e.Code, e.Transient = fmt.Sprintf("http_%d", sc.Code), sc.Code >= 500 || sc.Code == 429
	case errors.As(err, &api):
		e.Code, e.Transient = api.Err, transientCodes[api.Err]
		e.Messages = keep(api.ResponseMetadata.Messages, secret)
	case errors.As(err, &wr):
		e.Code, e.Transient = wr.code(), wr.status >= 500 || wr.status == 429
	case errors.Is(err, context.DeadlineExceeded):
		e.Code, e.Transient = "timeout", true
	case errors.Is(err, context.Canceled):
		e.Code = "canceled"
	case errors.As(err, &ue):
		// url.Error repeats the URL, which for a webhook is the secret.
		e.Code, e.Transient, e.Err = "unreachable", true, scrub(ue.Err, secret)
		return e
	case errors.As(err, &ne):
		e.Code, e.Transient = "unreachable", true
	default:
		e.Code = "error"
	}
	e.Err = scrub(err, secret)
	return e
}

// Bounds on the response_metadata.messages an Error keeps.
const (
	maxMessages    = 10
	maxMessageSize = 300
)

// keep bounds Slack's messages and scrubs secret from them.
func keep(msgs []string, secret string) []string {
	var out []string
	for i, m := range msgs {
		if i == maxMessages {
			out = append(out, fmt.Sprintf("… and %d more", len(msgs)-maxMessages))
			break
		}
		if r := []rune(m); len(r) > maxMessageSize {
			m = string(r[:maxMessageSize-1]) + "…"
		}
		if secret != "" {
			m = strings.ReplaceAll(m, secret, "[redacted]")
		}
		out = append(out, m)
	}
	return out
}

// scrub removes secret from err's text.
func scrub(err error, secret string) error {
	if err == nil || secret == "" || !strings.Contains(err.Error(), secret) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), secret, "[redacted]"))
}
