// Package gitops writes to the GitOps repository through the GitLab API:
// one atomic commit that makes a set of folders (or files) hold exactly the
// given content, no commit when the branch already holds it, and a retry on
// a fresh read when someone else pushed in between. It never forces.
package gitops

import (
	"context"
	"errors"
	"sort"
	"sync"
	"time"

	"gitlab.com/platform/bluegreen/internal/backoff"

	"gitlab.com/platform/bluegreen/internal/gitlab"
	"gitlab.com/platform/bluegreen/internal/outcome"
)

// Repo is the GitOps repository, through the GitLab API.
type Repo interface {
	BranchHead(ctx context.Context, project, branch string) (string, error)
	Tree(ctx context.Context, project, ref, dir string) ([]gitlab.TreeFile, error)
	CreateCommit(ctx context.Context, project, branch, message string, actions []gitlab.FileAction) (gitlab.Commit, error)
	// File and LastCommit read what a change removed (see Removed).
	File(ctx context.Context, project, ref, path string) ([]byte, error)
	LastCommit(ctx context.Context, project, ref, path string) (gitlab.Commit, bool, error)
}

// File is a file's wanted content, by its path in the repository.
type File struct {
	Path string
	Data []byte
}

// Change is a commit to make: Files must hold their Data; every other file
// below one of Owned is deleted. Files outside Owned are written but
// nothing else there is touched.
type Change struct {
	Project, Branch string
	Message         string
	Owned           []string // folders the change owns entirely
	Files           []File
	// Pause waits between tries; nil means 1 s, 2 s, 4 s.
	Pause func(ctx context.Context, try int) error
}

// Result is what a Change did.
type Result struct {
	Revision string              // the new commit, or the head that was checked to hold the content
	Actions  []gitlab.FileAction // every commit's, in order; empty when no commit was needed
	Base     string              // the head the first new commit was made on; "" without one
}

// Committed reports whether a commit was made.
func (r Result) Committed() bool { return len(r.Actions) > 0 }

// maxTries bounds the commits: retries on a stale base or a server error,
// and the follow-up commits when someone else's push landed under one.
const maxTries = 4

// Apply makes the change in one commit on the branch. When the branch
// already holds the content, it makes no commit and returns the head.
//
// Someone else may push between the read and the commit. GitLab refuses
// the commit when a file to create exists, one to change or delete is gone,
// or one to change or delete has a newer commit than the one read (each
// such action carries its last_commit_id); then Apply reads the new head
// and tries again. GitLab accepts a commit that touches none of the files
// the other push changed, and makes it on that push: a file the push added
// to an owned folder would survive. So when the new commit's parent is not
// the head that was read, Apply checks the new commit and commits again
// whatever it still lacks. A commit that failed with a 5xx or a broken
// connection may or may not have landed, so it is retried the same way: the
// re-read shows either the content (no new commit) or the old state.
func Apply(ctx context.Context, r Repo, c Change) (Result, error) {
	wait := c.Pause
	if wait == nil {
		wait = pause
	}
	var done Result
	for try := 1; ; try++ {
		head, err := r.BranchHead(ctx, c.Project, c.Branch)
		if err != nil {
			return Result{}, outcome.As(outcome.External, err)
		}
		actions, err := Actions(ctx, r, c.Project, head, c.Owned, c.Files)
		if err != nil {
			return Result{}, outcome.As(outcome.External, err)
		}
		if len(actions) == 0 {
			if !done.Committed() {
				return Result{Revision: head}, nil
			}
			done.Revision = head
			return done, nil
		}
		if try > maxTries {
			return Result{}, outcome.Externalf("gitops commit: the branch moved under each of %d commits", maxTries)
		}
		if err := pin(ctx, r, c.Project, head, actions); err != nil {
			return Result{}, outcome.As(outcome.External, err)
		}
		cm, err := r.CreateCommit(ctx, c.Project, c.Branch, c.Message, actions)
		if retryable(err) && try < maxTries {
			if err := wait(ctx, try); err != nil {
				return Result{}, outcome.Externalf("gitops commit: %w", err)
			}
			continue
		}
		if err != nil {
			return Result{}, outcome.As(outcome.External, err)
		}
		if done.Base == "" {
			done.Base = head
		}
		done.Revision = cm.SHA
		done.Actions = append(done.Actions, actions...)
		if len(cm.Parents) == 1 && cm.Parents[0] == head {
			return done, nil
		}
		// Made on someone else's push: check what the branch holds now.
	}
}

