package testenv

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
)

// ArgoCDNamespace is where Argo CD's config and Applications live.
const ArgoCDNamespace = "argocd"

// InClusterServer is the destination server of Applications that deploy to
// the cluster Argo CD runs over.
const InClusterServer = "https://kubernetes.default.svc"

var (
	applicationGVR = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "applications"}
	appProjectGVR  = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "appprojects"}
	crdGVR         = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
)

// ArgoCD is a running Argo CD (Redis, repo-server, application-controller
// and server) over a Cluster, logged in as admin.
type ArgoCD struct {
	dir     string
	addr    string
	token   string
	cluster *Cluster
	dyn     dynamic.Interface

	redis, repoServer, controller, server *proc
}

type argoPorts struct{ redis, repo, repoMetrics, controllerMetrics, server, serverMetrics int }

// StartArgoCD installs Argo CD's CRDs and base config into c, starts its
// servers and logs in as admin through the real session API. It must run
// inside a private network namespace (see Main): the application-controller
// listens on 0.0.0.0. Call Stop when done.
func StartArgoCD(ctx context.Context, c *Cluster) (_ *ArgoCD, err error) {
	bin, err := cached(filepath.Join(argocdDir(), "bin"), "argocd")
	if err != nil {
		return nil, err
	}
	for _, w := range []string{"git-verify-wrapper.sh", "gpg-wrapper.sh"} {
		if _, err := cached(filepath.Join(argocdDir(), "bin"), w); err != nil {
			return nil, err
		}
	}
	redis, err := onPath("redis-server")
	if err != nil {
		return nil, err
	}
	if _, err := onPath("git"); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "bluegreen-argocd-")
	if err != nil {
		return nil, fmt.Errorf("argocd: %w", err)
	}
	a := &ArgoCD{dir: dir, cluster: c}
	defer func() {
		if err != nil {
			a.Stop()
		}
	}()
	if a.dyn, err = dynamic.NewForConfig(c.config); err != nil {
		return nil, fmt.Errorf("argocd: %w", err)
	}
	p, err := freePorts(6)
	if err != nil {
		return nil, fmt.Errorf("argocd: %w", err)
	}
	ports := argoPorts{p[0], p[1], p[2], p[3], p[4], p[5]}
	if err := a.startRedis(ctx, redis, ports.redis); err != nil {
		return nil, fmt.Errorf("argocd: %w", err)
	}
	password, err := a.install(ctx)
	if err != nil {
		return nil, fmt.Errorf("argocd: %w", err)
	}
	if err := a.startServers(ctx, bin, ports); err != nil {
		return nil, fmt.Errorf("argocd: %w", err)
	}
	if err := a.login(ctx, password); err != nil {
		return nil, fmt.Errorf("argocd: %w", err)
	}
	return a, nil
}

func (a *ArgoCD) startRedis(ctx context.Context, bin string, port int) (err error) {
	a.redis, err = startProc(a.dir, "redis", baseEnv(), bin,
		"--bind", "127.0.0.1", "--port", strconv.Itoa(port), "--save", "", "--appendonly", "no")
	if err != nil {
		return err
	}
	return a.redis.waitReady(ctx, 20*time.Millisecond, func(ctx context.Context) error {
		return redisPing(ctx, fmt.Sprintf("127.0.0.1:%d", port))
	})
}

func redisPing(ctx context.Context, addr string) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return fmt.Errorf("redis PING: %q", line)
	}
	return nil
}

// install applies the Application and AppProject CRDs and the base config
// (copied by setup.sh from the argo-cd module), and sets a fresh admin
// password, which it returns.
func (a *ArgoCD) install(ctx context.Context) (string, error) {
	manifests := filepath.Join(argocdDir(), "manifests")
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ArgoCDNamespace}}
	if _, err := a.cluster.client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return "", fmt.Errorf("namespace %s: %w", ArgoCDNamespace, err)
	}
	for _, crd := range []string{"application-crd.yaml", "appproject-crd.yaml"} {
		if err := a.applyFile(ctx, filepath.Join(manifests, "crds", crd)); err != nil {
			return "", err
		}
	}
	if err := waitCRDs(ctx, a.dyn, "applications.argoproj.io", "appprojects.argoproj.io"); err != nil {
		return "", err
	}
	// base/config's kustomization only lists resources, so apply each file.
	files, err := filepath.Glob(filepath.Join(manifests, "base", "config", "argocd-*.yaml"))
	if err != nil || len(files) == 0 {
		return "", fmt.Errorf("no base config in %s: run %s", manifests, SetupCommand)
	}
	for _, f := range files {
		if err := a.applyFile(ctx, f); err != nil {
			return "", err
		}
	}
	patch, err := json.Marshal(map[string]any{"data": map[string]string{hpaHealthKey: hpaHealth}})
	if err != nil {
		return "", err
	}
	if _, err := a.cluster.client.CoreV1().ConfigMaps(ArgoCDNamespace).Patch(ctx, "argocd-cm", types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		return "", fmt.Errorf("argocd-cm health customization: %w", err)
	}
	return a.setAdminPassword(ctx)
}

