package cli

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"gitlab.com/platform/bluegreen/internal/gitlab/gitlabtest"
	"gitlab.com/platform/bluegreen/internal/plan"
	"gitlab.com/platform/bluegreen/internal/testenv"
)

// realEnv holds the cluster and Argo CD this package's real-server tests
// share. They start on first use; TestMain stops them.
var realEnv testenv.Env

func TestMain(m *testing.M) {
	if os.Getenv(asCLI) == "1" { // a child process playing the binary
		os.Exit(Main(context.Background(), os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr))
	}
	testenv.Main(m, &realEnv)
}

const gitlabToken = "glpat-real-sync-token"

// world is one test's slice of the real servers: its own namespace, GitOps
// repo, GitLab fake and Argo CD Application.
type world struct {
	t       testing.TB
	cluster *testenv.Cluster
	argo    *testenv.ArgoCD
	ns      string
	repo    *testenv.GitRepo
	gitlab  *gitlabtest.Server
	app     string
	out     string // BG_OUT
	kube    string // kubeconfig of a ServiceAccount bound only to the shipped Role
}

func newWorld(t testing.TB, repoOpts ...gitlabtest.RepoOption) *world {
	t.Helper()
	return newWorldWithRoles(t, []string{"bluegreen"}, repoOpts...)
}

// newWorldWithRoles is newWorld whose jobs run bound to the shipped Roles named.
func newWorldWithRoles(t testing.TB, roles []string, repoOpts ...gitlabtest.RepoOption) *world {
	t.Helper()
	c := realEnv.Cluster(t)
	a := realEnv.ArgoCD(t)
	w := &world{t: t, cluster: c, argo: a, ns: c.Namespace(t), repo: testenv.NewGitRepo(t), out: filepath.Join(t.TempDir(), ".bluegreen")}
	w.repo.Commit(t, "init", map[string]string{"README.md": "gitops\n"})
	w.gitlab = gitlabtest.New(t, gitlabtest.WithToken(gitlabToken))
	w.gitlab.Repository("platform/gitops", w.repo.Dir(), repoOpts...)
	w.app = "shop-" + w.ns
	a.CreateApplication(t, testenv.Application{Name: w.app, RepoURL: w.repo.URL(), Path: "production/shop", Namespace: w.ns, Recurse: true})
	w.kube = roleKubeconfig(t, c, w.ns, roles...)
	return w
}

func (w *world) env(extra map[string]string) map[string]string {
	e := map[string]string{
		"BG_APP": "shop", "BG_NAMESPACE": w.ns, "BG_ENVIRONMENT": "production", "BG_OUT": w.out,
		"KUBECONFIG":        w.kube,
		"BG_GITLAB_API_URL": w.gitlab.APIURL(), "BG_GITLAB_TOKEN": gitlabToken,
		"BG_GITOPS_PROJECT": "platform/gitops",
		"BG_ARGOCD_SERVER":  w.argo.Addr(), "BG_ARGOCD_TOKEN": w.argo.Token(), "BG_ARGOCD_PLAINTEXT": "true",
		"BG_ARGOCD_APP": w.app, "BG_TIMEOUT": "90s",
		"BG_DRAIN":        "0s", // these worlds have no proxies to wait for
		"CI_PIPELINE_URL": "https://gitlab.example.com/shop/-/pipelines/1",
		// These worlds' pipelines have no verify or approve job, and say so,
		// as pipeline.yml does for the jobs it leaves out.
		"BG_REQUIRE_VERIFICATION": "false", "BG_REQUIRE_APPROVAL": "false",
	}
	for k, v := range extra {
		e[k] = v
	}
	return e
}

// release renders the manifests in dir with image and syncs them.
func (w *world) release(manifests, image string, extra map[string]string) (code int, stdout, stderr string) {
	w.t.Helper()
	env := w.env(extra)
	code, out, errOut := runCLI(w.t, env, "render", "--manifests", manifests, "--image", image)
	if code != 0 {
		w.t.Fatalf("render: exit %d\n%s%s", code, out, errOut)
	}
	return runCLI(w.t, env, "sync")
}

func shopManifests(t testing.TB) string {
	t.Helper()
	return filepath.Join("..", "deploy", "testdata", "shop")
}

