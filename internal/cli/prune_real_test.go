package cli

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"gitlab.com/platform/bluegreen/internal/plan"
)

// The tests below prove, on the real cluster and Argo CD, that what
// bluegreen removes from git is pruned — old config copies, a retired
// colour's HorizontalPodAutoscaler — and that nothing else ever is. Their
// app has an HPA, a PodDisruptionBudget, a ConfigMap and a Secret, and each
// release changes its config.

const hpaShopYAML = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop
spec:
  selector:
    matchLabels:
      app.kubernetes.io/name: shop
  template:
    metadata:
      labels:
        app.kubernetes.io/name: shop
    spec:
      containers:
        - name: web
          image: registry.example.com/shop:1
          envFrom:
            - configMapRef:
                name: shop-config
            - secretRef:
                name: shop-secret
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: shop-config
data:
  release: "%[1]s"
---
apiVersion: v1
kind: Secret
metadata:
  name: shop-secret
stringData:
  token: "token-%[1]s"
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: shop
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: shop
  minReplicas: 2
  maxReplicas: 4
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: 70
---
apiVersion: v1
kind: Service
metadata:
  name: shop
spec:
  selector:
    app.kubernetes.io/name: shop
  ports:
    - name: http
      port: 80
      targetPort: 8080
`

// shopExtras are objects an app may carry and later drop: a colour's
// PodDisruptionBudget follows the Deployment, the ServiceAccount passes
// through to shared/.
var shopExtras = map[string]string{
	"pdb.yaml": `apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: shop
spec:
  minAvailable: 1
  selector:
    matchLabels:
      app.kubernetes.io/name: shop
