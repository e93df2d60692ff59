// Package names is the one place that decides whether an identity or a path
// that came from outside is safe to use: object names by the apiserver's
// rules for their kind (names bluegreen derives included), namespaces, the
// app and the environment (which become GitOps folders), the colours, and
// relative paths that must stay inside their folder. Every check returns an
// error that says what the value is and which rule it breaks; callers add
// the file, object or variable it came from.
package names

import (
	"fmt"
	pathpkg "path"
	"path/filepath"
	"strings"
	"unicode"

	"k8s.io/apimachinery/pkg/api/validate/content"
	"k8s.io/apimachinery/pkg/util/validation"
)

// MaxPreviewService bounds a Service name that gets "-preview" appended: a
// Service name is a DNS-1035 label of at most 63 characters.
const MaxPreviewService = validation.DNS1035LabelMaxLength - len("-preview")

// Object checks an object's name by the rule of its kind: a Service's is a
// DNS-1035 label, a Namespace's a DNS-1123 label, an RBAC object's a path
// segment (no '/' or '%', not "." or ".."), every other a DNS-1123
// subdomain (253 characters, lower case, digits, '-' and '.').
func Object(kind, name string) error {
	if name == "" {
		return fmt.Errorf("%s has no name", kind)
	}
	var errs []string
	switch kind {
	case "Service":
		errs = validation.IsDNS1035Label(name)
	case "Namespace":
		errs = validation.IsDNS1123Label(name)
	case "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding":
		// RBAC names need only be path segments: "system:controller:x".
		errs = content.IsPathSegmentName(name)
	default:
		errs = validation.IsDNS1123Subdomain(name)
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s name %s is invalid: %s", kind, Quote(name), strings.Join(errs, "; "))
	}
	return nil
}

// Namespace checks a namespace name (a DNS-1123 label).
func Namespace(ns string) error {
	if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
		return fmt.Errorf("namespace %s is invalid: %s", Quote(ns), strings.Join(errs, "; "))
	}
	return nil
}

// App checks an app name: it names the active Service and is the base of
// every coloured name, so it is a DNS-1035 label short enough for
// "<app>-preview".
func App(app string) error {
	if errs := validation.IsDNS1035Label(app); len(errs) > 0 {
		return fmt.Errorf("app %s is invalid: %s", Quote(app), strings.Join(errs, "; "))
	}
	if len(app) > MaxPreviewService {
		return fmt.Errorf("app %s is %d characters; at most %d, so that %s-preview is a valid Service name", Quote(app), len(app), MaxPreviewService, app)
	}
	return nil
}

// Environment checks an environment name, which becomes a folder of the
// GitOps repository: one or more DNS-1123 labels separated by '/' (GitLab
// names review apps "review/<branch>"), at most 255 characters, so that it
// can never climb out of the repository or into another app's folder.
func Environment(env string) error {
	if len(env) > 255 {
		return fmt.Errorf("environment %s is %d characters; at most 255", Quote(env), len(env))
	}
	for _, seg := range strings.Split(env, "/") {
		if errs := validation.IsDNS1123Label(seg); len(errs) > 0 {
			return fmt.Errorf("environment %s is invalid (it becomes a GitOps folder; each '/'-separated part must be a DNS label): %s", Quote(env), strings.Join(errs, "; "))
		}
	}
	return nil
}

// Color checks a colour as stored in a plan: blue or green, or none for
// the live colour before the first release when none is allowed.
func Color(c string, none bool) error {
	switch {
	case c == "blue", c == "green", none && c == "none":
		return nil
	case none:
		return fmt.Errorf("colour %s is not blue, green or none", Quote(c))
	}
	return fmt.Errorf("colour %s is not blue or green", Quote(c))
}

// MaxPodTemplateHash is the longest rollouts-pod-template-hash bluegreen
// accepts: Argo Rollouts writes about ten characters.
const MaxPodTemplateHash = 32

// PodTemplateHash checks an Argo Rollouts ReplicaSet hash (the value of
// its pods' rollouts-pod-template-hash label): 1 to MaxPodTemplateHash
// lower-case letters and digits. Nothing else is allowed, so that it can
// be put in a label matcher or a selector without escaping.
func PodTemplateHash(h string) error {
	ok := h != "" && len(h) <= MaxPodTemplateHash
	for _, r := range h {
		ok = ok && (r >= 'a' && r <= 'z' || r >= '0' && r <= '9')
	}
	if !ok {
		return fmt.Errorf("ReplicaSet hash %s is invalid: want 1 to %d lower-case letters and digits (a rollouts-pod-template-hash)", Quote(h), MaxPodTemplateHash)
	}
	return nil
}

// RelPath checks a slash-separated path that must stay inside the folder it
// is relative to: not empty, not absolute, clean (no "." or ".." element,
// no doubled or trailing slash), no backslash and no control character.
func RelPath(p string) error {
	switch {
	case p == "":
		return fmt.Errorf("empty path")
	case strings.ContainsFunc(p, unicode.IsControl):
		return fmt.Errorf("path %s holds a control character", Quote(p))
	case strings.Contains(p, `\`):
		return fmt.Errorf("path %s holds a backslash", Quote(p))
	case pathpkg.IsAbs(p) || !filepath.IsLocal(filepath.FromSlash(p)):
		return fmt.Errorf("path %s leaves its folder", Quote(p))
	case pathpkg.Clean(p) != p:
		return fmt.Errorf("path %s is not clean (it should be %s)", Quote(p), Quote(pathpkg.Clean(p)))
	}
	return nil
}

// Under checks that p is a RelPath whose first element is one of dirs, e.g.
// a rendered file under "blue/", "green/" or "shared/".
func Under(p string, dirs ...string) error {
	if err := RelPath(p); err != nil {
		return err
	}
	first, _, ok := strings.Cut(p, "/")
	for _, d := range dirs {
		if ok && first == d {
			return nil
		}
	}
	return fmt.Errorf("path %s is not inside %s", Quote(p), strings.Join(dirs, "/, ")+"/")
}

// Quote prints a value quoted, its control characters escaped and cut
// after 80 characters, so that a hostile name cannot forge a log line or
// flood a message.
func Quote(s string) string {
	const max = 80
	if len(s) > max {
		return fmt.Sprintf("%q… (%d characters)", s[:max], len(s))
	}
	return fmt.Sprintf("%q", s)
}
