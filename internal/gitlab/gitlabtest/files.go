package gitlabtest

import (
	"net/http"
	"os"
	"os/exec"
	"strings"
)

// RepositoryFiles serves GET /projects/:id/repository/files/:file_path/raw
// for project from the git repository at dir (a work tree, as Repository
// takes): the file's bytes at the ref the request names (a branch, tag or
// SHA), read with `git show`. GitLab answers 400 without a ref and 404 for
// a file or ref that does not exist; so does this.
func (s *Server) RepositoryFiles(project, dir string) *Route {
	return s.Handle("GET /projects/{project}/repository/files/{path}/raw", func(w http.ResponseWriter, req *http.Request) {
		ref := req.URL.Query().Get("ref")
		if ref == "" {
			JSON(w, http.StatusBadRequest, map[string]string{"error": "ref is missing"})
			return
		}
		path := strings.Trim(req.PathValue("path"), "/")
		if path == "" || strings.Contains(path, "..") {
			JSON(w, http.StatusBadRequest, map[string]string{"error": "file_path is invalid"})
			return
		}
		cmd := exec.Command("git", "-C", dir, "show", ref+":"+path)
		cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
		out, err := cmd.Output()
		if err != nil {
			JSON(w, http.StatusNotFound, map[string]string{"message": "404 File Not Found"})
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Gitlab-File-Path", path)
		w.Header().Set("X-Gitlab-Ref", ref)
		w.WriteHeader(http.StatusOK)
		w.Write(out)
	}).Where("project", project)
}
