package testenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"sync"
	"syscall"
	"testing"
	"time"
)

// netnsMarker is set in the environment of a test binary re-executed inside
// its private network namespace.
const netnsMarker = "BLUEGREEN_TESTENV_NETNS"

// ErrNoNetns says that no private network namespace could be made, which
// Argo CD needs.
var ErrNoNetns = errors.New("no private network namespace")

// startTimeout bounds the start of a shared server.
const startTimeout = 3 * time.Minute

// Env holds the servers a test package shares. Its zero value is ready to
// use; pass it to Main from TestMain. Servers start lazily, on the first
// test that asks for them, and Main stops them after the last test.
type Env struct {
	mu       sync.Mutex
	netnsErr error // why tests run outside a private network namespace

	clusterTried bool
	cluster      *Cluster
	clusterErr   error

	argoTried bool
	argo      *ArgoCD
	argoErr   error

	rolloutsTried bool
	rollouts      *Rollouts
	rolloutsErr   error
}

// Main runs the package's tests inside a private network namespace (see the
// package doc), then stops the servers env started. It never returns.
//
//	var env testenv.Env
//	func TestMain(m *testing.M) { testenv.Main(m, &env) }
func Main(m *testing.M, env *Env) {
	if os.Getenv(netnsMarker) == "" {
		code, err := runInNetns()
		if err == nil {
			os.Exit(code)
		}
		env.netnsErr = err
	}
	code := m.Run()
	env.Stop()
	os.Exit(code)
}

// runInNetns re-executes this test binary under unshare and returns its exit
// code. An error means no namespace could be made; the caller runs in place.
func runInNetns() (int, error) {
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		return 0, fmt.Errorf("%w: %v", ErrNoNetns, err)
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return 0, fmt.Errorf("%w: %v", ErrNoNetns, err)
	}
	flags := []string{"--net"}
	if os.Geteuid() != 0 {
		flags = []string{"--map-root-user", "--net"}
	}
	// Probe first: unshare's own failure would look like a test failure.
	probe := append(append([]string{}, flags...), "ip", "link", "set", "lo", "up")
	if out, err := exec.Command(unshare, probe...).CombinedOutput(); err != nil {
		return 0, fmt.Errorf("%w: unshare %v: %v: %s", ErrNoNetns, flags, err, out)
	}
	exe, err := os.Executable()
	if err != nil {
		return 0, fmt.Errorf("%w: %v", ErrNoNetns, err)
	}
	args := append(flags, "--", "/bin/sh", "-c", `ip link set lo up && exec "$0" "$@"`, exe)
	cmd := exec.Command(unshare, append(args, os.Args[1:]...)...)
	cmd.Env = append(os.Environ(), netnsMarker+"=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("%w: %v", ErrNoNetns, err)
	}
	// Pass on what go test sends (SIGQUIT on timeout, SIGINT on ^C).
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGQUIT, syscall.SIGHUP)
	go func() {
		for s := range sigs {
			_ = cmd.Process.Signal(s)
		}
	}()
	err = cmd.Wait()
	signal.Stop(sigs)
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal()), nil
	}
	if err != nil && cmd.ProcessState.ExitCode() < 0 {
		return 1, nil
	}
	return cmd.ProcessState.ExitCode(), nil
}

// Cluster returns the package's cluster, starting it on first use. It fails
// tb when the cluster can't be had (or skips it, see SkipAllowed).
func (e *Env) Cluster(tb testing.TB) *Cluster {
	tb.Helper()
	c, err := e.startCluster(tb)
	if err != nil {
		fail(tb, err)
	}
	return c
}

func (e *Env) startCluster(tb testing.TB) (*Cluster, error) {
	tb.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.clusterTried {
		e.clusterTried = true
		ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
		defer cancel()
		start := time.Now()
		e.cluster, e.clusterErr = StartCluster(ctx)
		if e.clusterErr == nil {
			tb.Logf("testenv: cluster started in %s", time.Since(start).Round(time.Millisecond))
		}
	}
	return e.cluster, e.clusterErr
}

// ArgoCD returns the package's Argo CD over the package's cluster, starting
// both on first use. It fails tb when they can't be had (or skips it, see
// SkipAllowed).
func (e *Env) ArgoCD(tb testing.TB) *ArgoCD {
	tb.Helper()
	c := e.Cluster(tb)
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.argoTried {
		e.argoTried = true
		if e.netnsErr != nil {
			e.argoErr = fmt.Errorf("argocd: its controller listens on 0.0.0.0, so it runs only in a private network namespace: %w", e.netnsErr)
		} else {
			ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
			defer cancel()
			start := time.Now()
			e.argo, e.argoErr = StartArgoCD(ctx, c)
			if e.argoErr == nil {
				tb.Logf("testenv: argocd started and logged in in %s", time.Since(start).Round(time.Millisecond))
			}
		}
	}
	if e.argoErr != nil {
		fail(tb, e.argoErr)
	}
	return e.argo
}

// Rollouts returns the package's Argo Rollouts controller over the
// package's cluster, starting both on first use. One controller serves every
// test of the package; each test's Rollouts live in its own namespace. It
// fails tb when they can't be had (or skips it, see SkipAllowed).
func (e *Env) Rollouts(tb testing.TB) *Rollouts {
	tb.Helper()
	c := e.Cluster(tb)
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.rolloutsTried {
		e.rolloutsTried = true
		if e.netnsErr != nil {
			e.rolloutsErr = fmt.Errorf("argo rollouts: its controller listens on 0.0.0.0, so it runs only in a private network namespace: %w", e.netnsErr)
		} else {
			ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
			defer cancel()
			start := time.Now()
			e.rollouts, e.rolloutsErr = StartRollouts(ctx, c)
			if e.rolloutsErr == nil {
				tb.Logf("testenv: argo rollouts controller started in %s", time.Since(start).Round(time.Millisecond))
			}
		}
	}
	if e.rolloutsErr != nil {
		fail(tb, e.rolloutsErr)
	}
	return e.rollouts
}

// Stop stops what the Env started: the Rollouts controller, Argo CD, then
// the cluster.
func (e *Env) Stop() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.rollouts.Stop()
	e.argo.Stop()
	e.cluster.Stop()
	e.rollouts, e.argo, e.cluster = nil, nil, nil
}
