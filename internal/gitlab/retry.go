package gitlab

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"gitlab.com/platform/bluegreen/internal/backoff"

	gl "gitlab.com/gitlab-org/api/client-go"
)

// Retry is the retry policy for GitLab calls: exponential backoff with
// jitter, capped, honouring Retry-After (and GitLab's RateLimit-Reset) on 429
// and 503. A server that asks for a longer wait than Max is not retried: the
// error goes back to the caller at once.
//
// Unset fields default to 4 attempts, a 500 ms first backoff and 30 s at
// most.
type Retry struct {
	backoff.Policy
	// Now reads the clock, for Retry-After dates and RateLimit-Reset.
	Now func() time.Time
}

func (r Retry) withDefaults() Retry {
	r.Policy = r.Policy.Or(backoff.Policy{Attempts: 4, Base: 500 * time.Millisecond, Max: 30 * time.Second})
	if r.Now == nil {
		r.Now = time.Now
	}
	return r
}

// decide says whether attempt (1-based) may be followed by another, and
// after how long.
func (r Retry) decide(attempt int, idempotent bool, resp *gl.Response, err error) (time.Duration, bool) {
	if attempt >= r.Attempts || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return 0, false
	}
	status := 0
	if resp != nil && resp.Response != nil {
		status = resp.StatusCode
	}
	switch {
	case status == http.StatusTooManyRequests:
	case status >= 500 && status != http.StatusNotImplemented:
		if !idempotent {
			return 0, false
		}
	case status == 0 && isConnError(err):
		if !idempotent {
			return 0, false
		}
	default:
		return 0, false
	}
	if resp != nil && resp.Response != nil {
		if d, ok := serverWait(resp.Header, r.Now()); ok {
			if d > r.Max {
				return 0, false // the server wants longer than we may wait
			}
			return d, true
		}
	}
	return r.Backoff(attempt), true
}

func (r Retry) sleep(ctx context.Context, d time.Duration) error { return r.Sleep(ctx, d) }

// serverWait reads Retry-After (seconds or an HTTP date), else GitLab's
// RateLimit-Reset (a Unix time).
func serverWait(h http.Header, now time.Time) (time.Duration, bool) {
	if d, ok := backoff.RetryAfter(h.Get("Retry-After"), now); ok {
		return d, true
	}
	if v := h.Get("RateLimit-Reset"); v != "" {
		if s, err := strconv.ParseInt(v, 10, 64); err == nil && s > 0 {
			return max(time.Unix(s, 0).Sub(now), 0), true
		}
	}
	return 0, false
}

// isConnError reports a failure to reach the server at all.
func isConnError(err error) bool {
	var ne net.Error
	var ue *url.Error
	return errors.As(err, &ne) || errors.As(err, &ue)
}
