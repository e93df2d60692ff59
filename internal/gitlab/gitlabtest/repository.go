package gitlabtest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

// Repo fakes a project's repository API over a real git work tree: the
// Branches, Tree, Commits and raw Files endpoints read and write that
// repository with the git CLI, so that what a test commits through the API
// can be served to a real Argo CD. Listing commits and reading raw files
// are spare routes: a test that never needs them does not fail.
type Repo struct {
	srv     *Server
	project string
	dir     string
	mu      sync.Mutex
	before  func()
	after   func()
	push    *protection

	// The routes, for hit counts.
	Branch, Tree, Commits, History, Files *Route
}

// RepoOption configures a Repo.
type RepoOption func(*repoConfig)

type repoConfig struct {
	commitFailures []http.HandlerFunc
	before, after  func()
	push           *protection
}

// Access levels, as GitLab numbers them.
const (
	Guest      = 10
	Reporter   = 20
	Developer  = 30
	Maintainer = 40
)

// protection is a protected branch's push rule and the token's role.
type protection struct {
	branch           string
	allowed, tokenAt int
}

// ProtectBranch protects branch so that only roles at allowed or above may
// push to it, and gives the test's token the role tokenAt in the project.
// A commit to it by a lower role is refused as GitLab refuses it: 403
// "You are not allowed to push into this branch".
func ProtectBranch(branch string, allowed, tokenAt int) RepoOption {
	return func(c *repoConfig) { c.push = &protection{branch: branch, allowed: allowed, tokenAt: tokenAt} }
}

// FailCommits answers the first commit requests with hs, in order, before
// the repository takes commits: e.g. Error(502, "") to test retries.
func FailCommits(hs ...http.HandlerFunc) RepoOption {
	return func(c *repoConfig) { c.commitFailures = hs }
}

// BeforeCommit runs fn before each commit is applied, e.g. to push a
// concurrent change and make the client's view stale.
func BeforeCommit(fn func()) RepoOption { return func(c *repoConfig) { c.before = fn } }

// AfterCommit runs fn after each commit is made, e.g. to push another
// app's change right after it, as a shared GitOps repository sees.
func AfterCommit(fn func()) RepoOption { return func(c *repoConfig) { c.after = fn } }

// Repository serves project's repository from the git work tree at dir,
// whose checked-out branch takes the commits.
func (s *Server) Repository(project, dir string, opts ...RepoOption) *Repo {
	var cfg repoConfig
	for _, o := range opts {
		o(&cfg)
	}
	r := &Repo{srv: s, project: project, dir: dir, before: cfg.before, after: cfg.after, push: cfg.push}
	r.Branch = s.Handle("GET /projects/{project}/repository/branches/{branch}", r.getBranch).Where("project", project)
	r.Tree = s.Handle("GET /projects/{project}/repository/tree", r.getTree).Where("project", project)
	commit := http.HandlerFunc(r.postCommit)
	if len(cfg.commitFailures) > 0 {
		commit = Sequence(append(cfg.commitFailures, r.postCommit)...)
	}
	r.Commits = s.Handle("POST /projects/{project}/repository/commits", commit).Where("project", project)
	r.History = s.Handle("GET /projects/{project}/repository/commits", r.listCommits).Where("project", project).Spare()
	r.Files = s.RepositoryFiles(project, dir).Spare()
	return r
}

// listCommits answers GET /projects/:id/repository/commits as GitLab does
// for the parameters bluegreen sends: ref_name (default: the checked-out
// branch), path (a file or folder) and pagination, newest first. An unknown
// ref is 404 "404 Reference Not Found"; a path no commit touched gives [].
func (r *Repo) listCommits(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	q := req.URL.Query()
	ref := q.Get("ref_name")
	if ref == "" {
		ref = "HEAD"
	}
	if _, err := r.git("rev-parse", "--verify", "--quiet", ref+"^{commit}"); err != nil {
		JSON(w, http.StatusNotFound, map[string]string{"message": "404 Reference Not Found"})
		return
	}
	args := []string{"log", "--format=%H", ref}
	if p := strings.Trim(q.Get("path"), "/"); p != "" {
		args = append(args, "--", p)
	}
	out, err := r.git(args...)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	commits := []map[string]any{}
	for _, sha := range strings.Fields(out) {
		c, err := r.commitJSON(sha)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		commits = append(commits, c)
	}
	Paginate(w, req, commits)
}

