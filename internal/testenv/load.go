package testenv

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"slices"
	"sort"
	"sync"
	"time"
)

// Load is a bounded load generator for a URL, typically a Service's
// ClusterIP (see ClusterURL): Rate requests per second in all, spread over
// Conns workers with one connection each. Even workers keep their
// connection alive and redial it once it is older than ConnMaxAge, as
// clients and proxies do; odd workers dial a new connection per request.
// It stops by itself after Duration or MaxRequests, whichever comes first.
type Load struct {
	URL         string
	Rate        int           // requests per second, all workers together; 0 means 300
	Conns       int           // workers (connections); 0 means 8
	Duration    time.Duration // 0 means 5s
	MaxRequests int           // 0 means Rate × Duration
	ConnMaxAge  time.Duration // keep-alive connections are redialled after this; 0 means 1s
	Timeout     time.Duration // per request; 0 means 2s
}

// Response is one request's outcome.
type Response struct {
	Start   time.Time
	Latency time.Duration
	Status  int    // 0 when the request failed
	Err     string // the transport error, if any
	Color   string // the pod's bluegreen.dev/color
	Hash    string // an Argo Rollouts pod's ReplicaSet hash
	Pod     string
	Worker  int
	Dialed  time.Time // when its connection was dialled
	Reused  bool      // sent over a kept-alive connection
}

// Failed reports whether the request did not get a 200.
func (r Response) Failed() bool { return r.Err != "" || r.Status != http.StatusOK }

// LoadRun is a load in progress.
type LoadRun struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	out    []Response
}

// Start starts the load; Wait returns its responses.
func (l Load) Start(ctx context.Context) *LoadRun {
	l = l.defaults()
	ctx, cancel := context.WithTimeout(ctx, l.Duration)
	run := &LoadRun{cancel: cancel}
	perWorker := (l.MaxRequests + l.Conns - 1) / l.Conns
	interval := time.Duration(float64(time.Second) * float64(l.Conns) / float64(l.Rate))
	start := time.Now()
	for i := 0; i < l.Conns; i++ {
		run.wg.Add(1)
		// Spread the workers' ticks over one interval.
		first := start.Add(interval * time.Duration(i) / time.Duration(l.Conns))
		go func() {
			defer run.wg.Done()
			run.worker(ctx, l, i, first, interval, perWorker)
		}()
	}
	return run
}

func (l Load) defaults() Load {
	if l.Rate <= 0 {
		l.Rate = 300
	}
	if l.Conns <= 0 {
		l.Conns = 8
	}
	if l.Duration <= 0 {
		l.Duration = 5 * time.Second
	}
	if l.MaxRequests <= 0 {
		l.MaxRequests = int(float64(l.Rate) * l.Duration.Seconds())
	}
	if l.ConnMaxAge <= 0 {
		l.ConnMaxAge = time.Second
	}
	if l.Timeout <= 0 {
		l.Timeout = 2 * time.Second
	}
	return l
}

// dialedConn remembers when it was dialled.
type dialedConn struct {
	net.Conn
	at time.Time
}

func (r *LoadRun) worker(ctx context.Context, l Load, id int, next time.Time, interval time.Duration, max int) {
	dialer := &net.Dialer{Timeout: l.Timeout}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dialer.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return &dialedConn{Conn: c, at: time.Now()}, nil
		},
		DisableKeepAlives:   id%2 == 1,
		MaxIdleConnsPerHost: 1,
		MaxConnsPerHost:     1,
		Proxy:               nil,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: l.Timeout}
	var connAt time.Time
	for n := 0; n < max; n++ {
		if wait := time.Until(next); wait > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
		} else if ctx.Err() != nil {
			return
		}
		next = next.Add(interval)
		if !connAt.IsZero() && time.Since(connAt) > l.ConnMaxAge {
			tr.CloseIdleConnections()
		}
		resp := r.do(client, l.URL, id)
		connAt = resp.Dialed
		r.mu.Lock()
		r.out = append(r.out, resp)
		r.mu.Unlock()
	}
}

