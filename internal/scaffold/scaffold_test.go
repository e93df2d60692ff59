package scaffold

import (
	"bytes"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"

	"gitlab.com/platform/bluegreen/internal/outcome"
	"gitlab.com/platform/bluegreen/internal/plan"
	"gitlab.com/platform/bluegreen/internal/render"
	"gitlab.com/platform/bluegreen/internal/verify"
	"gitlab.com/platform/bluegreen/templates/kubernetes"
)

// testSpec is a valid Spec, as config.Init would give it.
func testSpec(metrics string) Spec {
	return Spec{
		App: "checkout", Environment: "production", Namespace: "shop",
		Manifests: "deploy/k8s", Image: "$CI_REGISTRY_IMAGE:$CI_COMMIT_SHORT_SHA",
		GitOps: GitOps{Project: "platform/gitops", Branch: "main", Path: "production/checkout"},
		ArgoCD: ArgoCD{Server: "argocd.example.com:443", App: "checkout-production", Project: "shop",
			RepoURL: "https://gitlab.example.com/platform/gitops.git", Namespace: "argocd",
			Account: "bluegreen-checkout", Destination: "https://kubernetes.default.svc"},
		PrometheusURL: "http://prometheus.monitoring:9090", Metrics: metrics, Checks: "deploy/checks.yaml",
		SlackChannel: "#deploys", Component: "$CI_SERVER_FQDN/platform/bluegreen/pipeline", ComponentVersion: "1.4.0",
	}
}

var testApp = App{Namespace: "shop", Workload: plan.Workload{Kind: "Deployment", Name: "checkout", Colored: "checkout-blue", Container: "app",
	Services: []plan.ServicePair{{Active: "checkout", Preview: "checkout-preview", Port: 80}}}}

func generate(t *testing.T, s Spec) map[string][]byte {
	t.Helper()
	files, err := Generate(s, testApp)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, f := range files {
		out[f.Path] = f.Data
	}
	return out
}

func TestGenerate_StarterChecksLoadWithTheRealLoaderForEveryFamily(t *testing.T) {
	t.Parallel()
	for _, fam := range FamilyNames() {
		s := testSpec(fam)
		data := generate(t, s)["app-repo/deploy/checks.yaml"]
		cs, err := verify.ParseChecks("checks.yaml", data)
		if err != nil {
			t.Fatalf("%s: the starter checks do not load: %v\n%s", fam, err, data)
		}
		var names []string
		for _, c := range cs.Checks {
			names = append(names, c.Name)
			q, err := c.Render("checkout", "shop", plan.Green, time.Minute)
			if err != nil {
				t.Fatalf("%s: %s: %v", fam, c.Name, err)
			}
			if !strings.Contains(q, `"green"`) && !strings.Contains(q, `-green"`) {
				t.Errorf("%s: %s does not select green: %s", fam, c.Name, q)
			}
			if strings.Contains(q, "{{") {
				t.Errorf("%s: %s left a template action: %s", fam, c.Name, q)
			}
			if !c.Critical || c.Window != 10*time.Minute || c.Interval != time.Minute || c.NoData != verify.Fail {
				t.Errorf("%s: %s: critical %v, window %s, interval %s, no-data %s", fam, c.Name, c.Critical, c.Window, c.Interval, c.NoData)
			}
		}
		if got := strings.Join(names, ","); got != "error-rate,latency-p99,request-rate" {
			t.Errorf("%s: checks %s", fam, got)
		}
		if rate := cs.Checks[2]; rate.When != verify.AfterSwitch || rate.Compare == nil || rate.Compare.MaxDecrease == nil {
			t.Errorf("%s: request-rate runs %s with %+v, want after the switch against the live colour", fam, rate.When, rate.Compare)
		}
	}
}

