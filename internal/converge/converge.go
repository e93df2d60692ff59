// Package converge is the one sequence by which bluegreen changes what runs
// through GitOps: one commit that makes the app's folders hold the wanted
// files, an Argo CD sync at exactly that commit that also prunes exactly the
// objects the commit removed (and nothing else), and a wait until the
// Application is Synced and Healthy there. sync, promote and rollback all
// take it; each line it prints names the action, the object and the time.
package converge

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"gitlab.com/platform/bluegreen/internal/gitops"
	"gitlab.com/platform/bluegreen/internal/outcome"
)

// ArgoCD syncs an Application and waits for it. Errors carry outcome kinds.
type ArgoCD interface {
	// Sync syncs app at revision, then prunes those of removed that the
	// Application still tracks, and returns them.
	Sync(ctx context.Context, app, revision string, removed []gitops.Object) ([]gitops.Object, error)
	// Wait waits until app is Synced and Healthy at revision, or at a later
	// revision that same says holds the same content. An object that
	// requires pruning and is not among removed ends it with an error.
	Wait(ctx context.Context, app, revision string, same func(revision string) bool, removed []gitops.Object, progress func(state string)) error
}

// Selective syncs a few resources of an Application. Errors carry outcome
// kinds.
type Selective interface {
	// SyncOnly syncs only the named resources of app at revision, pruning
	// those of them that left git, and nothing else.
	SyncOnly(ctx context.Context, app, revision string, only []gitops.Object) error
	// WaitOperation waits until app's sync at revision has ended.
	WaitOperation(ctx context.Context, app, revision string, progress func(state string)) error
}

// Step commits and syncs for one mode.
type Step struct {
	Repo    gitops.Repo
	ArgoCD  ArgoCD
	App     string        // the Argo CD Application
	Timeout time.Duration // for the sync and the wait; 0: ctx's own deadline
	// Committed, if not nil, hears the revision before the sync, e.g. to
	// save it so that a killed job's re-run finds it.
	Committed func(revision string) error

	Out   io.Writer
	Log   *slog.Logger
	Clock func() time.Time
}

// Run makes the change in one commit (none when the branch already holds
// it), syncs the Application at the resulting revision, pruning what the
// change removed, and waits until it is Synced and Healthy there. It
// returns the revision.
func (s Step) Run(ctx context.Context, c gitops.Change) (string, error) {
	return s.converge(ctx, c, func(ctx context.Context, rev string, removed []gitops.Object) error {
		t := s.Clock()
		pruned, err := s.ArgoCD.Sync(ctx, s.App, rev, removed)
		if err != nil {
			return fmt.Errorf("argocd sync %q at %s: %w", s.App, short(rev), err)
		}
		fmt.Fprintf(s.Out, "argocd %s: sync to %s requested\n", s.App, short(rev))
		if len(pruned) > 0 {
			fmt.Fprintf(s.Out, "argocd %s: pruning %d object(s) the change removed from git: %s [%s]\n",
				s.App, len(pruned), gitops.Describe(pruned), s.since(t))
		}
		same := gitops.Same(ctx, s.Repo, c.Project, c.Owned, c.Files)
		if err := s.ArgoCD.Wait(ctx, s.App, rev, same, removed, s.progress(t)); err != nil {
			return err
		}
		fmt.Fprintf(s.Out, "argocd %s: Synced at %s and Healthy [%s]\n", s.App, short(rev), s.since(t))
		return nil
	})
}

// RunOnly is Run for a repair that must leave everything else as it is
// (drift --fix): one commit, then a selective sync at its revision of just
// the objects only names and those the change removed (pruned), and a wait
// until that operation ends rather than until the whole Application is
// Synced, since other drift may keep it OutOfSync. It returns the revision.
func (s Step) RunOnly(ctx context.Context, argo Selective, c gitops.Change, only []gitops.Object) (string, error) {
	return s.converge(ctx, c, func(ctx context.Context, rev string, removed []gitops.Object) error {
		t := s.Clock()
		only := withRemoved(only, removed)
		if err := argo.SyncOnly(ctx, s.App, rev, only); err != nil {
			return fmt.Errorf("argocd sync %q at %s: %w", s.App, short(rev), err)
		}
		fmt.Fprintf(s.Out, "argocd %s: sync of %d object(s) to %s requested: %s\n", s.App, len(only), short(rev), gitops.Describe(only))
		if err := argo.WaitOperation(ctx, s.App, rev, s.progress(t)); err != nil {
			return err
		}
		fmt.Fprintf(s.Out, "argocd %s: synced %d object(s) at %s [%s]\n", s.App, len(only), short(rev), s.since(t))
		return nil
	})
}