func TestSyncReal_FirstThenSecondReleaseIsSyncedHealthyAndPreviewOnlyReachesTarget(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	code, out, errOut := w.release(shopManifests(t), "registry.example.com/shop:1", nil)
	if code != 0 {
		t.Fatalf("first sync: exit %d\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{"committed", "Synced at", "and Healthy", "preflight: preview reaches only blue pods", "sync done in"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	assertPreviewOnly(t, w, "shop-preview", plan.Blue)
	assertActiveSelects(t, w, plan.Blue)

	// The second release renders green against live blue, read from the cluster.
	code, out, errOut = w.release(shopManifests(t), "registry.example.com/shop:2", nil)
	if code != 0 {
		t.Fatalf("second sync: exit %d\n%s\n%s", code, out, errOut)
	}
	p, err := plan.Load(w.out)
	if err != nil {
		t.Fatal(err)
	}
	if p.LiveColor != plan.Blue || p.TargetColor != plan.Green {
		t.Fatalf("second release: live %s target %s", p.LiveColor, p.TargetColor)
	}
	assertPreviewOnly(t, w, "shop-preview", plan.Green)
	assertActiveSelects(t, w, plan.Blue) // no live traffic moved
	dep, err := w.cluster.Client().AppsV1().Deployments(w.ns).Get(context.Background(), "shop-green", metav1.GetOptions{})
	if err != nil || dep.Spec.Template.Spec.Containers[0].Image != "registry.example.com/shop:2" {
		t.Fatalf("green Deployment: %v", err)
	}
	t.Logf("second release log:\n%s", out)

	// A re-run converges without a new commit.
	head := gitHead(t, w)
	code, out, errOut = runCLI(t, w.env(nil), "sync")
	if code != 0 || !strings.Contains(out, "no new commit") || gitHead(t, w) != head {
		t.Fatalf("re-run: exit %d\n%s\n%s", code, out, errOut)
	}
}

// In a GitOps repository shared by several apps, another app's commit can
// land while a sync waits: the Application then compares with that newer
// commit, which holds the same content for this app.
func TestSyncReal_AnotherAppsCommitDuringTheWaitIsNoTimeout(t *testing.T) {
	t.Parallel()
	var w *world
	n := 0
	w = newWorld(t, gitlabtest.AfterCommit(func() {
		n++
		w.repo.Commit(t, "another app", map[string]string{fmt.Sprintf("production/other/app-%d.yaml", n): "kind: ConfigMap\n"})
	}))
	code, out, errOut := w.release(shopManifests(t), "registry.example.com/shop:1", map[string]string{"BG_TIMEOUT": "30s"})
	if code != 0 {
		t.Fatalf("exit %d, want 0\n%s\n%s", code, out, errOut)
	}
	assertPreviewOnly(t, w, "shop-preview", plan.Blue)
}

func TestSyncReal_InvalidManifestFailsWithTheReason(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	// render checks the Service's port (it goes into the plan); only the
	// apiserver checks the target port, so it is Argo CD's sync that fails.
	dir := editedShop(t, "targetPort: 8080", "targetPort: 99999")
	code, out, errOut := w.release(dir, "registry.example.com/shop:1", nil)
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(errOut, "99999") {
		t.Errorf("the error does not carry Argo CD's reason:\n%s", errOut)
	}
}

func TestSyncReal_StuckRolloutTimesOutWithExit3(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	// No node has this label, so the pods stay Pending and the rollout never ends.
	dir := editedShop(t, "      containers:", "      nodeSelector:\n        bluegreen.dev/test: no-such-node\n      containers:")
	start := time.Now()
	code, out, errOut := w.release(dir, "registry.example.com/shop:1", map[string]string{"BG_TIMEOUT": "8s"})
	if code != 3 {
		t.Fatalf("exit %d, want 3\n%s\n%s", code, out, errOut)
	}
	if time.Since(start) > 60*time.Second {
		t.Errorf("the 8s deadline took %s", time.Since(start))
	}
	if !strings.Contains(out, "argocd "+w.app+":") {
		t.Errorf("no progress lines while waiting:\n%s", out)
	}
}

func TestSyncReal_PreflightCatchesAPreviewThatReachesBlue(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	if code, out, errOut := w.release(shopManifests(t), "registry.example.com/shop:1", nil); code != 0 {
		t.Fatalf("first sync: exit %d\n%s\n%s", code, out, errOut)
	}
	// A stray EndpointSlice, as a hand-made one or a broken mesh would leave,
	// sends the preview Service's traffic to a blue pod.
	pods, err := w.cluster.Client().CoreV1().Pods(w.ns).List(context.Background(), metav1.ListOptions{LabelSelector: "bluegreen.dev/color=blue"})
	if err != nil || len(pods.Items) == 0 {
		t.Fatalf("no blue pods: %v", err)
	}
	ready := true
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: "shop-preview-stray", Labels: map[string]string{discoveryv1.LabelServiceName: "shop-preview"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{pods.Items[0].Status.PodIP}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}}},
	}
	if _, err := w.cluster.Client().DiscoveryV1().EndpointSlices(w.ns).Create(context.Background(), slice, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// The proof waits out the deadline before it calls the stray slice a
	// fact; the deadline also leaves a loaded machine's Argo CD room to sync.
	code, out, errOut := w.release(shopManifests(t), "registry.example.com/shop:2", map[string]string{"BG_TIMEOUT": "15s"})
	if code != 1 || !strings.Contains(errOut, "Service reaches pods of another colour") || !strings.Contains(errOut, pods.Items[0].Name) {
		t.Fatalf("exit %d, want 1 naming the blue pod\n%s\n%s", code, out, errOut)
	}
}