`,
	"serviceaccount.yaml": "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: shop-robot\n",
}

// hpaShop is the app's manifests with its config at release n, and the
// extras unless dropped.
func hpaShop(t *testing.T, n int, drop ...string) string {
	t.Helper()
	files := map[string]string{"app.yaml": fmt.Sprintf(hpaShopYAML, fmt.Sprint(n))}
	for name, doc := range shopExtras {
		if !slices.Contains(drop, name) {
			files[name] = doc
		}
	}
	return manifestsDir(t, files)
}

// releaseN renders and syncs release n without the extras dropped, and
// fails the test unless it exits 0.
func (w *world) releaseN(t *testing.T, n int, drop ...string) (string, time.Duration) {
	t.Helper()
	start := time.Now()
	env := map[string]string{"CI_PIPELINE_ID": fmt.Sprint(10 + n), "CI_PROJECT_PATH": "shop/web"}
	code, out, errOut := w.release(hpaShop(t, n, drop...), fmt.Sprintf("registry.example.com/shop:%d", n), env)
	if code != 0 {
		t.Fatalf("release %d: exit %d\n%s\n%s", n, code, out, errOut)
	}
	return out, time.Since(start)
}

// objects lists the names of the app's objects of kind in the cluster.
func (w *world) objects(t *testing.T, kind string) []string {
	t.Helper()
	ctx := context.Background()
	cs := w.cluster.Client()
	var names []string
	switch kind {
	case "ConfigMap":
		l, err := cs.CoreV1().ConfigMaps(w.ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range l.Items {
			names = append(names, o.Name)
		}
	case "Secret":
		l, err := cs.CoreV1().Secrets(w.ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range l.Items {
			names = append(names, o.Name)
		}
	case "HorizontalPodAutoscaler":
		l, err := cs.AutoscalingV2().HorizontalPodAutoscalers(w.ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range l.Items {
			names = append(names, o.Name)
		}
	case "PodDisruptionBudget":
		l, err := cs.PolicyV1().PodDisruptionBudgets(w.ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range l.Items {
			names = append(names, o.Name)
		}
	case "ServiceAccount":
		l, err := cs.CoreV1().ServiceAccounts(w.ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range l.Items {
			names = append(names, o.Name)
		}
	default:
		t.Fatalf("objects: kind %s", kind)
	}
	var ours []string
	for _, n := range names {
		if strings.HasPrefix(n, "shop") || n == "by-hand" {
			ours = append(ours, n)
		}
	}
	return ours
}

// colourCopies counts the config copies of a colour in the cluster, e.g.
// shop-config-green-<hash>.
func colourCopies(names []string, base string, c plan.Color) []string {
	var out []string
	for _, n := range names {
		if strings.HasPrefix(n, base+"-"+string(c)+"-") {
			out = append(out, n)
		}
	}
	return out
}

func TestPruneReal_ReleasesWithConfigChangesPruneTheOldCopiesAndSyncAsFastAsTheFirst(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	_, first := w.releaseN(t, 1) // blue, first release
	w.releaseN(t, 2)             // green
	if code, out, errOut := w.run("promote", nil); code != 0 {
		t.Fatalf("promote: exit %d\n%s\n%s", code, out, errOut)
	}
	// The third release goes to blue, whose config changes: its old copies
	// leave git in the same commit and must leave the cluster too.
	out, third := w.releaseN(t, 3)
	if !strings.Contains(out, "pruning") || !strings.Contains(out, "shop-config-blue-") {
		t.Errorf("release 3 log names no pruned copy:\n%s", out)
	}
	// A fix pushed on top of the unpromoted blue changes its config again.
	_, fourth := w.releaseN(t, 4)
	t.Logf("sync durations: first %s, third %s, fourth (on top of an unpromoted colour) %s", first, third, fourth)

	for _, kind := range []string{"ConfigMap", "Secret"} {
		base := map[string]string{"ConfigMap": "shop-config", "Secret": "shop-secret"}[kind]
		names := w.objects(t, kind)
		if got := colourCopies(names, base, plan.Blue); len(got) != 1 {
			t.Errorf("%s copies of blue: %v, want only release 4's", kind, got)
		}
		if got := colourCopies(names, base, plan.Green); len(got) != 1 {
			t.Errorf("%s copies of live green: %v, want release 2's, untouched", kind, got)
		}
	}
	cm := colourCopies(w.objects(t, "ConfigMap"), "shop-config", plan.Blue)
	if len(cm) == 1 {
		got, err := w.cluster.Client().CoreV1().ConfigMaps(w.ns).Get(context.Background(), cm[0], metav1.GetOptions{})
		if err != nil || got.Data["release"] != "4" {
			t.Errorf("blue's config: %v %v, want release 4", got.Data, err)
		}
	}
	assertActiveSelects(t, w, plan.Green)

	// Release 5 drops the PodDisruptionBudget and the shared
	// ServiceAccount: blue's PDB and the ServiceAccount go, live green's
	// PDB stays.
	out, _ = w.releaseN(t, 5, "pdb.yaml", "serviceaccount.yaml")
	if got := w.objects(t, "PodDisruptionBudget"); strings.Join(got, ",") != "shop-green" {
		t.Errorf("PDBs after release 5: %v, want only live green's\n%s", got, out)
	}
	if got := w.objects(t, "ServiceAccount"); len(got) != 0 {
		t.Errorf("ServiceAccounts after release 5: %v, want the dropped one pruned", got)
	}
}

func TestPruneReal_RollbackOfAnHPAAppExitsZeroAndLeavesNoHPAForTheRetiredColour(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.releaseN(t, 1)
	w.releaseN(t, 2)
	if code, out, errOut := w.run("promote", nil); code != 0 {
		t.Fatalf("promote: exit %d\n%s\n%s", code, out, errOut)
	}
	start := time.Now()
	code, out, errOut := w.run("rollback", nil)
	if code != 0 {
		t.Fatalf("rollback: exit %d\n%s\n%s", code, out, errOut)
	}
	t.Logf("rollback took %s:\n%s", time.Since(start), out)
	if hpas := w.objects(t, "HorizontalPodAutoscaler"); strings.Join(hpas, ",") != "shop-blue" {
		t.Errorf("HPAs after rollback: %v, want only shop-blue", hpas)
	}
	if n := w.replicas(t, "shop-green"); n != 0 {
		t.Errorf("shop-green has %d replicas, want 0", n)
	}
	assertActiveSelects(t, w, plan.Blue)
	// A re-run finds nothing left to prune and converges.
	if code, out, errOut := w.run("rollback", nil); code != 0 {
		t.Fatalf("rollback re-run: exit %d\n%s\n%s", code, out, errOut)
	}
}

func TestPruneReal_FastRollbackThenDriftFixPrunesTheHPAAndTheNextDriftIsClean(t *testing.T) {
	t.Parallel()
	w := driftWorld(t)
	w.releaseN(t, 1)
	w.releaseN(t, 2)
	if code, out, errOut := w.run("promote", nil); code != 0 {
		t.Fatalf("promote: exit %d\n%s\n%s", code, out, errOut)
	}
	if code, out, errOut := w.run("rollback", map[string]string{"BG_ARGOCD_SERVER": "127.0.0.1:1"}); code != 0 || !strings.Contains(out, "fast path") {
		t.Fatalf("fast rollback: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, r := w.drift(t, nil, "--fix")
	if code != 0 || len(r.Fixes) != 1 || r.Fixes[0].Status != "done" {
		t.Fatalf("--fix: exit %d, fixes %+v\n%s", code, r.Fixes, out)
	}
	if hpas := w.objects(t, "HorizontalPodAutoscaler"); strings.Join(hpas, ",") != "shop-blue" {
		t.Errorf("HPAs after --fix: %v, want only shop-blue", hpas)
	}
	code, out, r = w.drift(t, nil)
	if code != 0 {
		t.Fatalf("drift after --fix: exit %d, want 0\n%s", code, out)
	}
	for _, c := range r.Apps[0].Checks {
		if d := c.Dangerous(); len(d) > 0 {
			t.Errorf("%s still dangerous: %+v", c.Name, d)
		}
	}
}

func TestPruneReal_AnObjectAddedToTheApplicationByHandIsNeverPruned(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.releaseN(t, 1)
	w.releaseN(t, 2)
	// Someone adds a ConfigMap to the Application by hand: it carries the
	// app's tracking annotation, so Argo CD tracks it though git lacks it.
	ctx := context.Background()
	svc, err := w.cluster.Client().CoreV1().Services(w.ns).Get(ctx, "shop", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	id := svc.Annotations["argocd.argoproj.io/tracking-id"]
	if id == "" {
		t.Fatalf("the active Service has no tracking annotation: %v", svc.Annotations)
	}
	app, _, _ := strings.Cut(id, ":")
	byHand := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "by-hand", Namespace: w.ns,
		Annotations: map[string]string{"argocd.argoproj.io/tracking-id": app + ":/ConfigMap:" + w.ns + "/by-hand"}}}
	if _, err := w.cluster.Client().CoreV1().ConfigMaps(w.ns).Create(ctx, byHand, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Release 3 to green (unpromoted) removes green's old config copies:
	// those are pruned, the hand-made object is not, and the job says so.
	env := map[string]string{"CI_PIPELINE_ID": "13", "CI_PROJECT_PATH": "shop/web"}
	start := time.Now()
	code, out, errOut := w.release(hpaShop(t, 3), "registry.example.com/shop:3", env)
	if code != 1 {
		t.Fatalf("release 3 with a hand-made object: exit %d, want 1\n%s\n%s", code, out, errOut)
	}
	t.Logf("refused in %s:\n%s", time.Since(start), errOut)
	for _, want := range []string{"ConfigMap " + w.ns + "/by-hand", "did not remove", "--prune --resource"} {
		if !strings.Contains(out+errOut, want) {
			t.Errorf("the job's output lacks %q:\n%s\n%s", want, out, errOut)
		}
	}
	if _, err := w.cluster.Client().CoreV1().ConfigMaps(w.ns).Get(ctx, "by-hand", metav1.GetOptions{}); err != nil {
		t.Fatalf("the hand-made ConfigMap was deleted: %v", err)
	}
	if got := colourCopies(w.objects(t, "ConfigMap"), "shop-config", plan.Green); len(got) != 1 {
		t.Errorf("green's config copies: %v, want release 3's only", got)
	}
	// Its owner removes it; the re-run makes no commit and converges.
	if err := w.cluster.Client().CoreV1().ConfigMaps(w.ns).Delete(ctx, "by-hand", metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	if code, out, errOut := runCLI(t, w.env(env), "sync"); code != 0 || !strings.Contains(out, "no new commit") {
		t.Fatalf("re-run: exit %d\n%s\n%s", code, out, errOut)
	}
}
