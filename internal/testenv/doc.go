// Package testenv starts real servers for bluegreen's tests: a Kubernetes
// control plane (etcd, kube-apiserver with RBAC, kube-controller-manager,
// kube-scheduler, kwok and one fake node), Prometheus, and Argo CD (Redis,
// repo-server, application-controller, server) and the Argo Rollouts
// controller over that cluster, plus a local git repository that Argo CD
// Applications can point at.
//
// Everything listens on 127.0.0.1 with free ports and lives in temp dirs.
// The binaries come from internal/testenv/setup.sh, which builds them into a
// cache folder named by version (see CacheDir). When one is missing, the test
// that needs it fails with the setup command to run; it is skipped instead
// only when CI is unset and BLUEGREEN_SKIP_REAL=1.
//
// # Sharing servers in a test package
//
// The cluster and Argo CD take seconds to start, so a package starts them at
// most once, lazily, on the first test that asks, and stops them after the
// last test. Each test works in its own namespace:
//
//	var env testenv.Env
//
//	func TestMain(m *testing.M) { testenv.Main(m, &env) }
//
//	func TestSwitch(t *testing.T) {
//		c := env.Cluster(t)   // started on first use; fails or skips t if it can't be
//		ns := c.Namespace(t)  // a fresh namespace, deleted when t ends
//		...
//	}
//
// Prometheus is cheap (about half a second), so each test starts its own with
// NewPrometheus.
//
// # Network namespace
//
// Argo CD's application-controller binds its metrics listener to 0.0.0.0,
// and no test may listen on or reach a non-loopback address. Main therefore
// re-executes the test binary inside a private network namespace
// (`unshare -n`, or `unshare -rn` when not root, then `ip link set lo up`),
// passing arguments, output and exit code through. Inside it only loopback
// exists, and the test process, the cluster and Argo CD all reach each other
// on 127.0.0.1. Ports can't collide with other test binaries either. When no
// namespace can be made, tests run on the host's loopback and Env.ArgoCD
// fails with the reason.
//
// # Data plane
//
// Cluster.DataPlane starts, once per cluster, kube-proxy (nftables mode,
// from the same Kubernetes tree) programming the namespace's own tables,
// and a PodRunner that serves HTTP on every Running pod's IP (on the
// DataPlaneLink interface) with readiness, preStop and graceful
// termination. A request to a Service's ClusterIP (ServiceCIDR, reached
// from NodeIP) is then DNATed by the kernel to a pod server, as on a node,
// and Load sends a bounded, fixed-rate load over kept-alive and new
// connections, recording each answer's colour, status and latency. All of
// it exists only inside the private network namespace.
//
// # Processes
//
// Every server runs in its own process group with Pdeathsig=SIGKILL, so
// nothing outlives a test binary that dies. Output goes to a log file in the
// server's temp dir, and a startup failure carries the tail of that log.
// Shutdown order matters: kwok, the scheduler and the controller-manager stop
// before the apiserver, which is killed outright (a SIGTERMed apiserver with
// live clients can take a minute to drain). Set BLUEGREEN_KEEP_TESTENV=1 to
// keep the temp dirs (and their logs) after a run.
package testenv
