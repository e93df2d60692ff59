package gitlab

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"

	gl "gitlab.com/gitlab-org/api/client-go"

	"gitlab.com/platform/bluegreen/internal/outcome"
)

// TreeFile is a file in a repository tree.
type TreeFile struct {
	Path string // from the repository root
	Blob string // the git blob SHA of its content
}

// BlobSHA is the git blob SHA of content, as a tree lists it: comparing it
// with TreeFile.Blob tells whether a file would change, without fetching it.
func BlobSHA(content []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(content))
	h.Write(content)
	return hex.EncodeToString(h.Sum(nil))
}

// BranchHead returns the SHA of branch's newest commit.
// GET /projects/:id/repository/branches/:branch
func (c *Client) BranchHead(ctx context.Context, project, branch string) (string, error) {
	what := fmt.Sprintf("branch %q of project %s", branch, project)
	b, err := call(ctx, c, what, true, func(opts ...gl.RequestOptionFunc) (*gl.Branch, *gl.Response, error) {
		return c.api.Branches.GetBranch(project, branch, opts...)
	})
	if err != nil {
		return "", err
	}
	if b.Commit == nil || b.Commit.ID == "" {
		return "", &Error{What: what, Err: errors.New("branch has no commit")}
	}
	return b.Commit.ID, nil
}

// Tree lists every file below dir at ref, recursively. A folder that does
// not exist gives an empty list.
// GET /projects/:id/repository/tree?path=&ref=&recursive=true
func (c *Client) Tree(ctx context.Context, project, ref, dir string) ([]TreeFile, error) {
	what := fmt.Sprintf("tree %q at %s of project %s", dir, short(ref), project)
	var files []TreeFile
	opt := &gl.ListTreeOptions{
		ListOptions: gl.ListOptions{PerPage: 100, Page: 1},
		Path:        gl.Ptr(dir), Ref: gl.Ptr(ref), Recursive: gl.Ptr(true),
	}
	for {
		var resp *gl.Response
		nodes, err := call(ctx, c, what, true, func(opts ...gl.RequestOptionFunc) ([]*gl.TreeNode, *gl.Response, error) {
			n, r, err := c.api.Repositories.ListTree(project, opt, opts...)
			resp = r
			return n, r, err
		})
		if errors.Is(err, ErrNotFound) {
			return nil, nil // GitLab answers 404 Tree Not Found for a missing folder
		}
		if err != nil {
			return nil, err
		}
		for _, n := range nodes {
			if n.Type == "blob" {
				files = append(files, TreeFile{Path: n.Path, Blob: n.ID})
			}
		}
		if resp == nil || resp.NextPage == 0 {
			return files, nil
		}
		opt.Page = resp.NextPage
	}
}

// FileAction is one change of a commit.
type FileAction struct {
	Action  string // create, update or delete
	Path    string
	Content []byte // for create and update
	// LastCommit is, for an update or a delete, the newest commit that
	// touched Path in the tree the action was computed from. It is sent as
	// the action's last_commit_id: GitLab then refuses the commit when the
	// file changed on the branch since (Files::MultiService compares it with
	// the branch's last commit for the path), instead of overwriting that
	// change unseen. "" sends none.
	LastCommit string
}

// Commit is a created commit.
type Commit struct {
	SHA     string
	Parents []string
	WebURL  string
}

// ErrConflict means the branch changed under the commit: a file to create
// exists, or a file to update or delete does not. Re-read and retry.
var ErrConflict = errors.New("the branch changed since it was read")

