package testenv

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The data plane's addresses, all inside the private network namespace.
const (
	// ServiceCIDR is the apiserver's --service-cluster-ip-range: ClusterIPs.
	ServiceCIDR = "10.0.0.0/24"
	// PodCIDR is kwok's --cidr: the pod IPs it assigns.
	PodCIDR = "10.244.0.0/16"
	// NodeIP is kwok's --node-ip, the fake node's InternalIP, and the
	// source address of requests to ClusterIPs.
	NodeIP = "10.1.0.1"
	// DataPlaneLink is the interface that holds the node IP and every
	// served pod's IP.
	DataPlaneLink = "bgpods"
)

// DataPlane is kube-proxy (nftables mode) programming the namespace's own
// tables for the cluster's Services, and a PodRunner serving HTTP on every
// Running pod's IP: a request to a ClusterIP is load-balanced by the kernel
// to a pod server, as on a real node. It exists only inside the private
// network namespace (see the package doc), so it reaches nothing outside.
type DataPlane struct {
	Pods  *PodRunner
	proxy *proc
	dir   string
}

// dataSlot holds a cluster's data plane, started once.
type dataSlot struct {
	mu    sync.Mutex
	tried bool
	d     *DataPlane
	err   error
}

func (s *dataSlot) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.d.Stop()
	s.d = nil
}

// DataPlane returns the cluster's data plane (kube-proxy and the pod
// runner), starting it on first use; Stop stops it with the cluster, so a
// package that shares one cluster (see Env) shares one data plane. It fails
// tb when it can't be had (or skips it, see SkipAllowed).
func (c *Cluster) DataPlane(tb testing.TB) *DataPlane {
	tb.Helper()
	c.data.mu.Lock()
	defer c.data.mu.Unlock()
	if !c.data.tried {
		c.data.tried = true
		ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
		defer cancel()
		start := time.Now()
		c.data.d, c.data.err = StartDataPlane(ctx, c)
		if c.data.err == nil {
			tb.Logf("testenv: data plane (kube-proxy, pod runner) started in %s", time.Since(start).Round(time.Millisecond))
		}
	}
	if c.data.err != nil {
		fail(tb, c.data.err)
	}
	return c.data.d
}

// StartDataPlane sets up the interface and route, starts kube-proxy for c's
// node and the pod runner, and waits until kube-proxy has synced its rules.
// Call Stop when done.
func StartDataPlane(ctx context.Context, c *Cluster) (_ *DataPlane, err error) {
	if os.Getenv(netnsMarker) == "" {
		return nil, fmt.Errorf("data plane: kube-proxy writes the network namespace's nftables, so it runs only in a private one: %w", ErrNoNetns)
	}
	bin, err := cached(k8sDir(), "kube-proxy")
	if err != nil {
		return nil, err
	}
	if _, err := onPath("nft"); err != nil {
		return nil, err
	}
	if err := setupLink(); err != nil {
		return nil, fmt.Errorf("data plane: %w", err)
	}
	d := &DataPlane{dir: c.path("dataplane")}
	defer func() {
		if err != nil {
			d.Stop()
		}
	}()
	if err := os.MkdirAll(d.dir, 0o755); err != nil {
		return nil, fmt.Errorf("data plane: %w", err)
	}
	p, err := freePorts(2)
	if err != nil {
		return nil, fmt.Errorf("data plane: %w", err)
	}
	healthz := fmt.Sprintf("127.0.0.1:%d", p[0])
	// No --cluster-cidr: without a local-traffic detector kube-proxy does
	// not masquerade requests from the node's own address, which would
	// need an outgoing interface this namespace does not have.
	d.proxy, err = startProc(d.dir, "kube-proxy", baseEnv(), bin,
		"--kubeconfig="+c.kubeconfig, "--proxy-mode=nftables", "--hostname-override="+NodeName,
		"--healthz-bind-address="+healthz, fmt.Sprintf("--metrics-bind-address=127.0.0.1:%d", p[1]),
		"--nodeport-addresses="+NodeIP+"/32",
		"--conntrack-max-per-core=0", // leave the (host's) conntrack sysctls alone
		"--conntrack-tcp-timeout-established=0", "--conntrack-tcp-timeout-close-wait=0",
		"--v=1")
	if err != nil {
		return nil, fmt.Errorf("data plane: %w", err)
	}
	if err := d.proxy.waitReady(ctx, 100*time.Millisecond, func(ctx context.Context) error {
		return httpOK(ctx, http.DefaultClient, "http://"+healthz+"/healthz", "")
	}); err != nil {
		return nil, fmt.Errorf("data plane: %w", err)
	}
	if d.Pods, err = StartPodRunner(ctx, c.client); err != nil {
		return nil, fmt.Errorf("data plane: %w", err)
	}
	return d, nil
}

// setupLink makes the interface for the node and pod IPs and routes the
// Service CIDR through it, from the node IP. A dummy interface is used where
// the kernel has one, else an empty bridge (some kernels lack the dummy
// driver); both hold local addresses only.
func setupLink() error {
	if _, err := net.InterfaceByName(DataPlaneLink); err == nil {
		return nil
	}
	if err := ip("link", "add", DataPlaneLink, "type", "dummy"); err != nil {
		if err2 := ip("link", "add", DataPlaneLink, "type", "bridge"); err2 != nil {
			return fmt.Errorf("%v; %v", err, err2)
		}
	}
	for _, args := range [][]string{
		{"link", "set", DataPlaneLink, "up"},
		{"addr", "add", NodeIP + "/32", "dev", DataPlaneLink},
		{"route", "add", ServiceCIDR, "dev", DataPlaneLink, "src", NodeIP},
	} {
		if err := ip(args...); err != nil {
			return err
		}
	}
	return nil
}

// ip runs the ip command.
func ip(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// Stop stops the pod runner (each server at once, no drain) and kube-proxy,
// and flushes kube-proxy's table. It is safe to call on nil.
func (d *DataPlane) Stop() {
	if d == nil {
		return
	}
	d.Pods.Stop()
	d.proxy.stop(syscall.SIGTERM, 3*time.Second)
	_ = exec.Command("nft", "delete", "table", "ip", "kube-proxy").Run()
	_ = exec.Command("nft", "delete", "table", "ip6", "kube-proxy").Run()
}

// Log returns the tail of kube-proxy's log, for a failing test.
func (d *DataPlane) Log(lines int) string { return d.proxy.tail(lines) }

// ClusterURL is the http URL of a ClusterIP and port.
func ClusterURL(clusterIP string, port int32) string {
	return "http://" + net.JoinHostPort(clusterIP, strconv.Itoa(int(port)))
}

// errNotReady says a pod server was asked while its pod is not Ready.
var errNotReady = errors.New("pod not Ready")
