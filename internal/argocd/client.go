// Package argocd is bluegreen's adapter over Argo CD's API: sync an
// Application at a revision, read its state, and wait until it is Synced at
// that revision and Healthy.
//
// It is the only package that imports Argo CD (whose apiclient links some
// hundred megabytes of dependencies), and it exposes no Argo CD types, so
// that other packages depend on a small interface of their own (Sync, Get,
// Wait) and test against argocdtest's fake server.
//
// Transient failures (Unavailable, ResourceExhausted, Aborted, a per-call
// deadline, a refused connection) are retried with capped, jittered
// exponential backoff, on a fresh connection; anything else, such as
// Unauthenticated, PermissionDenied or NotFound, is returned at once.
package argocd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/argoproj/argo-cd/v3/pkg/apiclient"
	"github.com/argoproj/argo-cd/v3/pkg/apiclient/application"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"k8s.io/apimachinery/pkg/util/wait"
)

// Options says how to reach Argo CD.
type Options struct {
	Addr      string // host:port of argocd-server
	Token     string // a session or account API token; required
	PlainText bool   // no TLS (argocd-server --insecure)
	Insecure  bool   // TLS without verifying the server's certificate
	GRPCWeb   bool   // gRPC-Web over HTTP/1.1, for proxies that don't pass HTTP/2

	// PollInterval is how often Wait reads the Application; 0 means 1s.
	PollInterval time.Duration
	// CallTimeout bounds one API call; 0 means 30s.
	CallTimeout time.Duration
	// Retry is the backoff for transient failures; zero means 500ms doubling
	// with 20% jitter, capped at 10s, 6 tries.
	Retry wait.Backoff
	// Busy, if not nil, hears each state of an operation at another
	// revision that Sync waits for before it can start its own.
	Busy func(app string, st Status)
}

// DefaultRetry is the backoff used when Options.Retry is zero.
var DefaultRetry = wait.Backoff{Duration: 500 * time.Millisecond, Factor: 2, Jitter: 0.2, Steps: 6, Cap: 10 * time.Second}

// Client talks to one Argo CD server. It is safe for concurrent use.
type Client struct {
	api   apiclient.Client
	opts  Options
	mu    sync.Mutex
	conn  io.Closer
	apps  application.ApplicationServiceClient
	retry wait.Backoff
	// noWatch is set once the server answered that it serves no watch
	// stream: waits then read the app every PollInterval.
	noWatch atomic.Bool
}

// New returns a client for opts. The apiclient asks the server's version
// once (and falls back to gRPC-Web if plain gRPC fails); the Application
// connection is made on first use.
func New(ctx context.Context, opts Options) (*Client, error) {
	if opts.Addr == "" {
		return nil, errors.New("argocd: no server address")
	}
	if opts.Token == "" {
		return nil, errors.New("argocd: no token")
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = time.Second
	}
	if opts.CallTimeout <= 0 {
		opts.CallTimeout = 30 * time.Second
	}
	retry := opts.Retry
	if retry.Steps == 0 {
		retry = DefaultRetry
	}
	api, err := apiclient.NewClientWithContext(ctx, &apiclient.ClientOptions{
		ServerAddr: opts.Addr,
		AuthToken:  opts.Token,
		PlainText:  opts.PlainText,
		Insecure:   opts.Insecure,
		GRPCWeb:    opts.GRPCWeb,
		UserAgent:  "bluegreen",
		// No ConfigPath: never read a local argocd CLI config.
	})
	if err != nil {
		return nil, fmt.Errorf("argocd %s: %w", opts.Addr, err)
	}
	return &Client{api: api, opts: opts, retry: retry}, nil
}

// Close closes the connection.
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.resetLocked()
}

// Sync starts a sync of app at revision. When an operation at that revision
// is already pending or running (a retried call whose first try went
// through, or a job re-run after its first run was killed), it returns nil:
// that operation is the one to wait for. When an operation at another
// revision is running, Sync waits until it ends (reporting to
// Options.Busy) and then starts its own, so a sync never fails because
// someone else's was in flight; ctx bounds that wait.
//
// The sync never prunes: see SyncRemoved.
func (c *Client) Sync(ctx context.Context, app, revision string) error {
	_, err := c.SyncRemoved(ctx, app, revision, nil)
	return err
}

// SyncRemoved is Sync for a change that removed objects from git: once the
// sync at revision has succeeded, those of removed that the Application
// still tracks are deleted by a second, selective sync with prune, and
// nothing else is, so an object someone else added to the Application is
// never deleted. (A whole sync with prune would delete it; a selective sync
// of everything would skip the app's sync hooks and its history.) It
// returns the resources it asked Argo CD to prune.
func (c *Client) SyncRemoved(ctx context.Context, app, revision string, removed []ResourceRef) ([]ResourceRef, error) {
	prune := removed
	req := &application.ApplicationSyncRequest{Name: &app, Revision: &revision, Prune: ptr(false)}
	if err := c.sync(ctx, app, revision, req); err != nil {
		return nil, fmt.Errorf("argocd sync %q at %s: %w", app, revision, err)
	}
	if len(prune) == 0 {
		return nil, nil
	}
	st, err := c.waitEnded(ctx, app, revision)
	if err != nil {
		return nil, fmt.Errorf("argocd sync %q at %s: %w", app, revision, err)
	}
	if op := st.Operation; op == nil || op.Revision != revision || op.Phase != PhaseSucceeded {
		return nil, nil // Wait reports how it ended
	}
	var targets []ResourceRef
	for _, r := range st.Resources {
		if anyMatches(prune, r) {
			targets = append(targets, r.Ref())
		}
	}
	if len(targets) == 0 {
		return nil, nil // pruned already: a re-run
	}
	return targets, c.SyncOnly(ctx, app, revision, targets, true)
}

