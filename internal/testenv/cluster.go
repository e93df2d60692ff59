package testenv

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	_ "embed"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

//go:embed testdata/kwok-stages-fast.yaml
var kwokStages []byte

// NodeName is the one fake node kwok manages.
const NodeName = "kwok-node-0"

// Cluster is a running control plane: etcd, kube-apiserver (RBAC, token
// auth), kube-controller-manager, kube-scheduler and kwok with one fake node.
// Pods scheduled to the node become Running and Ready with pod IPs, so
// Deployments roll out and EndpointSlices follow Service selectors.
type Cluster struct {
	dir        string
	config     *rest.Config
	client     kubernetes.Interface
	kubeconfig string

	etcd, apiserver, controllerManager, scheduler, kwok *proc

	data dataSlot // the data plane, started on first use (see DataPlane)
}

type clusterPorts struct{ etcd, etcdPeer, apiserver, kcm, scheduler, kwok int }

// StartCluster starts a cluster in a new temp dir and waits until its node
// is Ready. Call Stop when done. Missing binaries give a *MissingError.
func StartCluster(ctx context.Context) (_ *Cluster, err error) {
	bins := map[string]string{}
	for _, b := range []struct{ dir, name string }{
		{k8sDir(), "etcd"}, {k8sDir(), "kube-apiserver"}, {k8sDir(), "kube-controller-manager"},
		{k8sDir(), "kube-scheduler"}, {kwokDir(), "kwok"},
	} {
		if bins[b.name], err = cached(b.dir, b.name); err != nil {
			return nil, err
		}
	}
	dir, err := os.MkdirTemp("", "bluegreen-cluster-")
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	c := &Cluster{dir: dir}
	defer func() {
		if err != nil {
			c.Stop()
		}
	}()
	p, err := freePorts(6)
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	ports := clusterPorts{p[0], p[1], p[2], p[3], p[4], p[5]}
	token, err := c.writeAuthFiles()
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	if err := c.startEtcd(ctx, bins["etcd"], ports); err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	if err := c.startAPIServer(ctx, bins["kube-apiserver"], ports, token); err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	if err := c.startComponents(bins, ports); err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	if err := c.addNode(ctx); err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	return c, nil
}

// writeAuthFiles writes the admin token file and the ServiceAccount keys.
func (c *Cluster) writeAuthFiles() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	token := hex.EncodeToString(b)
	if err := os.WriteFile(c.path("tokens.csv"), []byte(token+",admin,admin-uid,system:masters\n"), 0o600); err != nil {
		return "", err
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return "", err
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return "", err
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})
	if err := os.WriteFile(c.path("sa.key"), keyPEM, 0o600); err != nil {
		return "", err
	}
	if err := os.WriteFile(c.path("sa.pub"), pubPEM, 0o600); err != nil {
		return "", err
	}
	return token, os.WriteFile(c.path("kwok-stages.yaml"), kwokStages, 0o644)
}

func (c *Cluster) startEtcd(ctx context.Context, bin string, ports clusterPorts) (err error) {
	client := fmt.Sprintf("http://127.0.0.1:%d", ports.etcd)
	peer := fmt.Sprintf("http://127.0.0.1:%d", ports.etcdPeer)
	c.etcd, err = startProc(c.dir, "etcd", baseEnv(), bin,
		"--data-dir", c.path("etcd"),
		"--listen-client-urls", client, "--advertise-client-urls", client,
		"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
		"--initial-cluster", "default="+peer, "--unsafe-no-fsync")
	if err != nil {
		return err
	}
	return c.etcd.waitReady(ctx, 50*time.Millisecond, func(ctx context.Context) error {
		return httpOK(ctx, http.DefaultClient, client+"/health", "")
	})
}

func (c *Cluster) startAPIServer(ctx context.Context, bin string, ports clusterPorts, token string) (err error) {
	c.apiserver, err = startProc(c.dir, "kube-apiserver", baseEnv(), bin,
		fmt.Sprintf("--etcd-servers=http://127.0.0.1:%d", ports.etcd),
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
		"--endpoint-reconciler-type=none", // needed with a loopback advertise address
		"--secure-port="+strconv.Itoa(ports.apiserver), "--cert-dir="+c.path("certs"),
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file="+c.path("sa.pub"),
		"--service-account-signing-key-file="+c.path("sa.key"),
		"--service-cluster-ip-range=10.0.0.0/24",
		"--authorization-mode=RBAC", "--token-auth-file="+c.path("tokens.csv"))
	if err != nil {
		return err
	}
	host := fmt.Sprintf("https://127.0.0.1:%d", ports.apiserver)
	insecure := &http.Client{Transport: &http.Transport{TLSClientConfig: insecureTLS()}}
	// /readyz needs the token: anonymous requests get 401.
	if err := c.apiserver.waitReady(ctx, 100*time.Millisecond, func(ctx context.Context) error {
		return httpOK(ctx, insecure, host+"/readyz", token)
	}); err != nil {
		return err
	}
	// The self-signed serving cert is written with its CA; trust that bundle.
	ca, err := os.ReadFile(c.path("certs", "apiserver.crt"))
	if err != nil {
		return fmt.Errorf("kube-apiserver: %w", err)
	}
	c.config = &rest.Config{
		Host:            host,
		BearerToken:     token,
		TLSClientConfig: rest.TLSClientConfig{CAData: ca},
		QPS:             100,
		Burst:           200,
	}
	if c.client, err = kubernetes.NewForConfig(c.config); err != nil {
		return fmt.Errorf("kube-apiserver: %w", err)
	}
	c.kubeconfig = c.path("admin.kubeconfig")
	return WriteKubeconfig(c.kubeconfig, c.config, "")
}

