// Package gitlab is bluegreen's thin adapter over the GitLab REST API
// (gitlab.com/gitlab-org/api/client-go). It exposes only what bluegreen
// calls, one file per API area (pipelines.go, jobs.go, members.go, ...),
// returns small value types instead of the client's, classifies errors into
// outcome kinds, and retries transient failures (5xx, 429, connection
// errors) with capped, jittered backoff that honours Retry-After.
//
// Add a new API area as a new file with methods on *Client that go through
// Client.call; gitlabtest has the matching fake routes.
package gitlab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go"

	"gitlab.com/platform/bluegreen/internal/config"
)

// Options configures a Client.
type Options struct {
	// URL is the API v4 URL (CI_API_V4_URL) or the server URL.
	URL string
	// Token is a personal, project or group access token (PRIVATE-TOKEN).
	Token config.Secret
	// Retry is the retry policy; zero fields take defaults (4 attempts,
	// 500 ms doubling, 30 s cap).
	Retry Retry
	// HTTPClient is the transport; nil means a pooled default with a 30 s timeout.
	HTTPClient *http.Client
	// Log receives the client library's own warnings; nil discards them.
	Log *slog.Logger
}

// Client calls the GitLab API. It is safe for concurrent use.
type Client struct {
	api   *gl.Client
	retry Retry
}

// New builds a Client. It makes no request.
func New(o Options) (*Client, error) {
	if o.URL == "" {
		return nil, errors.New("gitlab: no API URL")
	}
	if !o.Token.IsSet() {
		return nil, errors.New("gitlab: no token")
	}
	hc := o.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	log := o.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	api, err := gl.NewClient(o.Token.Reveal(),
		gl.WithBaseURL(o.URL),
		gl.WithHTTPClient(hc),
		// Retries are ours (call), so that they honour Retry-After, stay
		// within the caller's context and can be tested without sleeping.
		gl.WithCustomRetry(func(context.Context, *http.Response, error) (bool, error) { return false, nil }),
		gl.WithCustomRetryMax(0),
		gl.WithUserAgent("bluegreen"),
		gl.WithURLWarningLogger(log),
	)
	if err != nil {
		return nil, fmt.Errorf("gitlab: %w", err)
	}
	return &Client{api: api, retry: o.Retry.withDefaults()}, nil
}

// request is one client-go call; opts carry the context.
type request[T any] func(opts ...gl.RequestOptionFunc) (T, *gl.Response, error)

// call runs fn with retries and classifies its error. what names the call
// for errors, e.g. `group "platform" member 7`. Only idempotent calls are
// retried after a 5xx or a broken connection; every call is retried after a
// 429, which GitLab sends before doing anything.
func call[T any](ctx context.Context, c *Client, what string, idempotent bool, fn request[T]) (T, error) {
	var zero T
	for attempt := 1; ; attempt++ {
		v, resp, err := fn(gl.WithContext(ctx))
		if err == nil {
			return v, nil
		}
		wait, retry := c.retry.decide(attempt, idempotent, resp, err)
		if ctx.Err() != nil {
			return zero, classify(what, resp, ctx.Err())
		}
		if !retry {
			return zero, classify(what, resp, err)
		}
		if err := c.retry.sleep(ctx, wait); err != nil {
			return zero, classify(what, resp, err)
		}
	}
}
