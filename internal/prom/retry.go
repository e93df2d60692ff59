package prom

import (
	"context"
	"math/rand/v2"
	"time"

	"gitlab.com/platform/bluegreen/internal/backoff"
)

// Retry is the policy for transient failures: connection errors, timeouts,
// 5xx, 429 and garbled bodies. Bad queries, bad credentials and empty
// answers are never retried.
type Retry struct {
	Attempts int           // tries in all, at least 1
	Base     time.Duration // the first backoff
	Cap      time.Duration // the longest backoff, and the most a Retry-After is honoured
	// Sleep waits d or until ctx ends; nil means a real timer. Tests pass
	// one that records and returns at once.
	Sleep func(ctx context.Context, d time.Duration) error
	// Jitter returns a number in [0, 1); nil means math/rand/v2.
	Jitter func() float64
}

// DefaultRetry tries four times over about two seconds, then gives up: a
// verification job is better off failing with exit 3 (retryable) than
// hanging on a dead Prometheus.
var DefaultRetry = Retry{Attempts: 4, Base: 250 * time.Millisecond, Cap: 5 * time.Second}

func (r Retry) withDefaults() Retry {
	if r.Attempts < 1 {
		r.Attempts = 1
	}
	if r.Base <= 0 {
		r.Base = DefaultRetry.Base
	}
	if r.Cap < r.Base {
		r.Cap = r.Base
	}
	if r.Sleep == nil {
		r.Sleep = backoff.Sleep
	}
	if r.Jitter == nil {
		r.Jitter = rand.Float64
	}
	return r
}

// backoff is the wait before retry n (0-based): exponential from Base,
// capped, with "equal jitter" (half fixed, half random), so that many jobs
// failing together do not come back together. A Retry-After the server sent
// wins, up to Cap.
func (r Retry) backoff(n int, after time.Duration) time.Duration {
	if after > 0 {
		return min(after, r.Cap)
	}
	d := backoff.Exponential(r.Base, r.Cap, n+1)
	return d/2 + time.Duration(r.Jitter()*float64(d/2))
}

// run calls fn until it succeeds, returns a permanent error, or the
// attempts run out. fn reports whether its error is worth another try.
func (r Retry) run(ctx context.Context, fn func(attempt int) (retry bool, err error)) error {
	var err error
	for attempt := 0; attempt < r.Attempts; attempt++ {
		var again bool
		again, err = fn(attempt)
		if err == nil || !again || attempt == r.Attempts-1 {
			return err
		}
		var after time.Duration
		if t, ok := err.(*transient); ok {
			after = t.after
		}
		if serr := r.Sleep(ctx, r.backoff(attempt, after)); serr != nil {
			return serr
		}
	}
	return err
}
