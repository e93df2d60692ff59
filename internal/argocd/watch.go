package argocd

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/argoproj/argo-cd/v3/pkg/apiclient/application"
	grpc_retry "github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/retry"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// decided carries decide's own error out of the stream loop, apart from
// the stream's errors.
type decided struct{ err error }

func (d decided) Error() string { return d.err.Error() }

// follow calls decide with app's state as it is and at every change, until
// decide says done or returns an error, or ctx ends. It follows the
// Application watch stream, which argocd-server opens with the app's current
// state and then sends each update as it happens (with resource health
// filled in from the tree). When the stream cannot be opened or breaks, it
// reads the app once, waits PollInterval and opens it again; a server that
// does not serve the stream at all is read every PollInterval instead.
func (c *Client) follow(ctx context.Context, app string, decide func(Status) (bool, error)) error {
	for {
		err := c.watchOnce(ctx, app, decide)
		var d decided
		switch {
		case err == nil:
			return nil
		case errors.As(err, &d):
			return d.err
		case ctx.Err() != nil:
			return ctx.Err()
		}
		// The stream failed: read the app, so that no change is missed
		// while it is down, then open it again after a pause.
		if status.Code(err) == codes.Unimplemented {
			c.noWatch.Store(true)
		} else if transient(ctx, err) {
			c.reset()
		}
		st, gerr := c.Get(ctx, app)
		if gerr != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return gerr
		}
		if done, derr := decide(st); derr != nil || done {
			return derr
		}
		t := time.NewTimer(c.opts.PollInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// watchOnce follows one watch stream until decide is done (nil), decide
// fails (a decided error) or the stream ends (its error).
func (c *Client) watchOnce(ctx context.Context, app string, decide func(Status) (bool, error)) error {
	if c.noWatch.Load() {
		return status.Error(codes.Unimplemented, "watch not served")
	}
	apps, err := c.client(ctx)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// The apiclient would reopen a broken stream itself, a second later
	// each time; follow reads the app at once instead, then reopens it.
	stream, err := apps.Watch(ctx, &application.ApplicationQuery{Name: &app}, grpc_retry.Disable())
	if err != nil {
		return err
	}
	for {
		ev, err := stream.Recv()
		if err == io.EOF {
			return status.Error(codes.Unavailable, "watch stream closed")
		}
		if err != nil {
			return err
		}
		if ev.Type == "DELETED" {
			return decided{status.Errorf(codes.NotFound, "application %q was deleted", app)}
		}
		done, err := decide(statusOf(&ev.Application))
		if err != nil {
			return decided{err}
		}
		if done {
			return nil
		}
	}
}
