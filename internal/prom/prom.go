// Package prom is bluegreen's adapter over the Prometheus HTTP API
// (prometheus/client_golang api/v1). It owns what verification needs to
// trust an answer: sentinel errors that keep "no data" apart from "the
// request failed" (Flagger's lesson), warnings kept apart from data, NaN and
// ±Inf passed through as values for the caller to judge, retries of
// transient failures with capped, jittered backoff, and an optional bearer
// token that only the HTTP round tripper ever reveals.
package prom

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"gitlab.com/platform/bluegreen/internal/config"
	"gitlab.com/platform/bluegreen/internal/redact"
)

// The sentinel errors. Every error Query and QueryRange return wraps exactly
// one of them (or the caller's context error), so callers decide with
// errors.Is and never by reading messages.
var (
	// ErrNoData: Prometheus answered, and the answer was empty. It is a
	// fact about the data, never a failure of the request.
	ErrNoData = errors.New("no data")
	// ErrBadQuery: Prometheus refused the query (a syntax error, a type
	// error, or a failed execution such as a many-to-many match). Retrying
	// does not help; the query must change.
	ErrBadQuery = errors.New("bad query")
	// ErrUnauthorized: Prometheus (or a proxy in front of it) answered 401
	// or 403. The token is wrong or missing.
	ErrUnauthorized = errors.New("prometheus refused the credentials")
	// ErrUnavailable: Prometheus could not be reached or did not answer
	// usefully (connection refused, timeout, 5xx, 429, a garbled body), even
	// after the retries.
	ErrUnavailable = errors.New("prometheus unavailable")
)

// Point is one sample. V may be NaN or ±Inf: Prometheus returns NaN for 0/0
// (a ratio with no traffic) and +Inf for x/0; the caller decides what they
// mean.
type Point struct {
	T time.Time
	V float64
}

// Series is one labelled series of a result.
type Series struct {
	Labels string // the series' labels in PromQL form, e.g. {code="500"}; "{}" for an aggregate
	Points []Point
}

// Result is a query's answer: its series, and the warnings and infos
// Prometheus attached. Warnings never become data, and data never hides a
// warning.
type Result struct {
	Series   []Series
	Warnings []string
	Infos    []string
}

// Range is a range query's span and resolution.
type Range struct {
	Start, End time.Time
	Step       time.Duration
}

// Config says how to reach Prometheus.
type Config struct {
	URL     string        // base URL, e.g. https://prometheus.example.com or http://host:9090/prometheus
	Token   config.Secret // optional bearer token
	Timeout time.Duration // per attempt; 0 means 30s
	Retry   Retry         // zero value: DefaultRetry
	// Transport carries the requests; nil means a copy of
	// api.DefaultRoundTripper. Tests pass their own.
	Transport http.RoundTripper
}

// Client queries one Prometheus. It is safe for concurrent use.
type Client struct {
	api     v1.API
	timeout time.Duration
	retry   Retry
	base    string // URL without credentials, for messages
}

// New builds a client. It does not contact Prometheus.
func New(cfg Config) (*Client, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("prometheus URL %q: want http(s)://host[:port][/path]", redact.URL(cfg.URL))
	}
	rt := cfg.Transport
	if rt == nil {
		rt = api.DefaultRoundTripper
	}
	c, err := api.NewClient(api.Config{Address: cfg.URL, RoundTripper: &transport{next: rt, token: cfg.Token, host: u.Host}})
	if err != nil {
		return nil, fmt.Errorf("prometheus URL %q: %w", redact.URL(cfg.URL), err)
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	retry := cfg.Retry
	if retry.Attempts == 0 {
		retry = DefaultRetry
	}
	return &Client{api: v1.NewAPI(c), timeout: timeout, retry: retry.withDefaults(), base: redact.URL(cfg.URL)}, nil
}

// String names the Prometheus, without credentials.
func (c *Client) String() string { return c.base }

// Query evaluates q at t. An empty vector is ErrNoData (with the Result, so
// that its warnings are not lost).
func (c *Client) Query(ctx context.Context, q string, t time.Time) (Result, error) {
	return c.do(ctx, "query", func(ctx context.Context) (model.Value, v1.Warnings, v1.Infos, error) {
		return c.api.Query(ctx, q, t, v1.WithTimeout(c.timeout))
	})
}

// QueryRange evaluates q at every step from r.Start to r.End. An empty
// matrix is ErrNoData; single missing steps are simply absent from the
// points.
func (c *Client) QueryRange(ctx context.Context, q string, r Range) (Result, error) {
	return c.do(ctx, "range query", func(ctx context.Context) (model.Value, v1.Warnings, v1.Infos, error) {
		return c.api.QueryRange(ctx, q, v1.Range{Start: r.Start, End: r.End, Step: r.Step}, v1.WithTimeout(c.timeout))
	})
}

