package render

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"gitlab.com/platform/bluegreen/internal/outcome"
)

// Remote references in a kustomization.
//
// kustomize fetches a reference over the network when it is an http(s) URL
// (its loader.IsRemoteFile) or when it parses as a git repository (its
// git.NewRepoSpecFromURL: ssh://, https://, http://, file://, scp-style
// user@host:path, github.com/org/repo, with an optional git:: prefix). Both
// are internal to kustomize, so isRemote mirrors them by hand, and more
// widely: any URL scheme, and any ?ref= or ?version= query.
//
// A remote reference is refused unless Input.AllowRemote is set, and then it
// must be pinned: a ?ref= (or ?version=) that is a commit SHA (40 or 64 hex
// digits) or a version tag (v1.2.3, 1.2.3-rc.1, or with a path prefix such as
// api/v0.21.2), or, for a URL of one file, a commit SHA as one element of its
// path (raw.githubusercontent.com/org/repo/<sha>/deploy.yaml). A branch
// is never a pin. A tag is a weaker pin than a SHA: tags can be moved. Plain
// http:// and file:// are refused even then.

var (
	scpUser    = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9-]*@`)
	commitSHA  = regexp.MustCompile(`^[0-9a-f]{40}([0-9a-f]{24})?$`)
	versionTag = regexp.MustCompile(`^([A-Za-z0-9._-]+/)*v?[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?$`)
)

// isRemote reports whether kustomize would, or might, fetch r rather than
// read it from the kustomization's folder.
func isRemote(r string) bool {
	lower := strings.ToLower(r)
	switch {
	case strings.HasPrefix(lower, "git::"), strings.Contains(r, "://"),
		strings.HasPrefix(lower, "github.com/"), strings.HasPrefix(lower, "github.com:"),
		scpUser.MatchString(r):
		return true
	}
	if u, err := url.Parse(r); err == nil && u.Scheme != "" {
		return true
	}
	return hasRefQuery(r)
}

// gitRef is the ref or version query of a remote reference, as kustomize
// reads it: ref wins over version.
func gitRef(r string) string {
	_, query, ok := strings.Cut(r, "?")
	if !ok {
		return ""
	}
	q, _ := url.ParseQuery(query)
	if v := q.Get("ref"); v != "" {
		return v
	}
	return q.Get("version")
}

func hasRefQuery(r string) bool {
	_, query, ok := strings.Cut(r, "?")
	if !ok {
		return false
	}
	q, _ := url.ParseQuery(query)
	return q.Has("ref") || q.Has("version")
}

// remoteRef refuses the remote reference r (found at at), unless remote
// references are allowed and r is pinned; then it is noted for kustomize to
// fetch.
func (w *walk) remoteRef(at, r string) error {
	if !w.in.AllowRemote {
		return outcome.Usagef("%s: a remote reference; kustomize would fetch it, so it is refused (allow pinned remote references with --allow-remote, BG_KUSTOMIZE_ALLOW_REMOTE)", at)
	}
	if err := pinned(r); err != nil {
		return outcome.Usagef("%s: %w", at, err)
	}
	w.remote = append(w.remote, r)
	return nil
}

// pinned checks that a remote reference names fixed content.
func pinned(r string) error {
	lower := strings.TrimPrefix(strings.ToLower(r), "git::")
	switch {
	case strings.HasPrefix(lower, "http://"):
		return fmt.Errorf("plain http is refused; use https or ssh")
	case strings.HasPrefix(lower, "file://"):
		return fmt.Errorf("file:// is refused; it reads outside the project folder")
	}
	if ref := gitRef(r); ref != "" {
		if commitSHA.MatchString(ref) || versionTag.MatchString(ref) {
			return nil
		}
		return fmt.Errorf("ref %q is not pinned: use a commit SHA (40 hex digits) or a version tag such as v1.2.3", ref)
	}
	if u, err := url.Parse(r); err == nil && u.Scheme == "https" {
		for _, el := range strings.Split(u.Path, "/") {
			if commitSHA.MatchString(el) {
				return nil
			}
		}
	}
	return fmt.Errorf("not pinned: add ?ref=<commit SHA> or ?ref=<version tag> (a URL of one file may carry the commit SHA in its path instead)")
}
