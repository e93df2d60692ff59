package slack

import (
	"context"
	"time"

	"gitlab.com/platform/bluegreen/internal/backoff"
)

// Retry is the retry policy for Slack calls: exponential backoff with
// jitter for server errors and broken connections, and exactly the wait
// Slack asks for on 429 (Retry-After). A wait longer than Max, or than the
// context has left, is not taken: the error goes back at once, and the
// caller tries again at its next opportunity. Unset fields default to 3
// attempts, a 1 s first backoff and 20 s at most.
type Retry backoff.Policy

func (r Retry) withDefaults() Retry {
	return Retry(backoff.Policy(r).Or(backoff.Policy{Attempts: 3, Base: time.Second, Max: 20 * time.Second}))
}

// do runs fn until it succeeds, fails for good, or runs out of attempts.
// secret is scrubbed from the error (the webhook URL).
func (r Retry) do(ctx context.Context, method, secret string, fn func() error) error {
	var last *Error
	for attempt := 1; ; attempt++ {
		err := fn()
		if err == nil {
			return nil
		}
		last = classify(method, err, secret)
		last.Attempts = attempt
		if !last.Transient || attempt >= r.Attempts || ctx.Err() != nil {
			return last
		}
		wait := last.RetryAfter
		if wait == 0 {
			wait = backoff.Policy(r).Backoff(attempt)
		}
		if wait > r.Max || !fits(ctx, wait) {
			return last
		}
		if err := r.Sleep(ctx, wait); err != nil {
			return last
		}
	}
}

// fits reports whether ctx has d left, with room for one more request.
func fits(ctx context.Context, d time.Duration) bool {
	dl, ok := ctx.Deadline()
	return !ok || time.Until(dl) > d
}