// do sends one GET; it is not bound to the load's context, so a request in
// flight when the load ends is finished and recorded.
func (r *LoadRun) do(client *http.Client, url string, id int) Response {
	resp := Response{Worker: id}
	trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) {
		resp.Reused = info.Reused
		if c, ok := info.Conn.(*dialedConn); ok {
			resp.Dialed = c.at
		}
	}}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), http.MethodGet, url, nil)
	if err != nil {
		resp.Err = err.Error()
		return resp
	}
	resp.Start = time.Now()
	res, err := client.Do(req)
	if err == nil {
		_, err = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		resp.Status = res.StatusCode
		resp.Color, resp.Hash, resp.Pod = res.Header.Get(HeaderColor), res.Header.Get(HeaderHash), res.Header.Get(HeaderPod)
	}
	resp.Latency = time.Since(resp.Start)
	if err != nil {
		resp.Err, resp.Status = err.Error(), 0
	}
	return resp
}

// Stop ends the load early; Wait still returns what was sent.
func (r *LoadRun) Stop() { r.cancel() }

// Wait waits for the load to end and returns every response, by start time.
func (r *LoadRun) Wait() Responses {
	r.wg.Wait()
	r.cancel()
	r.mu.Lock()
	defer r.mu.Unlock()
	out := slices.Clone(r.out)
	sort.Slice(out, func(i, j int) bool { return out[i].Start.Before(out[j].Start) })
	return out
}

// Responses is a load's outcome, by start time.
type Responses []Response

// Failed returns the requests that did not get a 200.
func (rs Responses) Failed() Responses {
	var out Responses
	for _, r := range rs {
		if r.Failed() {
			out = append(out, r)
		}
	}
	return out
}

// Between returns the requests started in [from, to).
func (rs Responses) Between(from, to time.Time) Responses {
	var out Responses
	for _, r := range rs {
		if !r.Start.Before(from) && r.Start.Before(to) {
			out = append(out, r)
		}
	}
	return out
}

// DialedAfter returns the requests sent over connections dialled after t.
func (rs Responses) DialedAfter(t time.Time) Responses {
	var out Responses
	for _, r := range rs {
		if r.Dialed.After(t) {
			out = append(out, r)
		}
	}
	return out
}

// Side names which version of an app answered a request: ByColor for a
// bluegreen app's colours, ByHash for an Argo Rollouts app's ReplicaSets,
// ByPod for single pods.
type Side func(Response) string

// The sides of a response.
var (
	ByColor Side = func(r Response) string { return r.Color }
	ByHash  Side = func(r Response) string { return r.Hash }
	ByPod   Side = func(r Response) string { return r.Pod }
)

// Count counts the answers per side.
func (rs Responses) Count(side Side) map[string]int {
	out := map[string]int{}
	for _, r := range rs {
		if !r.Failed() {
			out[side(r)]++
		}
	}
	return out
}

// Colors counts the answers per colour.
func (rs Responses) Colors() map[string]int { return rs.Count(ByColor) }

// Pods counts the answers per pod.
func (rs Responses) Pods() map[string]int { return rs.Count(ByPod) }

// Conns counts the distinct connections the requests used.
func (rs Responses) Conns() int {
	type key struct {
		w int
		t time.Time
	}
	seen := map[key]bool{}
	for _, r := range rs {
		seen[key{r.Worker, r.Dialed}] = true
	}
	return len(seen)
}

// Last returns the start of the last request answered by color, or the
// zero time.
func (rs Responses) Last(color string) time.Time { return rs.LastOf(ByColor, color) }

// LastOf returns the start of the last request answered by side v, or the
// zero time.
func (rs Responses) LastOf(side Side, v string) time.Time {
	for i := len(rs) - 1; i >= 0; i-- {
		if !rs[i].Failed() && side(rs[i]) == v {
			return rs[i].Start
		}
	}
	return time.Time{}
}

// Percentile returns the latency at quantile q (0.99 for p99), 0 when empty.
func (rs Responses) Percentile(q float64) time.Duration {
	if len(rs) == 0 {
		return 0
	}
	l := make([]time.Duration, len(rs))
	for i, r := range rs {
		l[i] = r.Latency
	}
	slices.Sort(l)
	i := int(q*float64(len(l))+0.5) - 1
	return l[max(0, min(i, len(l)-1))]
}