// converge commits c, hands the revision to Committed, reads what the
// change removed, and runs sync within Timeout. Errors after the commit go
// through afterCommit.
func (s Step) converge(ctx context.Context, c gitops.Change, sync func(ctx context.Context, rev string, removed []gitops.Object) error) (string, error) {
	res, err := s.commit(ctx, c)
	if err != nil {
		return "", err
	}
	err = func() error {
		if s.Committed != nil {
			if err := s.Committed(res.Revision); err != nil {
				return err
			}
		}
		removed, err := gitops.Removed(ctx, s.Repo, c, res)
		if err != nil {
			return fmt.Errorf("gitops %s@%s: what the change removed: %w", c.Project, c.Branch, err)
		}
		ctx := ctx
		if s.Timeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, s.Timeout)
			defer cancel()
		}
		return sync(ctx, res.Revision, removed)
	}()
	if err != nil {
		return "", afterCommit(res, err)
	}
	return res.Revision, nil
}

// progress prints each state Argo CD reports, with the time since t.
func (s Step) progress(t time.Time) func(string) {
	return func(state string) {
		fmt.Fprintf(s.Out, "  argocd %s: %s [%s]\n", s.App, state, s.Clock().Sub(t).Round(100*time.Millisecond))
	}
}

// afterCommit keeps exit 2's promise, "nothing was changed": once the
// branch holds the change, a fault that would be a usage error (a token
// that may not sync, a plan that cannot be saved) is reported as an
// external one, naming the commit, so that the job is re-run once it is
// fixed and converges from there.
func afterCommit(res gitops.Result, err error) error {
	if err == nil || outcome.KindOf(err) != outcome.Usage || !res.Committed() {
		return err
	}
	return outcome.Externalf("after commit %s: %w", short(res.Revision), err)
}

// withRemoved adds to only the objects a change removed that it lacks.
func withRemoved(only, removed []gitops.Object) []gitops.Object {
	key := func(o gitops.Object) string { return o.Group + "/" + o.Kind + "/" + o.Name }
	have := map[string]bool{}
	for _, o := range only {
		have[key(o)] = true
	}
	for _, o := range removed {
		if !have[key(o)] {
			only = append(only, o)
		}
	}
	return only
}

func (s Step) commit(ctx context.Context, c gitops.Change) (gitops.Result, error) {
	t := s.Clock()
	res, err := gitops.Apply(ctx, s.Repo, c)
	if err != nil {
		return gitops.Result{}, fmt.Errorf("gitops commit to %s@%s: %w", c.Project, c.Branch, err)
	}
	if !res.Committed() {
		fmt.Fprintf(s.Out, "gitops %s@%s: %s already holds the change (no new commit) [%s]\n", c.Project, c.Branch, short(res.Revision), s.since(t))
		return res, nil
	}
	counts := map[string]int{}
	for _, a := range res.Actions {
		counts[a.Action]++
		fmt.Fprintf(s.Out, "  %-6s %s\n", a.Action, a.Path)
	}
	fmt.Fprintf(s.Out, "gitops %s@%s: committed %s (%d created, %d updated, %d deleted) [%s]\n",
		c.Project, c.Branch, short(res.Revision), counts["create"], counts["update"], counts["delete"], s.since(t))
	if s.Log != nil {
		s.Log.Info("gitops commit", "project", c.Project, "branch", c.Branch, "revision", res.Revision, "files", len(res.Actions))
	}
	return res, nil
}

func (s Step) since(t time.Time) time.Duration { return s.Clock().Sub(t).Round(time.Millisecond) }

func short(sha string) string {
	if len(sha) > 8 {
		return sha[:8]
	}
	return sha
}