// waitEnded follows app until its operation at revision has ended, and
// returns that state.
func (c *Client) waitEnded(ctx context.Context, app, revision string) (Status, error) {
	var last Status
	err := c.follow(ctx, app, func(st Status) (bool, error) {
		last = st
		op := st.Operation
		return op != nil && op.Revision == revision && !st.operating(), nil
	})
	return last, err
}

// sync sends req, and handles Argo CD's refusal to start an operation while
// another one is in flight (FailedPrecondition): see Sync.
func (c *Client) sync(ctx context.Context, app, revision string, req *application.ApplicationSyncRequest) error {
	idle := 0 // refusals after which no operation was found in flight
	for {
		err := c.call(ctx, func(ctx context.Context, apps application.ApplicationServiceClient) error {
			_, err := apps.Sync(ctx, req)
			return err
		})
		if status.Code(err) != codes.FailedPrecondition {
			return err
		}
		st, gerr := c.Get(ctx, app)
		if gerr != nil {
			return err
		}
		if !st.operating() {
			// The operation ended between the refusal and the read, or
			// the refusal had another cause: try again, a few times.
			if idle++; idle > 3 {
				return err
			}
			continue
		}
		if st.Operation.Revision == revision {
			return nil
		}
		if werr := c.waitIdle(ctx, app, st); werr != nil {
			return fmt.Errorf("%w; waited for it: %w", err, werr)
		}
	}
}

// waitIdle follows app until no operation is pending or running,
// reporting each change of state to Options.Busy.
func (c *Client) waitIdle(ctx context.Context, app string, st Status) error {
	last := st
	if c.opts.Busy != nil {
		c.opts.Busy(app, st)
	}
	return c.follow(ctx, app, func(st Status) (bool, error) {
		if c.opts.Busy != nil && st.operating() && !reflect.DeepEqual(st, last) {
			c.opts.Busy(app, st)
		}
		last = st
		return !st.operating(), nil
	})
}

// Get returns app's current state. Per-resource health comes from the
// resource tree when the controller keeps it there (Argo CD 3's default).
func (c *Client) Get(ctx context.Context, app string) (Status, error) {
	var st Status
	err := c.call(ctx, func(ctx context.Context, apps application.ApplicationServiceClient) error {
		a, err := apps.Get(ctx, &application.ApplicationQuery{Name: &app})
		if err != nil {
			return err
		}
		st = statusOf(a)
		if !needsTree(a) {
			return nil
		}
		tree, err := apps.ResourceTree(ctx, &application.ResourcesQuery{ApplicationName: &app})
		if err != nil {
			return err
		}
		addTreeHealth(&st, tree)
		return nil
	})
	if err != nil {
		return Status{}, fmt.Errorf("argocd get %q: %w", app, err)
	}
	return st, nil
}

// call runs fn with the Application client, retrying transient failures
// on a fresh connection.
func (c *Client) call(ctx context.Context, fn func(context.Context, application.ApplicationServiceClient) error) error {
	var last error
	err := wait.ExponentialBackoffWithContext(ctx, c.retry, func(ctx context.Context) (bool, error) {
		cctx, cancel := context.WithTimeout(ctx, c.opts.CallTimeout)
		defer cancel()
		apps, err := c.client(cctx)
		if err == nil {
			err = fn(cctx, apps)
		}
		if err == nil {
			return true, nil
		}
		if !transient(ctx, err) {
			return false, err
		}
		last = err
		c.reset()
		return false, nil
	})
	switch {
	case err == nil:
		return nil
	case last != nil && (wait.Interrupted(err) || ctx.Err() != nil):
		return fmt.Errorf("%w (gave up retrying: %w)", last, err)
	default:
		return err
	}
}

// transient reports whether a failed call is worth retrying: a network
// failure or a gRPC status that says "try again", but never once ctx ended.
func transient(ctx context.Context, err error) bool {
	if ctx.Err() != nil || errors.Is(err, context.Canceled) {
		return false
	}
	s, ok := status.FromError(err)
	if !ok {
		return true // dialing failed: connection refused, reset, TLS handshake
	}
	switch s.Code() {
	case codes.Unavailable, codes.ResourceExhausted, codes.Aborted, codes.DeadlineExceeded:
		return true
	}
	return false
}

func (c *Client) client(ctx context.Context) (application.ApplicationServiceClient, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.apps == nil {
		conn, apps, err := c.api.NewApplicationClientWithContext(ctx)
		if err != nil {
			if conn != nil {
				_ = conn.Close()
			}
			return nil, err
		}
		c.conn, c.apps = conn, apps
	}
	return c.apps, nil
}

// reset drops the connection: the apiclient's dialer hands gRPC one
// pre-dialed net.Conn, so a broken connection never recovers by itself.
func (c *Client) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	_ = c.resetLocked()
}

func (c *Client) resetLocked() error {
	var err error
	if c.conn != nil {
		err = c.conn.Close()
	}
	c.conn, c.apps = nil, nil
	return err
}