// pin gives each update and delete the newest commit that touched its file
// at ref, so that GitLab refuses the commit if the file changed since.
func pin(ctx context.Context, r Repo, project, ref string, actions []gitlab.FileAction) error {
	for i, a := range actions {
		if a.Action == "create" {
			continue
		}
		cm, ok, err := r.LastCommit(ctx, project, ref, a.Path)
		if err != nil {
			return err
		}
		if ok {
			actions[i].LastCommit = cm.SHA
		}
	}
	return nil
}

// Actions computes what makes the repository at ref hold files, deleting
// every other file below the owned folders.
func Actions(ctx context.Context, r Repo, project, ref string, owned []string, files []File) ([]gitlab.FileAction, error) {
	existing := map[string]string{}
	for _, d := range owned {
		tree, err := r.Tree(ctx, project, ref, d)
		if err != nil {
			return nil, err
		}
		for _, f := range tree {
			existing[f.Path] = f.Blob
		}
	}
	var actions []gitlab.FileAction
	want := map[string]bool{}
	for _, f := range files {
		want[f.Path] = true
		blob, known := existing[f.Path]
		if !known && !under(f.Path, owned) {
			// A file outside the owned folders: ask its folder.
			tree, err := r.Tree(ctx, project, ref, dirOf(f.Path))
			if err != nil {
				return nil, err
			}
			for _, t := range tree {
				if t.Path == f.Path {
					blob, known = t.Blob, true
				}
			}
		}
		switch {
		case !known:
			actions = append(actions, gitlab.FileAction{Action: "create", Path: f.Path, Content: f.Data})
		case blob != gitlab.BlobSHA(f.Data):
			actions = append(actions, gitlab.FileAction{Action: "update", Path: f.Path, Content: f.Data})
		}
	}
	var stale []string
	for p := range existing {
		if !want[p] {
			stale = append(stale, p)
		}
	}
	sort.Strings(stale)
	for _, p := range stale {
		actions = append(actions, gitlab.FileAction{Action: "delete", Path: p})
	}
	return actions, nil
}

// Same returns a check of whether a revision holds files in the owned
// folders, exactly, as Apply would leave them. It asks the repository once
// per revision; a failed read counts as "not the same".
func Same(ctx context.Context, r Repo, project string, owned []string, files []File) func(revision string) bool {
	var mu sync.Mutex
	seen := map[string]bool{}
	return func(rev string) bool {
		mu.Lock()
		defer mu.Unlock()
		if v, ok := seen[rev]; ok {
			return v
		}
		actions, err := Actions(ctx, r, project, rev, owned, files)
		seen[rev] = err == nil && len(actions) == 0
		return seen[rev]
	}
}

func under(path string, dirs []string) bool {
	for _, d := range dirs {
		if len(path) > len(d) && path[:len(d)] == d && path[len(d)] == '/' {
			return true
		}
	}
	return false
}

func dirOf(path string) string {
	for i := len(path) - 1; i >= 0; i-- {
		if path[i] == '/' {
			return path[:i]
		}
	}
	return ""
}

// retryable reports whether a failed commit should be re-read and retried:
// a stale base, a server error or a broken connection. Auth errors are not.
func retryable(err error) bool {
	var ge *gitlab.Error
	switch {
	case err == nil:
		return false
	case errors.Is(err, gitlab.ErrConflict):
		return true
	case errors.As(err, &ge):
		return ge.Status == 0 || ge.Status >= 500
	}
	return false
}

// pause waits 1 s, 2 s, 4 s ... between tries.
func pause(ctx context.Context, try int) error {
	return backoff.Sleep(ctx, backoff.Exponential(time.Second, 8*time.Second, try))
}