type call func(ctx context.Context) (model.Value, v1.Warnings, v1.Infos, error)

func (c *Client) do(ctx context.Context, what string, fn call) (Result, error) {
	var (
		val model.Value
		res Result
	)
	err := c.retry.run(ctx, func(attempt int) (bool, error) {
		actx, cancel := context.WithTimeout(ctx, c.timeout+5*time.Second)
		defer cancel()
		rec := &exchange{}
		var last error
		v, warnings, infos, err := fn(withExchange(actx, rec))
		res.Warnings, res.Infos = warnings, infos
		if err == nil {
			val = v
			return false, nil
		}
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		last = classify(err, rec)
		var t *transient
		return errors.As(last, &t), last
	})
	var t *transient
	if errors.As(err, &t) {
		return res, fmt.Errorf("%w: %s at %s: %w", ErrUnavailable, what, c.base, t.err)
	}
	if err != nil {
		return res, err
	}
	return convert(val, res)
}

// convert turns the client library's value into a Result.
func convert(v model.Value, res Result) (Result, error) {
	switch v := v.(type) {
	case model.Vector:
		for _, s := range v {
			res.Series = append(res.Series, Series{Labels: s.Metric.String(), Points: []Point{{T: s.Timestamp.Time(), V: float64(s.Value)}}})
		}
	case model.Matrix:
		for _, s := range v {
			ser := Series{Labels: s.Metric.String()}
			for _, p := range s.Values {
				ser.Points = append(ser.Points, Point{T: p.Timestamp.Time(), V: float64(p.Value)})
			}
			if len(ser.Points) > 0 {
				res.Series = append(res.Series, ser)
			}
		}
	case *model.Scalar:
		res.Series = []Series{{Labels: "{}", Points: []Point{{T: v.Timestamp.Time(), V: float64(v.Value)}}}}
	case nil:
	default:
		return res, fmt.Errorf("%w: the query returns a %s, want a number or a vector", ErrBadQuery, v.Type())
	}
	if len(res.Series) == 0 {
		return res, ErrNoData
	}
	return res, nil
}

// transient marks an attempt's error as worth retrying.
type transient struct {
	err   error
	after time.Duration // the server's Retry-After, if any
}

func (t *transient) Error() string { return t.err.Error() }
func (t *transient) Unwrap() error { return t.err }

// classify maps an attempt's error to a sentinel. Transient errors are a
// *transient, turned into ErrUnavailable once the retries run out.
func classify(err error, rec *exchange) error {
	var apiErr *v1.Error
	if errors.As(err, &apiErr) {
		switch apiErr.Type {
		case v1.ErrBadData, v1.ErrExec:
			return fmt.Errorf("%w: %s", ErrBadQuery, apiErr.Msg)
		case v1.ErrTimeout, v1.ErrCanceled, v1.ErrServer:
			return &transient{err: describe(apiErr, rec), after: rec.after}
		case v1.ErrClient:
			switch rec.status {
			case http.StatusUnauthorized, http.StatusForbidden:
				return fmt.Errorf("%w (HTTP %d): check BG_PROMETHEUS_TOKEN", ErrUnauthorized, rec.status)
			case http.StatusTooManyRequests, http.StatusRequestTimeout:
				return &transient{err: describe(apiErr, rec), after: rec.after}
			}
			return fmt.Errorf("%w: %w", ErrUnavailable, describe(apiErr, rec))
		}
		// The library cannot decode a string result (a query that is just a
		// string literal); that is the query's fault, not the server's.
		if strings.Contains(apiErr.Msg, `unexpected value type "string"`) {
			return fmt.Errorf("%w: the query returns a string, want a number or a vector", ErrBadQuery)
		}
		// bad_response: a body that is not the API's JSON, often a proxy's
		// error page. Worth another try.
		return &transient{err: describe(apiErr, rec), after: rec.after}
	}
	// Anything else is the transport: connection refused, reset, DNS,
	// a per-attempt timeout.
	return &transient{err: stripURL(err)}
}

func describe(e *v1.Error, rec *exchange) error {
	msg := strings.TrimSpace(e.Msg)
	if rec.status != 0 && !strings.Contains(msg, fmt.Sprint(rec.status)) {
		msg = fmt.Sprintf("HTTP %d: %s", rec.status, msg)
	}
	return errors.New(msg)
}

// stripURL drops the request URL from a transport error: the URL is already
// in the message once, and it might carry credentials.
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
