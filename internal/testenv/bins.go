package testenv

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Versions of the servers setup.sh builds; the cache folders are named after them.
const (
	K8sVersion    = "v1.37.2"
	KwokVersion   = "v0.8.0"
	ArgoCDVersion = "v3.6.1"
	// RolloutsVersion is the Argo Rollouts controller's.
	RolloutsVersion = "v1.10.2"
)

// SetupCommand is what a developer runs to get the binaries.
const SetupCommand = "internal/testenv/setup.sh"

// MissingError says that a binary a test needs is not installed.
type MissingError struct {
	Name string // the binary
	Path string // where it was looked for ("" for $PATH)
}

func (e *MissingError) Error() string {
	where := "on PATH"
	if e.Path != "" {
		where = "at " + e.Path
	}
	return fmt.Sprintf("%s not found %s: run %s from the repository root", e.Name, where, SetupCommand)
}

// CacheDir is where setup.sh puts the binaries:
// $BLUEGREEN_CACHE, else $XDG_CACHE_HOME/bluegreen, else ~/.cache/bluegreen.
func CacheDir() string {
	if d := os.Getenv("BLUEGREEN_CACHE"); d != "" {
		return d
	}
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "bluegreen")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		home = os.TempDir()
	}
	return filepath.Join(home, ".cache", "bluegreen")
}

func k8sDir() string    { return filepath.Join(CacheDir(), "k8s-"+K8sVersion) }
func kwokDir() string   { return filepath.Join(CacheDir(), "kwok-"+KwokVersion) }
func argocdDir() string { return filepath.Join(CacheDir(), "argocd-"+ArgoCDVersion) }
func rolloutsDir() string {
	return filepath.Join(CacheDir(), "argo-rollouts-"+RolloutsVersion)
}

// cached returns the path of a binary in a cache folder, or a *MissingError.
func cached(dir, name string) (string, error) {
	p := filepath.Join(dir, name)
	fi, err := os.Stat(p)
	if err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
		return "", &MissingError{Name: name, Path: p}
	}
	return p, nil
}

// onPath returns the path of a binary from the system packages, or a *MissingError.
func onPath(name string) (string, error) {
	p, err := exec.LookPath(name)
	if err != nil {
		return "", &MissingError{Name: name}
	}
	return p, nil
}

// SkipAllowed reports whether a test may skip instead of failing when a
// binary is missing: only outside CI, and only when the developer asked for
// it with BLUEGREEN_SKIP_REAL=1.
func SkipAllowed() bool {
	return os.Getenv("CI") == "" && os.Getenv("BLUEGREEN_SKIP_REAL") == "1"
}

// fail ends tb because a server could not be had: a skip when a binary is
// missing and SkipAllowed, a failure otherwise (always in CI).
func fail(tb testing.TB, err error) {
	tb.Helper()
	var missing *MissingError
	if (errors.As(err, &missing) || errors.Is(err, ErrNoNetns)) && SkipAllowed() {
		tb.Skipf("BLUEGREEN_SKIP_REAL=1: %v", err)
	}
	tb.Fatal(err)
}
