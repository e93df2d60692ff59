package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"

	"gitlab.com/platform/bluegreen/internal/gitlab/gitlabtest"
	"gitlab.com/platform/bluegreen/internal/testenv"
)

// doctorChecks has one check with data for blue (the live colour after a
// first release) and, for the no-data case, one on a metric only green has.
const doctorChecks = `window: 2m
interval: 1m
checks:
  - name: error-rate
    query: max(shop_errors{app="{{.App}}",namespace="{{.Namespace}}",color="{{.Color}}"})
    max: 0.05
`

const doctorNoData = `
  - name: latency
    query: max(shop_latency{app="{{.App}}",color="{{.Color}}"})
    max: 0.5
`

// doctorHistory is OpenMetrics for the last ten minutes: errors for blue,
// latency for green only.
func doctorHistory(ns string) string {
	var b strings.Builder
	b.WriteString("# TYPE shop_errors gauge\n")
	now := time.Now().Add(-5 * time.Second).Unix()
	for t := now - 600; t <= now; t += 15 {
		fmt.Fprintf(&b, "shop_errors{app=\"shop\",namespace=%q,color=\"blue\"} 0.01 %d\n", ns, t)
	}
	b.WriteString("# TYPE shop_latency gauge\n")
	for t := now - 600; t <= now; t += 15 {
		fmt.Fprintf(&b, "shop_latency{app=\"shop\",color=\"green\"} 0.2 %d\n", t)
	}
	b.WriteString("# EOF\n")
	return b.String()
}

// TestDoctorReal_FindsEachBrokenPrerequisiteAndPassesACorrectSetUp runs
// doctor against the real cluster, Argo CD and Prometheus: a correct
// set-up exits 0; a Role without patch on services, an Application with
// self-heal on and a query with no data for the live colour each exit 1,
// naming the item and its fix; and no run changes anything.
func TestDoctorReal_FindsEachBrokenPrerequisiteAndPassesACorrectSetUp(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	if code, out, errOut := w.release(shopManifests(t), "registry.example.com/shop:1", nil); code != 0 {
		t.Fatalf("release: exit %d\n%s\n%s", code, out, errOut)
	}
	w.gitlab.TokenSelf(gitlabtest.Token{Name: "gitops", Scopes: []string{"api"}, UserID: 7})
	w.gitlab.Project(gitlabtest.Project{PathWithNamespace: "platform/gitops", ProjectAccess: gitlabtest.Maintainer})
	w.gitlab.ProtectedBranches("platform/gitops", gitlabtest.Maintainer, gitlabtest.Developer, gitlabtest.ProtectedBranch{Name: "main", Push: []int{gitlabtest.Maintainer}})
	p := testenv.NewPrometheus(t, testenv.PrometheusOptions{History: doctorHistory(w.ns)})
	dir := t.TempDir()
	good, nodata := filepath.Join(dir, "checks.yaml"), filepath.Join(dir, "nodata.yaml")
	os.WriteFile(good, []byte(doctorChecks), 0o644)
	os.WriteFile(nodata, []byte(doctorChecks+doctorNoData), 0o644)
	env := map[string]string{"BG_PROMETHEUS_URL": p.URL(), "BG_CHECKS": good}
	writes := func() int {
		n := 0
		for _, r := range w.gitlab.Requests() {
			if r.Method != "GET" {
				n++
			}
		}
		return n
	}
	before := writes()

	doctorRun := func(t *testing.T, extra map[string]string) (int, string) {
		t.Helper()
		e := map[string]string{}
		for k, v := range env {
			e[k] = v
		}
		for k, v := range extra {
			e[k] = v
		}
		code, out, errOut := w.run("doctor", e)
		t.Logf("doctor: exit %d\n%s%s", code, out, errOut)
		if writes() != before {
			t.Errorf("doctor wrote to GitLab")
		}
		return code, out
	}

	t.Run("a correct set-up", func(t *testing.T) {
		code, out := doctorRun(t, nil)
		if code != 0 || strings.Contains(out, "FIX") {
			t.Fatalf("exit %d, want 0 with nothing to fix", code)
		}
		for _, want := range []string{"services: get, list, patch: allowed", "Service shop: live colour blue", "Deployment shop-blue", "Lease bluegreen-shop",
			"push to main: allowed", "can-i sync applications default/" + w.app + ": yes", "syncPolicy.automated.selfHeal: off",
			"check error-rate: one series for blue", "slack (", "skip"} {
			if !strings.Contains(out, want) {
				t.Errorf("checklist lacks %q", want)
			}
		}
		if _, err := os.Stat(filepath.Join(w.out, "doctor.junit.xml")); err != nil {
			t.Errorf("no JUnit report: %v", err)
		}
		assertMasked(t, "doctor's output", gitlabToken, out)
		assertMasked(t, "doctor's output", w.argo.Token(), out)
	})

	t.Run("a Role without patch on services", func(t *testing.T) {
		rules := shippedRules(t, "bluegreen")
		var cut []rbacv1.PolicyRule
		for _, r := range rules {
			r = *r.DeepCopy()
			if len(r.Resources) == 1 && r.Resources[0] == "services" {
				r.Verbs = []string{"get", "list"}
			}
			cut = append(cut, r)
		}
		cfg, err := w.cluster.ServiceAccountConfig(context.Background(), w.ns, "bluegreen-nopatch", cut)
		if err != nil {
			t.Fatal(err)
		}
		kc := filepath.Join(t.TempDir(), "kubeconfig")
		if err := testenv.WriteKubeconfig(kc, cfg, w.ns); err != nil {
			t.Fatal(err)
		}
		code, out := doctorRun(t, map[string]string{"KUBECONFIG": kc})
		if code != 1 || !strings.Contains(out, "FIX   services: get, list, patch: denied: patch services") || !strings.Contains(out, "apply templates/kubernetes/rbac.yaml") {
			t.Fatalf("exit %d; want 1 naming patch services and its fix", code)
		}
	})

	t.Run("an Application with self-heal on", func(t *testing.T) {
		dyn, err := dynamic.NewForConfig(w.cluster.Config())
		if err != nil {
			t.Fatal(err)
		}
		apps := dyn.Resource(schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "applications"}).Namespace(testenv.ArgoCDNamespace)
		patch := func(body string) {
			if _, err := apps.Patch(context.Background(), w.app, types.MergePatchType, []byte(body), metav1.PatchOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		patch(`{"spec":{"syncPolicy":{"automated":{"selfHeal":true}}}}`)
		defer patch(`{"spec":{"syncPolicy":null}}`)
		code, out := doctorRun(t, nil)
		if code != 1 || !strings.Contains(out, "FIX   syncPolicy.automated.selfHeal: on") || !strings.Contains(out, "selfHeal: false") {
			t.Fatalf("exit %d; want 1 naming self-heal and its fix", code)
		}
	})

	t.Run("a query with no data for the live colour", func(t *testing.T) {
		code, out := doctorRun(t, map[string]string{"BG_CHECKS": nodata})
		if code != 1 || !strings.Contains(out, "FIX   check latency: no data for the live colour blue") || !strings.Contains(out, "check error-rate: one series") {
			t.Fatalf("exit %d; want 1 naming the latency check", code)
		}
	})
}
