// Command demo plays bluegreen's whole story on this machine, on real
// servers: a Kubernetes control plane with kwok, Argo CD, Prometheus, a
// GitLab API fake over a real GitOps repository and a Slack fake, with the
// CI/CD components run by gitlab-ci-local. Three releases of the same app:
// a good green that is approved, verified, promoted and confirmed by monitor
// (live = green); a bad green whose verification fails and which is rolled
// back (live = blue); and a green that passes verify on QA traffic but fails
// under live traffic after the switch, which monitor rolls back by itself
// (live = blue).
// It prints each job's log and the Slack thread of each release.
//
//	export GOTOOLCHAIN=go1.27.3
//	go run ./internal/demo
//
// The first run builds the servers (internal/testenv/setup.sh: about 20-25
// minutes on 2 cores; it needs root for apt-get); later runs skip that and
// take a minute or two. Like the tests, it runs inside a private network
// namespace, so every server listens on loopback only.
package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"

	"gitlab.com/platform/bluegreen/internal/pipeline"
	"gitlab.com/platform/bluegreen/internal/testenv"
)

// inNetns marks the demo re-executed inside its network namespace.
const inNetns = "BLUEGREEN_DEMO_NETNS"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx)
	stop()
	os.Exit(code)
}

func run(ctx context.Context) int {
	root, err := pipeline.ModuleRoot()
	if err != nil {
		fmt.Fprintf(os.Stderr, "demo: run it from the bluegreen repository: %v\n", err)
		return 2
	}
	if os.Getenv(inNetns) != "" {
		return play(ctx, root)
	}
	if err := setup(ctx, root); err != nil {
		fmt.Fprintf(os.Stderr, "demo: setup failed: %v\n", err)
		return 1
	}
	return reexecInNetns(ctx)
}

// setup runs internal/testenv/setup.sh when anything the demo starts is
// missing, and says how long it will take.
func setup(ctx context.Context, root string) error {
	missing := missingTools()
	if len(missing) == 0 {
		fmt.Println("setup: every server is built (in " + testenv.CacheDir() + ")")
		return nil
	}
	fmt.Printf("setup: missing %v.\n", missing)
	fmt.Println("setup: building them once with internal/testenv/setup.sh: about 20-25 minutes on 2 cores")
	fmt.Println("       (apt packages, gitlab-ci-local from npm, Kubernetes, kwok and Argo CD from the Go module proxy);")
	fmt.Println("       later runs skip this.")
	cmd := exec.CommandContext(ctx, filepath.Join(root, "internal", "testenv", "setup.sh"))
	cmd.Dir, cmd.Stdout, cmd.Stderr = root, os.Stdout, os.Stderr
	return cmd.Run()
}

// missingTools lists what setup.sh would build or install.
func missingTools() []string {
	cache := testenv.CacheDir()
	var missing []string
	for _, p := range []string{
		filepath.Join(cache, "k8s-"+testenv.K8sVersion, "kube-apiserver"),
		filepath.Join(cache, "k8s-"+testenv.K8sVersion, "etcd"),
		filepath.Join(cache, "kwok-"+testenv.KwokVersion, "kwok"),
		filepath.Join(cache, "argocd-"+testenv.ArgoCDVersion, "bin", "argocd"),
		filepath.Join(cache, "bin", "gitlab-ci-local"),
	} {
		if _, err := os.Stat(p); err != nil {
			missing = append(missing, filepath.Base(p))
		}
	}
	for _, name := range []string{"prometheus", "promtool", "redis-server", "rsync", "git", "unshare", "ip"} {
		if _, err := exec.LookPath(name); err != nil {
			missing = append(missing, name)
		}
	}
	return missing
}

// reexecInNetns runs the demo again inside a private network namespace:
// Argo CD's application-controller listens on 0.0.0.0, and inside the
// namespace only loopback exists.
func reexecInNetns(ctx context.Context) int {
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintf(os.Stderr, "demo: %v\n", err)
		return 1
	}
	flags := []string{"--net"}
	if os.Geteuid() != 0 {
		flags = []string{"--map-root-user", "--net"}
	}
	args := append(flags, "--", "/bin/sh", "-c", `ip link set lo up && exec "$0" "$@"`, exe)
	cmd := exec.CommandContext(ctx, "unshare", append(args, os.Args[1:]...)...)
	cmd.Env = append(os.Environ(), inNetns+"=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Run(); err != nil {
		if cmd.ProcessState != nil && cmd.ProcessState.ExitCode() > 0 {
			return cmd.ProcessState.ExitCode()
		}
		fmt.Fprintf(os.Stderr, "demo: no private network namespace (unshare %v): %v\n", flags, err)
		return 1
	}
	return 0
}