func TestSyncReal_DryRunShowsFilesAndLiveDiffAndChangesNothing(t *testing.T) {
	t.Parallel()
	w := newWorldWithRoles(t, []string{"bluegreen", "bluegreen-diff"})
	if code, out, errOut := w.release(shopManifests(t), "registry.example.com/shop:1", nil); code != 0 {
		t.Fatalf("first sync: exit %d\n%s\n%s", code, out, errOut)
	}
	// Nothing changed since the sync: a dry run says so and exits 0.
	code, out, errOut := runCLI(t, w.env(nil), "sync", "--dry-run")
	if code != 0 || !strings.Contains(out, "dry run: no changes") {
		t.Fatalf("dry run after sync: exit %d\n%s\n%s", code, out, errOut)
	}
	head := gitHead(t, w)
	// A new release: the dry run lists the files and the live diff, exits 1,
	// and commits and applies nothing.
	env := w.env(nil)
	if code, out, errOut := runCLI(t, env, "render", "--manifests", shopManifests(t), "--image", "registry.example.com/shop:2"); code != 0 {
		t.Fatalf("render: %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = runCLI(t, env, "sync", "--dry-run")
	if code != 1 {
		t.Fatalf("dry run: exit %d, want 1\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{"create production/shop/green/deployment-shop-green.yaml", "create    Deployment/" + w.ns + "/shop-green", "+        image: registry.example.com/shop:2", "update    Service/" + w.ns + "/shop-preview", "-    bluegreen.dev/color: blue", "+    bluegreen.dev/color: green"} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run output lacks %q:\n%s", want, out)
		}
	}
	if gitHead(t, w) != head {
		t.Error("the dry run committed")
	}
	if _, err := w.cluster.Client().AppsV1().Deployments(w.ns).Get(context.Background(), "shop-green", metav1.GetOptions{}); err == nil {
		t.Error("the dry run created shop-green")
	}
}

// editedShop writes the shop app with its first old replaced by new into a
// temp folder, and returns the folder.
func editedShop(t *testing.T, old, new string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(shopManifests(t), "app.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(data), old, new, 1)
	if edited == string(data) {
		t.Fatalf("app.yaml has no %q", old)
	}
	return manifestsDir(t, map[string]string{"app.yaml": edited})
}

// manifestsDir writes files (name → content) into a new folder.
func manifestsDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func assertPreviewOnly(t *testing.T, w *world, svc string, c plan.Color) {
	t.Helper()
	ctx := context.Background()
	pods, err := w.cluster.Client().CoreV1().Pods(w.ns).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=shop"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, p := range pods.Items {
		if p.Labels["bluegreen.dev/color"] == string(c) && isReady(p) {
			want[p.Status.PodIP] = true
		}
	}
	slices, err := w.cluster.Client().DiscoveryV1().EndpointSlices(w.ns).List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + svc})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, s := range slices.Items {
		for _, e := range s.Endpoints {
			for _, a := range e.Addresses {
				got[a] = true
			}
		}
	}
	if len(want) == 0 || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("%s endpoints %v, want exactly the %s pods %v", svc, got, c, want)
	}
}

func assertActiveSelects(t *testing.T, w *world, c plan.Color) {
	t.Helper()
	svc, err := w.cluster.Client().CoreV1().Services(w.ns).Get(context.Background(), "shop", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := svc.Spec.Selector["bluegreen.dev/color"]; got != string(c) {
		t.Fatalf("active Service selects %q, want %s", got, c)
	}
}

func isReady(p corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

var shaRE = regexp.MustCompile(`^[0-9a-f]{40}$`)

func gitHead(t testing.TB, w *world) string {
	t.Helper()
	sha, err := gitOutput(w.repo.Dir(), "rev-parse", "refs/heads/main")
	if err != nil {
		t.Fatal(err)
	}
	if !shaRE.MatchString(sha) {
		t.Fatalf("bad head %q", sha)
	}
	return sha
}

func gitOutput(dir string, args ...string) (string, error) {
	out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("git %v: %v: %s", args, err, out)
	}
	return strings.TrimSpace(string(out)), nil
}
