package argocd

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"
)

// Reasons a Wait ends without success. Test them with errors.Is; the error
// is a *WaitError carrying the last Status.
var (
	// ErrDegraded: synced at the revision, but the application is Degraded.
	ErrDegraded = errors.New("application degraded")
	// ErrOperationFailed: the sync operation at the revision failed.
	ErrOperationFailed = errors.New("sync operation failed")
	// ErrTimeout: the context's deadline passed first. The error also
	// matches context.DeadlineExceeded.
	ErrTimeout = errors.New("timed out")
	// ErrNotPruned: synced at the revision, but the Application tracks
	// objects that are not in git and that the change did not remove (see
	// WaitError.Strays); they keep it OutOfSync for good, and bluegreen
	// never deletes what it did not remove.
	ErrNotPruned = errors.New("objects not in git that bluegreen did not remove")
)

// WaitError says why Wait gave up, with the application's last state.
type WaitError struct {
	App      string
	Revision string
	Status   Status
	Reason   error      // ErrDegraded, ErrOperationFailed, ErrNotPruned, ErrTimeout or context.Canceled
	Strays   []Resource // with ErrNotPruned: what requires pruning though the change did not remove it
	cause    error      // the context's error, for timeouts
}

func (e *WaitError) Error() string {
	if errors.Is(e.Reason, ErrNotPruned) {
		return e.notPruned()
	}
	msg := fmt.Sprintf("argocd wait %q at %s: %v (%s)", e.App, short(e.Revision), e.Reason, e.Status)
	if p := e.Status.Problems(); len(p) > 0 {
		msg += ": " + strings.Join(p, "; ")
	}
	if op := e.Status.Operation; errors.Is(e.Reason, ErrTimeout) && op != nil && op.Phase == PhaseSucceeded &&
		op.Revision == e.Revision && e.Status.Revision != "" && e.Status.Revision != e.Revision {
		msg += fmt.Sprintf("; the sync succeeded, but the application compares with %s: its targetRevision points past %s",
			short(e.Status.Revision), short(e.Revision))
	}
	return msg
}

// notPruned names every stray object and the ways out.
func (e *WaitError) notPruned() string {
	names := make([]string, len(e.Strays))
	flags := make([]string, len(e.Strays))
	for i, r := range e.Strays {
		names[i] = r.Ref().String()
		flags[i] = fmt.Sprintf("--resource '%s:%s:%s/%s'", r.Group, r.Kind, r.Namespace, r.Name)
	}
	return fmt.Sprintf("argocd wait %q at %s: Application %s tracks %s, which git does not hold and this change did not remove "+
		"(Argo CD: requires pruning), so it stays OutOfSync; bluegreen never deletes what it did not remove. "+
		"If it was added by hand, delete it from the cluster or add its manifest to git; if it is a leftover of an earlier change, "+
		"prune it with `argocd app sync %s --prune %s`; then re-run this job",
		e.App, short(e.Revision), e.App, strings.Join(names, ", "), e.App, strings.Join(flags, " "))
}

// Unwrap lets errors.Is match the reason and, for timeouts, the context's error.
func (e *WaitError) Unwrap() []error {
	if e.cause != nil {
		return []error{e.Reason, e.cause}
	}
	return []error{e.Reason}
}

// Wait follows app until it is Synced at revision and Healthy with no sync
// running, and returns that Status. revision is a full commit SHA, compared
// with the revision Argo CD compares the app with ("" accepts any), so it
// must be what the Application's targetRevision resolves to: a sync to an
// older commit leaves the app OutOfSync with HEAD. progress, if not nil, sees every change
// of state. It ends early with a *WaitError when the sync at revision fails
// (ErrOperationFailed) or the synced application is Degraded (ErrDegraded),
// and when ctx ends (ErrTimeout on a deadline). Transient API errors are
// retried; others end the wait at once.
func (c *Client) Wait(ctx context.Context, app, revision string, progress func(Status)) (Status, error) {
	return c.WaitFor(ctx, app, revision, nil, nil, progress)
}

// WaitFor is Wait that also accepts the application Synced at another
// revision when same says that revision is as good as the one synced: an
// Application that follows a branch compares with its newest commit, and in
// a GitOps repository shared by several apps that moves on while a sync
// waits. The sync operation itself must still be at revision. pruned are
// the objects the change removed and Sync pruned: any other object that
// requires pruning once the sync at revision has succeeded ends the wait
// with ErrNotPruned, since it would keep the app OutOfSync to the deadline.
func (c *Client) WaitFor(ctx context.Context, app, revision string, same func(revision string) bool, pruned []ResourceRef, progress func(Status)) (Status, error) {
	return c.waitUntil(ctx, app, revision, progress, func(st Status) (bool, error) {
		done, err := verdict(st, revision, same, pruned)
		if !errors.Is(err, ErrNotPruned) {
			return done, err
		}
		// Right after a sync the server's state can list objects the sync
		// has just created as requiring pruning (its comparison lags the
		// operation): a stray counts only when a fresh read a moment later
		// still shows it.
		select {
		case <-ctx.Done():
			return false, err
		case <-time.After(strayRecheck):
		}
		fresh, gerr := c.Get(ctx, app)
		if gerr != nil {
			return false, err
		}
		return verdict(fresh, revision, same, pruned)
	})
}

