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
// caller tries again at its next opportunity.
type Retry struct {
	Attempts int           // tries per call, including the first; default 3
	Base     time.Duration // first backoff; default 1 s, doubling
	Max      time.Duration // longest single wait, Retry-After included; default 20 s
	// Sleep waits d or until ctx is done. Tests inject a recorder.
	Sleep func(ctx context.Context, d time.Duration) error
	// Jitter picks the backoff in [d/2, d]; tests inject a fixed one.
	Jitter func(d time.Duration) time.Duration
}

const (
	defaultAttempts = 3
	defaultBase     = time.Second
	defaultMax      = 20 * time.Second
)

func (r Retry) withDefaults() Retry {
	if r.Attempts <= 0 {
		r.Attempts = defaultAttempts
	}
	if r.Base <= 0 {
		r.Base = defaultBase
	}
	if r.Max <= 0 {
		r.Max = defaultMax
	}
	if r.Sleep == nil {
		r.Sleep = backoff.Sleep
	}
	if r.Jitter == nil {
		r.Jitter = backoff.HalfJitter
	}
	return r
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
			wait = r.Jitter(backoff.Exponential(r.Base, r.Max, attempt))
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
