package testenv

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"k8s.io/client-go/dynamic"
)

// Rollouts is a running Argo Rollouts controller over a Cluster, watching
// every namespace, with its CRDs installed.
type Rollouts struct {
	dir        string
	controller *proc
	metrics    int
}

// rolloutCRDs are the CRDs the controller's informers need, copied by
// setup.sh from the argo-rollouts module's manifests/crds.
var rolloutCRDs = []string{
	"rollout-crd.yaml", "analysis-run-crd.yaml", "analysis-template-crd.yaml",
	"cluster-analysis-template-crd.yaml", "experiment-crd.yaml",
}

// StartRollouts installs Argo Rollouts' CRDs into c and starts its
// controller with the cluster's admin kubeconfig. The controller binds its
// metrics and health listeners to 0.0.0.0, so, like Argo CD, it runs only
// inside the private network namespace (see Main), where that is loopback.
// Call Stop when done.
func StartRollouts(ctx context.Context, c *Cluster) (_ *Rollouts, err error) {
	bin, err := cached(filepath.Join(rolloutsDir(), "bin"), "rollouts-controller")
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "bluegreen-rollouts-")
	if err != nil {
		return nil, fmt.Errorf("rollouts: %w", err)
	}
	r := &Rollouts{dir: dir}
	defer func() {
		if err != nil {
			r.Stop()
		}
	}()
	dyn, err := dynamic.NewForConfig(c.config)
	if err != nil {
		return nil, fmt.Errorf("rollouts: %w", err)
	}
	var names []string
	for _, f := range rolloutCRDs {
		b, err := os.ReadFile(filepath.Join(rolloutsDir(), "manifests", "crds", f))
		if err != nil {
			return nil, fmt.Errorf("rollouts: %w: run %s", err, SetupCommand)
		}
		if err := c.Apply(ctx, "", b); err != nil {
			return nil, fmt.Errorf("rollouts: crd %s: %w", f, err)
		}
	}
	for _, n := range []string{"rollouts", "analysisruns", "analysistemplates", "clusteranalysistemplates", "experiments"} {
		names = append(names, n+".argoproj.io")
	}
	if err := waitCRDs(ctx, dyn, names...); err != nil {
		return nil, fmt.Errorf("rollouts: %w", err)
	}
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := WriteKubeconfig(kubeconfig, c.config, "default"); err != nil {
		return nil, fmt.Errorf("rollouts: %w", err)
	}
	p, err := freePorts(2)
	if err != nil {
		return nil, fmt.Errorf("rollouts: %w", err)
	}
	r.metrics = p[0]
	r.controller, err = startProc(dir, "rollouts-controller", baseEnv("HOME="+dir), bin,
		"--kubeconfig", kubeconfig, "--leader-elect=false", "--loglevel", "info", "--logformat", "json",
		"--metricsPort", strconv.Itoa(p[0]), "--healthzPort", strconv.Itoa(p[1]),
		// The tests' Rollouts are few; a fast resync keeps a missed event short.
		"--rollout-resync", "60")
	if err != nil {
		return nil, fmt.Errorf("rollouts: %w", err)
	}
	healthz := fmt.Sprintf("http://127.0.0.1:%d/healthz", p[1])
	if err := r.controller.waitReady(ctx, 50*time.Millisecond, func(ctx context.Context) error {
		return httpOK(ctx, http.DefaultClient, healthz, "")
	}); err != nil {
		return nil, fmt.Errorf("rollouts: %w", err)
	}
	return r, nil
}

// Dir returns the controller's temp dir, which holds its log.
func (r *Rollouts) Dir() string { return r.dir }

// Log returns the last n lines of the controller's log.
func (r *Rollouts) Log(n int) string { return r.controller.tail(n) }

// Stop stops the controller and removes its temp dir (the CRDs stay). It
// is safe to call twice, and on nil.
func (r *Rollouts) Stop() {
	if r == nil {
		return
	}
	r.controller.stop(syscall.SIGTERM, 5*time.Second)
	if r.dir != "" && os.Getenv("BLUEGREEN_KEEP_TESTENV") == "" {
		_ = os.RemoveAll(r.dir)
	}
}