func TestGenerate_IstioChecksNameTheColouredWorkload(t *testing.T) {
	t.Parallel()
	data := generate(t, testSpec("istio"))["app-repo/deploy/checks.yaml"]
	cs, err := verify.ParseChecks("checks.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	q, _ := cs.Checks[0].Render("checkout", "shop", plan.Blue, time.Minute)
	for _, want := range []string{`destination_workload="checkout-blue"`, `destination_workload_namespace="shop"`, `reporter="destination"`, `response_code=~"5.."`, "or vector(0)"} {
		if !strings.Contains(q, want) {
			t.Errorf("error-rate lacks %s: %s", want, q)
		}
	}
}

func TestGenerate_RBACIsTheShippedRoleInTheAppsNamespace(t *testing.T) {
	t.Parallel()
	data := generate(t, testSpec("http"))[RBACFile]
	shipped := decodeRoles(t, kubernetes.RBAC)
	docs := bytes.Split(data, []byte("\n---\n"))
	if len(docs) != 4 {
		t.Fatalf("%d documents, want 4 as in the shipped rbac.yaml", len(docs))
	}
	var sa corev1.ServiceAccount
	if err := yaml.UnmarshalStrict(docs[0], &sa); err != nil || sa.Name != "bluegreen" || sa.Namespace != "shop" {
		t.Fatalf("ServiceAccount %s/%s: %v", sa.Namespace, sa.Name, err)
	}
	var role rbacv1.Role
	if err := yaml.UnmarshalStrict(docs[1], &role); err != nil || role.Namespace != "shop" {
		t.Fatalf("Role in %q: %v", role.Namespace, err)
	}
	if !reflect.DeepEqual(role.Rules, shipped["bluegreen"].Rules) || len(role.Rules) == 0 {
		t.Errorf("the Role's rules differ from the shipped Role's:\n%+v\n%+v", role.Rules, shipped["bluegreen"].Rules)
	}
	var rb rbacv1.RoleBinding
	if err := yaml.UnmarshalStrict(docs[2], &rb); err != nil || rb.Namespace != "shop" || rb.RoleRef.Name != "bluegreen" || rb.Subjects[0].Name != "bluegreen" {
		t.Fatalf("RoleBinding %+v: %v", rb, err)
	}
	var tok corev1.Secret
	if err := yaml.UnmarshalStrict(generate(t, testSpec("http"))[TokenFile], &tok); err != nil ||
		tok.Type != corev1.SecretTypeServiceAccountToken || tok.Namespace != "shop" || tok.Annotations[corev1.ServiceAccountNameKey] != "bluegreen" {
		t.Fatalf("token Secret %+v: %v", tok, err)
	}
}

func decodeRoles(t *testing.T, data []byte) map[string]rbacv1.Role {
	t.Helper()
	out := map[string]rbacv1.Role{}
	for _, doc := range bytes.Split(data, []byte("\n---\n")) {
		var r rbacv1.Role
		if err := yaml.Unmarshal(doc, &r); err != nil {
			t.Fatal(err)
		}
		if r.Kind == "Role" {
			out[r.Name] = r
		}
	}
	return out
}

func TestGenerate_IncludeUsesOnlyInputsThePipelineDeclaresAndEveryRequiredOne(t *testing.T) {
	t.Parallel()
	declared := pipelineInputs(t)
	custom := testSpec("grpc")
	custom.Deployment, custom.Container, custom.SlackChannel, custom.GitOps.Branch, custom.GitOps.Path = "checkout", "app", "", "release", "apps/checkout"
	for _, tt := range []struct {
		spec     Spec
		wantPath string // the gitops-path input: none for the default folder
	}{{testSpec("http"), ""}, {custom, "apps/checkout"}} {
		s := tt.spec
		var ci struct {
			Stages  []string `json:"stages"`
			Include []struct {
				Component string            `json:"component"`
				Inputs    map[string]string `json:"inputs"`
			} `json:"include"`
		}
		if err := yaml.UnmarshalStrict(generate(t, s)[PipelineFile], &ci); err != nil {
			t.Fatal(err)
		}
		if len(ci.Include) != 1 || ci.Include[0].Component != s.Component+"@"+s.ComponentVersion {
			t.Fatalf("include %+v", ci.Include)
		}
		in := ci.Include[0].Inputs
		for name := range in {
			if _, ok := declared[name]; !ok {
				t.Errorf("input %s is not declared by templates/pipeline.yml", name)
			}
		}
		for name, required := range declared {
			if _, ok := in[name]; required && !ok {
				t.Errorf("required input %s is missing", name)
			}
		}
		if in["app"] != "checkout" || in["environment"] != "production" || in["namespace"] != "shop" || in["checks"] != "deploy/checks.yaml" ||
			in["image"] != "$CI_REGISTRY_IMAGE:$CI_COMMIT_SHORT_SHA" || in["slack-channel"] != s.SlackChannel || in["gitops-path"] != tt.wantPath || in["deployment"] != s.Deployment {
			t.Errorf("inputs %v", in)
		}
		if strings.Join(ci.Stages, ",") != "render,deploy,qa,verify,promote" {
			t.Errorf("stages %v", ci.Stages)
		}
	}
}

// pipelineInputs reads templates/pipeline.yml's spec:inputs: each name,
// and whether it is required (has no default).
func pipelineInputs(t *testing.T) map[string]bool {
	t.Helper()
	data, err := os.ReadFile("../../templates/pipeline.yml")
	if err != nil {
		t.Fatal(err)
	}
	header, _, ok := bytes.Cut(data, []byte("\n---\n"))
	if !ok {
		t.Fatal("pipeline.yml: no spec header")
	}
	var spec struct {
		Spec struct {
			Inputs map[string]map[string]any `json:"inputs"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(header, &spec); err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for name, def := range spec.Spec.Inputs {
		_, hasDefault := def["default"]
		out[name] = !hasDefault
	}
	if len(out) < 10 || !out["app"] || out["namespace"] {
		t.Fatalf("pipeline.yml inputs read wrongly: %v", out)
	}
	return out
}

func TestGenerate_ArgoCDPolicyGrantsGetAndSyncOnTheAppOnly(t *testing.T) {
	t.Parallel()
	files := generate(t, testSpec("http"))
	var cm struct{ Data map[string]string }
	if err := yaml.UnmarshalStrict(files[RBACCMFile], &cm); err != nil {
		t.Fatal(err)
	}
	want := "p, role:bluegreen-checkout, applications, get, shop/checkout-production, allow\n" +
		"p, role:bluegreen-checkout, applications, sync, shop/checkout-production, allow\n" +
		"g, bluegreen-checkout, role:bluegreen-checkout\n"
	if len(cm.Data) != 1 || cm.Data["policy.bluegreen-checkout-production.csv"] != want {
		t.Errorf("argocd-rbac-cm patch %q", cm.Data)
	}
	var acm struct{ Data map[string]string }
	if err := yaml.UnmarshalStrict(files[ArgoCDCMFile], &acm); err != nil || len(acm.Data) != 1 || acm.Data["accounts.bluegreen-checkout"] != "apiKey" {
		t.Errorf("argocd-cm patch %q: %v", acm.Data, err)
	}
}

func TestGenerate_DefaultProjectGetsNoAppProject(t *testing.T) {
	t.Parallel()
	s := testSpec("http")
	s.ArgoCD.Project = "default"
	files := generate(t, s)
	if _, ok := files[AppProjectFile]; ok {
		t.Error("an AppProject for the default project would restrict every other app in it")
	}
	if _, ok := generate(t, testSpec("http"))[AppProjectFile]; !ok {
		t.Error("no AppProject for project shop")
	}
}

func TestScalar_QuotesWhatYAMLWouldReadAsSomethingElse(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"checkout", "yes", "no", "on", "null", "true", "0123", "1e3", "#deploys", "a: b", "$CI_REGISTRY_IMAGE:$CI_COMMIT_SHORT_SHA", `x"y`, strings.Repeat("long value ", 20)} {
		var got string
		if err := yaml.Unmarshal([]byte("v: "+scalar(s)), &struct{ V *string }{&got}); err != nil || got != s {
			t.Errorf("scalar(%q) = %s reads back as %q (%v)", s, scalar(s), got, err)
		}
	}
}

func TestInspect_ReadsTheWorkloadAndWarnsWithoutAService(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	deployment := `apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: web}
spec:
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec: {containers: [{name: api, image: example.com/api:1}]}
`
	if err := os.WriteFile(dir+"/d.yaml", []byte(deployment), 0o644); err != nil {
		t.Fatal(err)
	}
	app, err := Inspect(render.Input{Path: dir}, Rules{App: "api"})
	if err != nil {
		t.Fatal(err)
	}
	if app.Namespace != "web" || app.Workload.Name != "api" || app.Workload.Container != "api" {
		t.Errorf("app %+v", app)
	}
	if len(app.Warnings) != 1 || !strings.Contains(app.Warnings[0], "no Service selects the pods") {
		t.Errorf("warnings %q", app.Warnings)
	}
	if _, err := Inspect(render.Input{Path: dir}, Rules{App: "api", Namespace: "other"}); err == nil || !strings.Contains(err.Error(), "--namespace") {
		t.Errorf("a namespace other than the manifests': %v", err)
	}
}

func TestWrite_NoPathLeavesTheFolder(t *testing.T) {
	t.Parallel()
	parent := t.TempDir()
	dir := parent + "/out"
	if err := Write(dir, []File{{Path: "app-repo/deploy/checks.yaml", Data: []byte("x")}}); err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(dir + "/app-repo/deploy/checks.yaml"); err != nil || string(data) != "x" {
		t.Fatalf("%q, %v", data, err)
	}
	if err := Write(dir, []File{{Path: "../escaped.yaml", Data: []byte("x")}}); err == nil {
		t.Error("a path leaving the folder was written")
	}
	if _, err := os.Stat(parent + "/escaped.yaml"); err == nil {
		t.Error("escaped.yaml exists beside the folder")
	}
}

// A Rollout app's starter checks select its ReplicaSets by
// rollouts-pod-template-hash, load with the real loader, and fit a Rollout
// target (verify refuses colour checks for one); Istio's metrics cannot
// tell the ReplicaSets apart, so init refuses them.
func TestGenerate_RolloutChecksSelectTheReplicaSetByHash(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	rollout := `apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: checkout, namespace: shop}
spec:
  selector: {matchLabels: {app: checkout}}
  template:
    metadata: {labels: {app: checkout}}
    spec: {containers: [{name: app, image: example.com/checkout:1}]}
  strategy: {blueGreen: {activeService: checkout, previewService: checkout-preview, autoPromotionEnabled: false}}
---
apiVersion: v1
kind: Service
metadata: {name: checkout, namespace: shop}
spec: {selector: {app: checkout}, ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: checkout-preview, namespace: shop}
spec: {selector: {app: checkout}, ports: [{port: 80}]}
`
	if err := os.WriteFile(dir+"/r.yaml", []byte(rollout), 0o644); err != nil {
		t.Fatal(err)
	}
	app, err := Inspect(render.Input{Path: dir}, Rules{App: "checkout"})
	if err != nil {
		t.Fatal(err)
	}
	if app.Workload.Kind != "Rollout" || len(app.Warnings) != 0 {
		t.Fatalf("app %+v, warnings %q", app.Workload, app.Warnings)
	}
	for _, fam := range []string{"http", "grpc"} {
		files, err := Generate(testSpec(fam), app)
		if err != nil {
			t.Fatal(err)
		}
		var data []byte
		for _, f := range files {
			if f.Path == "app-repo/deploy/checks.yaml" {
				data = f.Data
			}
		}
		for _, want := range []string{"rollouts-pod-template-hash", "rollouts_pod_template_hash"} {
			if !bytes.Contains(data, []byte(want)) {
				t.Errorf("%s: the checks file does not mention %s:\n%s", fam, want, data)
			}
		}
		var next []byte
		for _, f := range files {
			if f.Path == NextStepsFile {
				next = f.Data
			}
		}
		if want := "[__meta_kubernetes_pod_label_rollouts_pod_template_hash]\n       target_label: rollouts_pod_template_hash"; !bytes.Contains(next, []byte(want)) || bytes.Contains(next, []byte("bluegreen_dev_color")) {
			t.Errorf("%s: NEXT-STEPS.txt does not relabel the hash:\n%s", fam, next)
		}
		cs, err := verify.ParseChecks("checks.yaml", data)
		if err != nil {
			t.Fatalf("%s: the starter checks do not load: %v\n%s", fam, err, data)
		}
		for _, c := range cs.Checks {
			q, err := c.RenderSide(verify.Side{App: "checkout", Namespace: "shop", Color: plan.Blue, Hash: "5d8f9c7b4"}, time.Minute)
			if err != nil || !strings.Contains(q, `rollouts_pod_template_hash="5d8f9c7b4"`) || strings.Contains(q, "color=") {
				t.Errorf("%s: %s: %q, %v", fam, c.Name, q, err)
			}
		}
	}
	_, err = Generate(testSpec("istio"), app)
	if outcome.Code(err) != 2 || !strings.Contains(err.Error(), "--metrics (BG_METRICS) istio") {
		t.Errorf("istio for a Rollout: %v", err)
	}
}