// CreateCommit makes one commit on branch with every action, atomically.
// It is never forced. A 400 from GitLab about files that exist, do not, or
// changed since their LastCommit is returned as ErrConflict; any other 400
// is a usage error (exit 2) with GitLab's message. GitLab makes the commit
// on the branch's head at the time, which may be newer than the one the
// actions were computed from: the returned Parents tell.
// POST /projects/:id/repository/commits
func (c *Client) CreateCommit(ctx context.Context, project, branch, message string, actions []FileAction) (Commit, error) {
	what := fmt.Sprintf("commit to %q of project %s", branch, project)
	opt := &gl.CreateCommitOptions{Branch: gl.Ptr(branch), CommitMessage: gl.Ptr(message)}
	for _, a := range actions {
		act := gl.FileActionValue(a.Action)
		o := &gl.CommitActionOptions{Action: &act, FilePath: gl.Ptr(a.Path)}
		if a.Action != "delete" {
			o.Content = gl.Ptr(string(a.Content))
			o.Encoding = gl.Ptr("text")
		}
		if a.LastCommit != "" && a.Action != "create" {
			o.LastCommitID = gl.Ptr(a.LastCommit)
		}
		opt.Actions = append(opt.Actions, o)
	}
	// Not idempotent: a 5xx may have committed, so the caller re-reads.
	cm, err := call(ctx, c, what, false, func(opts ...gl.RequestOptionFunc) (*gl.Commit, *gl.Response, error) {
		return c.api.Commits.CreateCommit(project, opt, opts...)
	})
	var ge *Error
	if errors.As(err, &ge) && ge.Status == http.StatusForbidden {
		// A protected branch refuses a role below its push rule; read_api
		// is not the cure, so the generic hint would mislead.
		return Commit{}, outcome.Usagef("gitlab %s: HTTP 403: %w: %s; BG_GITLAB_TOKEN needs the api scope and a role allowed to push to %q (Maintainer on a protected branch by default, or add the token's user to the branch's \"Allowed to push\" list)",
			what, ErrDenied, ge.Message, branch)
	}
	if errors.As(err, &ge) && ge.Status == http.StatusBadRequest {
		if isRace(ge.Err) {
			return Commit{}, fmt.Errorf("%s: %w: %v", what, ErrConflict, ge.Err)
		}
		// GitLab will refuse the same request again: not worth a retry.
		return Commit{}, outcome.Usagef("%w", ge)
	}
	if err != nil {
		return Commit{}, err
	}
	return Commit{SHA: cm.ID, Parents: cm.ParentIDs, WebURL: cm.WebURL}, nil
}

// raceMessages are GitLab's answers (Files::MultiService) when the branch
// moved under a commit; every other 400 from the Commits API is final. A
// stale last_commit_id reads "The file has changed since you started
// editing it: <path>"; GitLab before the per-action check said "You are
// attempting to update a file `<path>` that has changed since you started
// editing it.", so the shared words are matched.
var raceMessages = []string{
	"A file with this name already exists",
	"A file with this name doesn't exist",
	"has changed since you started editing it",
}

func isRace(err error) bool {
	for _, m := range raceMessages {
		if strings.Contains(err.Error(), m) {
			return true
		}
	}
	return false
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

// LastCommit returns the newest commit reachable from ref that touched path
// (a file or a folder), and false when none did.
// GET /projects/:id/repository/commits?ref_name=&path=&per_page=1
func (c *Client) LastCommit(ctx context.Context, project, ref, path string) (Commit, bool, error) {
	what := fmt.Sprintf("history of %q at %s of project %s", path, short(ref), project)
	opt := &gl.ListCommitsOptions{ListOptions: gl.ListOptions{PerPage: 1, Page: 1}, RefName: gl.Ptr(ref), Path: gl.Ptr(path)}
	cms, err := call(ctx, c, what, true, func(opts ...gl.RequestOptionFunc) ([]*gl.Commit, *gl.Response, error) {
		return c.api.Commits.ListCommits(project, opt, opts...)
	})
	if err != nil {
		return Commit{}, false, err
	}
	if len(cms) == 0 {
		return Commit{}, false, nil
	}
	return Commit{SHA: cms[0].ID, Parents: cms[0].ParentIDs, WebURL: cms[0].WebURL}, true, nil
}
