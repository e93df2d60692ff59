// Package backoff holds the pieces of a retry policy that every adapter
// shares: a context-aware sleep, capped exponential delays, jitter, and
// Retry-After. Each adapter keeps its own decision of what is worth a retry.
package backoff

import (
	"context"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Sleep waits d, or until ctx ends (then it returns ctx's error).
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Policy is the shape of the GitLab and Slack adapters' retry policies:
// how many tries, the exponential backoff between them, and the sleep and
// jitter tests replace. What is worth a retry stays each adapter's own.
type Policy struct {
	Attempts int           // tries per call, including the first
	Base     time.Duration // first backoff, doubling
	Max      time.Duration // longest single wait, a server's Retry-After included
	// Sleep waits d or until ctx is done. Tests inject a recorder.
	Sleep func(ctx context.Context, d time.Duration) error
	// Jitter picks the wait in [d/2, d]; tests inject a fixed one.
	Jitter func(d time.Duration) time.Duration
}

// Or fills p's unset fields: the numbers from def, Sleep and Jitter with
// the real ones.
func (p Policy) Or(def Policy) Policy {
	if p.Attempts <= 0 {
		p.Attempts = def.Attempts
	}
	if p.Base <= 0 {
		p.Base = def.Base
	}
	if p.Max <= 0 {
		p.Max = def.Max
	}
	if p.Sleep == nil {
		p.Sleep = Sleep
	}
	if p.Jitter == nil {
		p.Jitter = HalfJitter
	}
	return p
}

// Backoff is the jittered wait after the 1-based attempt.
func (p Policy) Backoff(attempt int) time.Duration {
	return p.Jitter(Exponential(p.Base, p.Max, attempt))
}

// Exponential is base·2^(attempt-1), for a 1-based attempt, capped at max.
func Exponential(base, max time.Duration, attempt int) time.Duration {
	d := base
	for i := 1; i < attempt && d < max; i++ {
		d *= 2
	}
	if d > max || d <= 0 {
		d = max
	}
	return d
}

// HalfJitter returns a random duration in [d/2, d] ("equal jitter"), so that
// many jobs failing together do not come back together.
func HalfJitter(d time.Duration) time.Duration {
	half := d / 2
	if half <= 0 {
		return d
	}
	return half + rand.N(half+1) // #nosec G404 -- jitter needs no crypto
}

// RetryAfter reads a Retry-After header value: seconds or an HTTP date.
func RetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}