// strayRecheck is how long after a state that shows strays the wait reads
// the Application again before it believes them.
const strayRecheck = time.Second

// WaitOperation follows app until its sync operation at revision has ended,
// however the Application compares afterwards: the wait for a selective
// sync, which leaves resources it did not name as they are. It returns the
// last Status, with a *WaitError when the operation failed
// (ErrOperationFailed) or ctx ended first (ErrTimeout on a deadline).
func (c *Client) WaitOperation(ctx context.Context, app, revision string, progress func(Status)) (Status, error) {
	return c.waitUntil(ctx, app, revision, progress, func(st Status) (bool, error) {
		op := st.Operation
		if op == nil || op.Pending || op.Revision != revision || st.operating() {
			return false, nil
		}
		if op.Phase == PhaseFailed || op.Phase == PhaseError {
			return false, &WaitError{Status: st, Reason: ErrOperationFailed}
		}
		return op.Phase == PhaseSucceeded, nil
	})
}

// waitUntil follows app until decide is done, reporting every change of
// state to progress, and turns how it ended into a *WaitError.
func (c *Client) waitUntil(ctx context.Context, app, revision string, progress func(Status), decide func(Status) (bool, error)) (Status, error) {
	var last Status
	seen := false
	err := c.follow(ctx, app, func(st Status) (bool, error) {
		if progress != nil && (!seen || !reflect.DeepEqual(st, last)) {
			progress(st)
		}
		last, seen = st, true
		return decide(st)
	})
	if err == nil {
		return last, nil
	}
	var we *WaitError
	switch {
	case errors.As(err, &we):
		we.App, we.Revision = app, revision
		return last, we
	case ctx.Err() != nil:
		reason := ctx.Err()
		if errors.Is(reason, context.DeadlineExceeded) {
			reason = ErrTimeout
		}
		return last, &WaitError{App: app, Revision: revision, Status: last, Reason: reason, cause: ctx.Err()}
	default:
		return last, err
	}
}

// verdict decides from one Status whether waiting is over.
func verdict(st Status, revision string, same func(string) bool, pruned []ResourceRef) (bool, error) {
	atRevision := func(rev string) bool { return revision == "" || rev == revision }
	if op := st.Operation; op != nil && !op.Pending && atRevision(op.Revision) &&
		(op.Phase == PhaseFailed || op.Phase == PhaseError) {
		return false, &WaitError{Status: st, Reason: ErrOperationFailed}
	}
	compared := atRevision(st.Revision) || (same != nil && st.Revision != "" && same(st.Revision))
	if !compared || st.operating() {
		return false, nil
	}
	if st.Sync == OutOfSync {
		if op := st.Operation; op != nil && op.Phase == PhaseSucceeded && atRevision(op.Revision) {
			// Judge strays only once bluegreen's own prunes show: a state
			// read before the prune operation took effect (the server's
			// cache lags the sync request) still lists them.
			if strays := strays(st, pruned); len(strays) > 0 && !prunePending(st, pruned) {
				return false, &WaitError{Status: st, Reason: ErrNotPruned, Strays: strays}
			}
		}
		return false, nil
	}
	if st.Sync != Synced {
		return false, nil
	}
	switch st.Health {
	case Healthy:
		return true, nil
	case Suspended:
		// A blue-green Rollout waiting for its promotion is Suspended
		// (Argo CD maps its phase Paused so): that is what a sync of a
		// Rollout app leads to, with the new ReplicaSet behind the preview.
		return pausedRolloutsOnly(st), nil
	case Degraded:
		return false, &WaitError{Status: st, Reason: ErrDegraded}
	}
	return false, nil
}

// prunePending reports whether any of pruned still requires pruning.
func prunePending(st Status, pruned []ResourceRef) bool {
	for _, r := range st.Resources {
		if r.RequiresPruning && anyMatches(pruned, r) {
			return true
		}
	}
	return false
}

// strays are the resources that require pruning but are not among pruned.
func strays(st Status, pruned []ResourceRef) []Resource {
	var out []Resource
	for _, r := range st.Resources {
		if r.RequiresPruning && !anyMatches(pruned, r) {
			out = append(out, r)
		}
	}
	return out
}

// pausedRolloutsOnly reports whether every resource that is neither
// Healthy nor without health is an Argo Rollouts Rollout that is Suspended.
func pausedRolloutsOnly(st Status) bool {
	n := 0
	for _, r := range st.Resources {
		switch {
		case r.Health == "" || r.Health == Healthy:
		case r.Health == Suspended && r.Group == "argoproj.io" && r.Kind == "Rollout":
			n++
		default:
			return false
		}
	}
	return n > 0
}