// startComponents starts the controller-manager, the scheduler and kwok; the
// node they need is added afterwards.
func (c *Cluster) startComponents(bins map[string]string, ports clusterPorts) (err error) {
	kc := "--kubeconfig=" + c.kubeconfig
	c.controllerManager, err = startProc(c.dir, "kube-controller-manager", baseEnv(), bins["kube-controller-manager"],
		kc, "--bind-address=127.0.0.1", "--secure-port="+strconv.Itoa(ports.kcm), "--leader-elect=false",
		"--service-account-private-key-file="+c.path("sa.key"),
		"--controllers=*",
		// An HPA's minReplicas is acted on within a second, not 15.
		"--horizontal-pod-autoscaler-sync-period=1s")
	if err != nil {
		return err
	}
	c.scheduler, err = startProc(c.dir, "kube-scheduler", baseEnv(), bins["kube-scheduler"],
		kc, "--authentication-kubeconfig="+c.kubeconfig, "--authorization-kubeconfig="+c.kubeconfig,
		"--bind-address=127.0.0.1", "--secure-port="+strconv.Itoa(ports.scheduler), "--leader-elect=false")
	if err != nil {
		return err
	}
	c.kwok, err = startProc(c.dir, "kwok", baseEnv(), bins["kwok"],
		"--config="+c.path("kwok-stages.yaml"), kc, "--manage-all-nodes=false",
		"--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
		"--cidr=10.244.0.0/16", "--node-ip=10.1.0.1",
		fmt.Sprintf("--server-address=127.0.0.1:%d", ports.kwok))
	return err
}

// addNode creates the fake node and waits until kwok reports it Ready.
func (c *Cluster) addNode(ctx context.Context) error {
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("32"),
		corev1.ResourceMemory: resource.MustParse("256Gi"),
		corev1.ResourcePods:   resource.MustParse("110"),
	}
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:        NodeName,
			Annotations: map[string]string{"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
			Labels: map[string]string{
				"kubernetes.io/hostname": NodeName, "kubernetes.io/os": "linux",
				"kubernetes.io/arch": "amd64", "type": "kwok",
			},
		},
		Status: corev1.NodeStatus{Capacity: capacity, Allocatable: capacity},
	}
	if _, err := c.client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create node: %w", err)
	}
	return c.kwok.waitReady(ctx, 100*time.Millisecond, func(ctx context.Context) error {
		n, err := c.client.CoreV1().Nodes().Get(ctx, NodeName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		for _, cond := range n.Status.Conditions {
			if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue {
				return nil
			}
		}
		return errors.New("node not Ready")
	})
}

// Stop stops kwok, the scheduler and the controller-manager, kills the
// apiserver, stops etcd and removes the temp dir. It is safe to call twice.
func (c *Cluster) Stop() {
	if c == nil {
		return
	}
	// Clients of the apiserver go first; a SIGTERMed apiserver with live
	// clients can take a minute to drain, so it is killed.
	c.data.stop()
	for _, p := range []*proc{c.kwok, c.scheduler, c.controllerManager} {
		p.stop(syscall.SIGTERM, 5*time.Second)
	}
	c.apiserver.stop(syscall.SIGKILL, 0)
	c.etcd.stop(syscall.SIGTERM, 5*time.Second)
	if c.dir != "" && os.Getenv("BLUEGREEN_KEEP_TESTENV") == "" {
		_ = os.RemoveAll(c.dir)
	}
}

// Config returns a copy of the admin rest.Config (system:masters).
func (c *Cluster) Config() *rest.Config { return rest.CopyConfig(c.config) }

// Client returns an admin clientset.
func (c *Cluster) Client() kubernetes.Interface { return c.client }

// Kubeconfig returns the path of an admin kubeconfig file, for commands run
// by tests (the bluegreen binary, Argo CD).
func (c *Cluster) Kubeconfig() string { return c.kubeconfig }

// Dir returns the cluster's temp dir, which holds each server's log. Set
// BLUEGREEN_KEEP_TESTENV=1 to keep it after Stop.
func (c *Cluster) Dir() string { return c.dir }

func (c *Cluster) path(elem ...string) string {
	return filepath.Join(append([]string{c.dir}, elem...)...)
}

// WriteKubeconfig writes a kubeconfig file for cfg (host, CA and bearer
// token), with namespace as the context's default namespace.
func WriteKubeconfig(path string, cfg *rest.Config, namespace string) error {
	kc := clientcmdapi.NewConfig()
	kc.Clusters["testenv"] = &clientcmdapi.Cluster{
		Server:                   cfg.Host,
		CertificateAuthorityData: cfg.CAData,
		InsecureSkipTLSVerify:    cfg.Insecure,
	}
	kc.AuthInfos["testenv"] = &clientcmdapi.AuthInfo{Token: cfg.BearerToken}
	kc.Contexts["testenv"] = &clientcmdapi.Context{Cluster: "testenv", AuthInfo: "testenv", Namespace: namespace}
	kc.CurrentContext = "testenv"
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		return fmt.Errorf("write kubeconfig: %w", err)
	}
	return nil
}