// hpaHealth is a test-only health check for HorizontalPodAutoscalers. The
// test cluster has no metrics API, so Argo CD's built-in check calls every
// HPA Degraded (it cannot read a metric) and an app with one never becomes
// Healthy. Production clusters have metrics and keep the built-in check.
const (
	hpaHealthKey = "resource.customizations.health.autoscaling_HorizontalPodAutoscaler"
	hpaHealth    = `return {status = "Healthy", message = "test cluster: no metrics API, so HPA health is not judged"}` + "\n"
)

func (a *ArgoCD) applyFile(ctx context.Context, path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("%w: run %s", err, SetupCommand)
	}
	return a.cluster.Apply(ctx, ArgoCDNamespace, b)
}

// waitCRDs waits until each named CRD is Established.
func waitCRDs(ctx context.Context, dyn dynamic.Interface, names ...string) error {
	for _, name := range names {
		err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
			crd, err := dyn.Resource(crdGVR).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
			for _, c := range conds {
				m, _ := c.(map[string]any)
				if m["type"] == "Established" && m["status"] == "True" {
					return true, nil
				}
			}
			return false, nil
		})
		if err != nil {
			return fmt.Errorf("crd %s not established: %w", name, err)
		}
	}
	return nil
}

// setAdminPassword stores a bcrypt hash of a random password in
// argocd-secret, as `argocd account update-password` would.
func (a *ArgoCD) setAdminPassword(ctx context.Context) (string, error) {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	password := hex.EncodeToString(b)
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		return "", err
	}
	secrets := a.cluster.client.CoreV1().Secrets(ArgoCDNamespace)
	s, err := secrets.Get(ctx, "argocd-secret", metav1.GetOptions{})
	if err != nil {
		return "", fmt.Errorf("argocd-secret: %w", err)
	}
	if s.Data == nil {
		s.Data = map[string][]byte{}
	}
	s.Data["admin.password"] = hash
	s.Data["admin.passwordMtime"] = []byte(time.Now().UTC().Format(time.RFC3339))
	if _, err := secrets.Update(ctx, s, metav1.UpdateOptions{FieldManager: fieldManager}); err != nil {
		return "", fmt.Errorf("argocd-secret: %w", err)
	}
	return password, nil
}

// startServers starts the repo-server, the application-controller and the
// server, and waits until each listens.
func (a *ArgoCD) startServers(ctx context.Context, bin string, ports argoPorts) error {
	env, err := a.serverEnv()
	if err != nil {
		return err
	}
	redis := fmt.Sprintf("127.0.0.1:%d", ports.redis)
	repo := fmt.Sprintf("127.0.0.1:%d", ports.repo)
	a.addr = fmt.Sprintf("127.0.0.1:%d", ports.server)
	start := func(role string, args ...string) (*proc, error) {
		return startProc(a.dir, role, append(env, "ARGOCD_BINARY_NAME="+role), bin, args...)
	}
	if a.repoServer, err = start("argocd-repo-server",
		"--address", "127.0.0.1", "--port", strconv.Itoa(ports.repo),
		"--metrics-address", "127.0.0.1", "--metrics-port", strconv.Itoa(ports.repoMetrics),
		"--redis", redis); err != nil {
		return err
	}
	// The controller's metrics listener is hard-wired to 0.0.0.0: inside the
	// private network namespace that is loopback only.
	if a.controller, err = start("argocd-application-controller",
		"--redis", redis, "--repo-server", repo, "--metrics-port", strconv.Itoa(ports.controllerMetrics)); err != nil {
		return err
	}
	if a.server, err = start("argocd-server", "--insecure",
		"--address", "127.0.0.1", "--port", strconv.Itoa(ports.server),
		"--metrics-address", "127.0.0.1", "--metrics-port", strconv.Itoa(ports.serverMetrics),
		"--redis", redis, "--repo-server", repo); err != nil {
		return err
	}
	if err := a.repoServer.waitReady(ctx, 50*time.Millisecond, dialCheck(repo)); err != nil {
		return err
	}
	if err := a.controller.waitReady(ctx, 50*time.Millisecond, dialCheck(fmt.Sprintf("127.0.0.1:%d", ports.controllerMetrics))); err != nil {
		return err
	}
	return a.server.waitReady(ctx, 50*time.Millisecond, func(ctx context.Context) error {
		if err := httpOK(ctx, http.DefaultClient, "http://"+a.addr+"/healthz", ""); err != nil {
			return err
		}
		// The server creates the default project at start.
		_, err := a.dyn.Resource(appProjectGVR).Namespace(ArgoCDNamespace).Get(ctx, "default", metav1.GetOptions{})
		return err
	})
}

