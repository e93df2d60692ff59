package drift

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"gitlab.com/platform/bluegreen/internal/gitops"
	"gitlab.com/platform/bluegreen/internal/kube"
	"gitlab.com/platform/bluegreen/internal/plan"
)

// gitOf builds an app's GitOps folder from files (path: YAML).
func gitOf(t *testing.T, folder string, files map[string]string) *gitApp {
	t.Helper()
	g := &gitApp{folder: folder}
	for path, data := range files {
		objs, err := parseManifests([]byte(data))
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		g.files = append(g.files, gitFile{path: folder + "/" + path, group: groupOf(folder, folder+"/"+path), data: []byte(data), objs: objs})
	}
	return g
}

const blueDeployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop-blue
spec:
  replicas: 3
  template:
    spec:
      containers:
      - image: shop:1
        name: web
`

func TestRetire_ScalesTheColourToZeroAndDropsItsHPA(t *testing.T) {
	t.Parallel()
	config := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shop-config-blue-0123456789\ndata:\n  currency: EUR\n"
	g := gitOf(t, "production/shop", map[string]string{
		"blue/deployment-shop-blue.yaml":              blueDeployment,
		"blue/horizontalpodautoscaler-shop-blue.yaml": "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: shop-blue\nspec:\n  maxReplicas: 4\n",
		"blue/configmap-shop-config-blue.yaml":        config,
		"green/deployment-shop-green.yaml":            strings.ReplaceAll(blueDeployment, "blue", "green"),
	})
	files, refs, err := retire(g, plan.Blue, "shop")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, f := range files {
		got[f.Path] = string(f.Data)
	}
	if len(got) != 2 || got["production/shop/blue/configmap-shop-config-blue.yaml"] != config {
		t.Fatalf("files = %v, want the Deployment and the untouched ConfigMap, no HPA", got)
	}
	d := got["production/shop/blue/deployment-shop-blue.yaml"]
	if !strings.Contains(d, "replicas: 0") || !strings.Contains(d, "image: shop:1") {
		t.Errorf("deployment:\n%s", d)
	}
	if len(refs) != 2 || refs[0] != (gitops.Object{Group: "apps", Kind: "Deployment", Namespace: "shop", Name: "shop-blue", File: "production/shop/blue/deployment-shop-blue.yaml"}) ||
		refs[1] != (gitops.Object{Group: "autoscaling", Kind: "HorizontalPodAutoscaler", Namespace: "shop", Name: "shop-blue", File: "production/shop/blue/horizontalpodautoscaler-shop-blue.yaml"}) {
		t.Errorf("refs = %+v, want the Deployment to sync and the HPA to prune", refs)
	}
	if _, _, err := retire(gitOf(t, "production/shop", map[string]string{"green/d.yaml": blueDeployment}), plan.Blue, "shop"); err == nil {
		t.Error("retiring a colour git does not hold: no error")
	}
}

func TestRetire_KeepsTheBytesOfAnAlreadyRetiredColour(t *testing.T) {
	t.Parallel()
	zero := strings.Replace(blueDeployment, "replicas: 3", "replicas: 0", 1)
	files, _, err := retire(gitOf(t, "shop", map[string]string{"blue/d.yaml": zero}), plan.Blue, "shop")
	if err != nil || len(files) != 1 || string(files[0].Data) != zero {
		t.Fatalf("files = %+v, %v: an unchanged file must keep its bytes (no commit)", files, err)
	}
}

func TestActiveFiles_SelectTheLiveColourWithTheSwitchRecord(t *testing.T) {
	t.Parallel()
	svc := `apiVersion: v1
kind: Service
metadata:
  annotations:
    bluegreen.dev/live-color: green
    bluegreen.dev/previous-color: blue
    bluegreen.dev/pipeline-id: "10"
    example.com/keep: "yes"
  labels:
    bluegreen.dev/role: active
  name: shop
spec:
  ports:
  - port: 80
  selector:
    app.kubernetes.io/name: shop
    bluegreen.dev/color: green
`
	g := gitOf(t, "production/shop", map[string]string{"shared/service-shop.yaml": svc})
	act := kube.Active{Name: "shop", Selected: plan.Blue, Annotations: map[string]string{
		kube.AnnoLive: "blue", kube.AnnoPrevious: "green", kube.AnnoImage: "shop:1",
		kube.AnnoPendingReconcile: "since t: GitLab unreachable", kube.AnnoSwitchedAt: "t",
	}}
	files, err := activeFiles(g, []kube.Active{act}, plan.Blue)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 1 || files[0].Path != "production/shop/shared/service-shop.yaml" {
		t.Fatalf("files = %+v", files)
	}
	o, err := parseManifests(files[0].Data)
	if err != nil {
		t.Fatal(err)
	}
	sel, _, _ := unstructured.NestedString(o[0].Object, "spec", "selector", kube.ColorLabel)
	ann := o[0].GetAnnotations()
	if sel != "blue" || ann[kube.AnnoLive] != "blue" || ann[kube.AnnoPrevious] != "green" || ann[kube.AnnoImage] != "shop:1" {
		t.Errorf("selector %s, annotations %v", sel, ann)
	}
	if _, ok := ann[kube.AnnoPipelineID]; ok {
		t.Errorf("a switch key the Service no longer has stays in git: %v", ann)
	}
	if ann["example.com/keep"] != "yes" || ann[kube.AnnoPendingReconcile] != "" || ann[kube.AnnoSwitchedAt] != "" {
		t.Errorf("annotations = %v: keep others, never put the mark or the stamps in git", ann)
	}
}
