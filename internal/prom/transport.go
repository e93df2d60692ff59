package prom

import (
	"context"
	"net/http"
	"time"

	"gitlab.com/platform/bluegreen/internal/backoff"

	"gitlab.com/platform/bluegreen/internal/config"
)

// transport adds the bearer token and records what the server answered, for
// the error classification. It is the only code that reveals the token, and
// it sends it only to the host the client was configured with, never to a
// host a redirect points at.
type transport struct {
	next  http.RoundTripper
	token config.Secret
	host  string
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.Header.Set("User-Agent", "bluegreen")
	if t.token.IsSet() && req.URL.Host == t.host {
		req.Header.Set("Authorization", "Bearer "+t.token.Reveal())
	}
	resp, err := t.next.RoundTrip(req)
	if rec, ok := req.Context().Value(exchangeKey{}).(*exchange); ok && resp != nil {
		rec.status = resp.StatusCode
		rec.after, _ = backoff.RetryAfter(resp.Header.Get("Retry-After"), time.Now())
	}
	return resp, err
}

// exchange is what one attempt learnt about the HTTP response, which the
// client library does not return with its errors.
type exchange struct {
	status int
	after  time.Duration
}

type exchangeKey struct{}

func withExchange(ctx context.Context, e *exchange) context.Context {
	return context.WithValue(ctx, exchangeKey{}, e)
}