func (r *Repo) git(args ...string) (string, error) {
	cmd := exec.Command("git", append([]string{"-C", r.dir}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=GitLab", "GIT_AUTHOR_EMAIL=gitlab@example.com",
		"GIT_COMMITTER_NAME=GitLab", "GIT_COMMITTER_EMAIL=gitlab@example.com")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("git %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out)), nil
}

// commitJSON is a commit as the Commits and Branches APIs return it.
func (r *Repo) commitJSON(sha string) (map[string]any, error) {
	out, err := r.git("show", "-s", "--format=%H%n%P%n%an%n%ae%n%aI%n%s%n%B", sha)
	if err != nil {
		return nil, err
	}
	f := strings.SplitN(out, "\n", 7)
	for len(f) < 7 {
		f = append(f, "")
	}
	parents := []string{}
	if f[1] != "" {
		parents = strings.Fields(f[1])
	}
	return map[string]any{
		"id": f[0], "short_id": f[0][:8], "title": f[5], "message": f[6], "parent_ids": parents,
		"author_name": f[2], "author_email": f[3], "authored_date": f[4],
		"committer_name": f[2], "committer_email": f[3], "committed_date": f[4], "created_at": f[4],
		"web_url": r.srv.URL() + "/" + r.project + "/-/commit/" + f[0],
	}, nil
}

func (r *Repo) getBranch(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	name := req.PathValue("branch")
	sha, err := r.git("rev-parse", "--verify", "refs/heads/"+name)
	if err != nil {
		JSON(w, http.StatusNotFound, map[string]string{"message": "404 Branch Not Found"})
		return
	}
	c, err := r.commitJSON(sha)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	JSON(w, http.StatusOK, map[string]any{
		"name": name, "commit": c, "merged": false, "protected": true, "default": true,
		"developers_can_push": false, "developers_can_merge": false, "can_push": true,
		"web_url": r.srv.URL() + "/" + r.project + "/-/tree/" + name,
	})
}

type treeNode struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Type string `json:"type"`
	Path string `json:"path"`
	Mode string `json:"mode"`
}

func (r *Repo) getTree(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	q := req.URL.Query()
	ref := q.Get("ref")
	if ref == "" {
		ref = "HEAD"
	}
	dir := strings.Trim(q.Get("path"), "/")
	args := []string{"ls-tree", "--full-tree", ref}
	if q.Get("recursive") == "true" {
		args = []string{"ls-tree", "-r", "-t", "--full-tree", ref}
	}
	if dir != "" {
		args = append(args, "--", dir+"/")
	}
	out, err := r.git(args...)
	if err != nil || (dir != "" && out == "") {
		JSON(w, http.StatusNotFound, map[string]string{"message": "404 Tree Not Found"})
		return
	}
	nodes := []treeNode{}
	for _, line := range strings.Split(out, "\n") {
		meta, path, ok := strings.Cut(line, "\t")
		f := strings.Fields(meta)
		if !ok || len(f) != 3 {
			continue
		}
		nodes = append(nodes, treeNode{ID: f[2], Name: filepath.Base(path), Type: f[1], Path: path, Mode: f[0]})
	}
	Paginate(w, req, nodes)
}

type commitRequest struct {
	Branch        string `json:"branch"`
	CommitMessage string `json:"commit_message"`
	Actions       []struct {
		Action       string `json:"action"`
		FilePath     string `json:"file_path"`
		PreviousPath string `json:"previous_path"`
		Content      string `json:"content"`
		Encoding     string `json:"encoding"`
		LastCommitID string `json:"last_commit_id"`
	} `json:"actions"`
}

func (r *Repo) postCommit(w http.ResponseWriter, req *http.Request) {
	if r.before != nil {
		r.before()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var body commitRequest
	if err := json.NewDecoder(req.Body).Decode(&body); err != nil {
		JSON(w, http.StatusBadRequest, map[string]string{"error": "actions is missing"})
		return
	}
	if body.Branch == "" || body.CommitMessage == "" || len(body.Actions) == 0 {
		JSON(w, http.StatusBadRequest, map[string]string{"error": "branch, commit_message, actions are missing"})
		return
	}
	if p := r.push; p != nil && p.branch == body.Branch && p.tokenAt < p.allowed {
		// lib/api/commits.rb: authorize_push_to_branch! before any action.
		JSON(w, http.StatusForbidden, map[string]string{"message": "403 Forbidden - You are not allowed to push into this branch"})
		return
	}
	if cur, _ := r.git("symbolic-ref", "--short", "HEAD"); cur != body.Branch {
		JSON(w, http.StatusBadRequest, map[string]string{"message": "You can only create or edit files when you are on a branch"})
		return
	}
	if msg := r.changedSince(body); msg != "" {
		JSON(w, http.StatusBadRequest, map[string]string{"message": msg})
		return
	}
	if msg := r.apply(body); msg != "" {
		_, _ = r.git("checkout", "--", ".")
		_, _ = r.git("clean", "-fdq")
		JSON(w, http.StatusBadRequest, map[string]string{"message": msg})
		return
	}
	if _, err := r.git("add", "-A"); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if _, err := r.git("commit", "-q", "-m", body.CommitMessage); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	sha, _ := r.git("rev-parse", "HEAD")
	c, err := r.commitJSON(sha)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if r.after != nil {
		r.mu.Unlock()
		r.after()
		r.mu.Lock()
	}
	JSON(w, http.StatusCreated, c)
}

// changedSince checks each update, move and delete that names a
// last_commit_id against the branch, as Files::MultiService does before it
// writes: the newest commit that touched the file must be that one. A file
// no commit touched, or an action without the id, passes.
func (r *Repo) changedSince(body commitRequest) string {
	for _, a := range body.Actions {
		if a.LastCommitID == "" || (a.Action != "update" && a.Action != "move" && a.Action != "delete") {
			continue
		}
		path := a.FilePath
		if a.PreviousPath != "" {
			path = a.PreviousPath
		}
		last, err := r.git("log", "-1", "--format=%H", "refs/heads/"+body.Branch, "--", path)
		if err == nil && last != "" && last != a.LastCommitID {
			return "The file has changed since you started editing it: " + path
		}
	}
	return ""
}

// apply writes the actions into the work tree, with GitLab's checks and
// messages. It returns the message of the first failing action.
func (r *Repo) apply(body commitRequest) string {
	for _, a := range body.Actions {
		path := filepath.Join(r.dir, filepath.FromSlash(a.FilePath))
		if strings.Contains(a.FilePath, "..") || strings.HasPrefix(a.FilePath, "/") {
			return "Your changes could not be committed, because the file path is invalid"
		}
		_, statErr := os.Stat(path)
		exists := statErr == nil
		content := []byte(a.Content)
		if a.Encoding == "base64" {
			var err error
			if content, err = base64.StdEncoding.DecodeString(a.Content); err != nil {
				return "Invalid base64 content"
			}
		}
		switch a.Action {
		case "create":
			if exists {
				return "A file with this name already exists"
			}
		case "update":
			if !exists {
				return "A file with this name doesn't exist"
			}
		case "delete":
			if !exists {
				return "A file with this name doesn't exist"
			}
			if err := os.Remove(path); err != nil {
				return err.Error()
			}
			continue
		default:
			return fmt.Sprintf("Unknown action '%s'", a.Action)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err.Error()
		}
		if err := os.WriteFile(path, content, 0o644); err != nil {
			return err.Error()
		}
	}
	return ""
}