// serverEnv is the environment of the Argo CD servers: the cluster's
// kubeconfig in namespace argocd, GPG off, private data dirs, its own TMPDIR
// (the repo-server clones into $TMPDIR/_argocd-repo), and the two wrapper
// scripts the 3.6 repo-server always calls on PATH.
func (a *ArgoCD) serverEnv() ([]string, error) {
	dirs := map[string]string{}
	for _, d := range []string{"tmp", "home", "tls", "ssh", "gnupg"} {
		dirs[d] = filepath.Join(a.dir, d)
		if err := os.MkdirAll(dirs[d], 0o700); err != nil {
			return nil, err
		}
	}
	kubeconfig := filepath.Join(a.dir, "kubeconfig")
	if err := WriteKubeconfig(kubeconfig, a.cluster.config, ArgoCDNamespace); err != nil {
		return nil, err
	}
	env := baseEnv(
		"KUBECONFIG="+kubeconfig,
		"ARGOCD_FAKE_IN_CLUSTER=true",
		"ARGOCD_GPG_ENABLED=false",
		"ARGOCD_TLS_DATA_PATH="+dirs["tls"],
		"ARGOCD_SSH_DATA_PATH="+dirs["ssh"],
		"ARGOCD_GNUPGHOME="+dirs["gnupg"],
		"TMPDIR="+dirs["tmp"],
		"HOME="+dirs["home"],
		"PATH="+filepath.Join(argocdDir(), "bin")+string(os.PathListSeparator)+os.Getenv("PATH"),
	)
	return env, nil
}

func dialCheck(addr string) func(context.Context) error {
	return func(ctx context.Context) error {
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return err
		}
		return conn.Close()
	}
}

// login gets an admin session token with POST /api/v1/session.
func (a *ArgoCD) login(ctx context.Context, password string) error {
	body, _ := json.Marshal(map[string]string{"username": "admin", "password": password})
	return a.server.waitReady(ctx, 200*time.Millisecond, func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+a.addr+"/api/v1/session", bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		var out struct {
			Token   string `json:"token"`
			Message string `json:"message"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK || out.Token == "" {
			return fmt.Errorf("login: %s %s %v", resp.Status, out.Message, err)
		}
		a.token = out.Token
		return nil
	})
}

// Addr is the server's host:port. It speaks plaintext gRPC and HTTP
// (--insecure), so clients use PlainText.
func (a *ArgoCD) Addr() string { return a.addr }

// Token is an admin session token from a real login.
func (a *ArgoCD) Token() string { return a.token }

// Dir returns Argo CD's temp dir, which holds each server's log.
func (a *ArgoCD) Dir() string { return a.dir }

// Application describes an Argo CD Application with a manual sync policy.
type Application struct {
	Name           string
	RepoURL        string // e.g. GitRepo.URL()
	Path           string // folder in the repository; "." for the root
	TargetRevision string // "" means HEAD
	Namespace      string // destination namespace in the cluster
	Recurse        bool   // also read manifests in subfolders of Path
}

// CreateApplication creates app in the argocd namespace, deploying to the
// cluster Argo CD runs over, and deletes it (not its resources) when the
// test ends.
func (a *ArgoCD) CreateApplication(tb testing.TB, app Application) {
	tb.Helper()
	rev := app.TargetRevision
	if rev == "" {
		rev = "HEAD"
	}
	source := map[string]any{"repoURL": app.RepoURL, "path": app.Path, "targetRevision": rev}
	if app.Recurse {
		source["directory"] = map[string]any{"recurse": true}
	}
	obj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "argoproj.io/v1alpha1",
		"kind":       "Application",
		"metadata":   map[string]any{"name": app.Name, "namespace": ArgoCDNamespace},
		"spec": map[string]any{
			"project":     "default",
			"source":      source,
			"destination": map[string]any{"server": InClusterServer, "namespace": app.Namespace},
		},
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	apps := a.dyn.Resource(applicationGVR).Namespace(ArgoCDNamespace)
	if _, err := apps.Create(ctx, obj, metav1.CreateOptions{FieldManager: fieldManager}); err != nil {
		tb.Fatalf("create application %s: %v", app.Name, err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := apps.Delete(ctx, app.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			tb.Logf("delete application %s: %v", app.Name, err)
		}
	})
}

// Stop stops the server, the controller, the repo-server and Redis, and
// removes the temp dir. The cluster keeps running. It is safe to call twice.
func (a *ArgoCD) Stop() {
	if a == nil {
		return
	}
	for _, p := range []*proc{a.server, a.controller, a.repoServer, a.redis} {
		p.stop(syscall.SIGTERM, 5*time.Second)
	}
	if a.dir != "" && os.Getenv("BLUEGREEN_KEEP_TESTENV") == "" {
		_ = os.RemoveAll(a.dir)
	}
}
