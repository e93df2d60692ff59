package render

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"gitlab.com/platform/bluegreen/internal/plan"
)

// checkRules asserts the rules of DESIGN.md §4 on any input and output, so
// that they can be checked on manifests no golden file covers.
func checkRules(t *testing.T, r Rules, in []*Object, res *Result) {
	t.Helper()
	target := string(res.Target)
	out := map[string]*unstructured.Unstructured{}
	for _, o := range res.Objects {
		out[o.Obj.GetKind()+"/"+o.Obj.GetName()] = o.Obj
		if o.Group != target && o.Group != SharedGroup {
			t.Errorf("%s is in group %q, neither %s nor shared", o.From, o.Group, target)
		}
	}
	w := findWorkload(t, r, in)
	podLabels, _, _ := unstructured.NestedStringMap(w.Object, "spec", "template", "metadata", "labels")
	dep := out["Deployment/"+w.GetName()+"-"+target]
	if dep == nil {
		t.Fatalf("no Deployment %s-%s in the output", w.GetName(), target)
	}
	if _, still := out["Deployment/"+w.GetName()]; still {
		t.Errorf("the uncoloured Deployment %s is still in the output", w.GetName())
	}
	for _, path := range [][]string{{"metadata", "labels"}, {"spec", "selector", "matchLabels"}, {"spec", "template", "metadata", "labels"}} {
		got, _, _ := unstructured.NestedString(dep.Object, append(path, ColorLabel)...)
		if got != target {
			t.Errorf("%s: %s.%s = %q, want %q", dep.GetName(), strings.Join(path, "."), ColorLabel, got, target)
		}
	}
	spec, base, _ := podSpec(&Object{Unstructured: dep})
	containers := sliceOfMaps(spec["containers"])
	imageSet := false
	for i, c := range containers {
		if (r.Container == "" && i == 0) || c["name"] == r.Container {
			imageSet = c["image"] == r.Image
		}
	}
	if !imageSet {
		t.Errorf("%s: image %q not set on container %q", dep.GetName(), r.Image, r.Container)
	}
	inputByRef := map[string]*Object{}
	for _, o := range in {
		inputByRef[o.GetKind()+"/"+o.GetName()] = o
	}
	for _, ref := range configRefs(spec, base) {
		cfg := out[ref.Kind+"/"+ref.Name()]
		if cfg == nil {
			if !ref.Optional {
				t.Errorf("%s: %s points at %s %q, which is not in the output", dep.GetName(), ref.Field, ref.Kind, ref.Name())
			}
			continue
		}
		if imm, _ := cfg.Object["immutable"].(bool); !imm || cfg.GetLabels()[ColorLabel] != target {
			t.Errorf("%s %s is not an immutable %s copy", ref.Kind, cfg.GetName(), target)
		}
		i := strings.LastIndex(cfg.GetName(), "-"+target+"-")
		if i < 0 {
			t.Errorf("%s %s is not named <name>-%s-<hash>", ref.Kind, cfg.GetName(), target)
			continue
		}
		orig := inputByRef[ref.Kind+"/"+cfg.GetName()[:i]]
		if orig == nil {
			t.Errorf("%s %s has no original", ref.Kind, cfg.GetName())
			continue
		}
		for _, k := range []string{"data", "binaryData", "stringData", "type"} {
			if !reflect.DeepEqual(orig.Object[k], cfg.Object[k]) {
				t.Errorf("%s %s: %s differs from the original", ref.Kind, cfg.GetName(), k)
			}
		}
	}
	active := res.Live
	if active == plan.None {
		active = res.Target
	}
	for _, o := range in {
		switch {
		case o.GetKind() == "HorizontalPodAutoscaler":
			name, _, _ := unstructured.NestedString(o.Object, "spec", "scaleTargetRef", "name")
			if name == w.GetName() {
				h := out["HorizontalPodAutoscaler/"+o.GetName()+"-"+target]
				got, _, _ := unstructured.NestedString(h.Object, "spec", "scaleTargetRef", "name")
				if h == nil || got != w.GetName()+"-"+target {
					t.Errorf("HPA %s is not retargeted to %s-%s", o.GetName(), w.GetName(), target)
				}
			}
		case o.GetKind() == "Service" && selectsLabels(o, podLabels):
			act, prev := out["Service/"+o.GetName()], out["Service/"+o.GetName()+"-preview"]
			if act == nil || prev == nil {
				t.Errorf("Service %s: active or preview missing", o.GetName())
				continue
			}
			if c, _, _ := unstructured.NestedString(act.Object, "spec", "selector", ColorLabel); c != string(active) {
				t.Errorf("active Service %s selects %q, want %s", o.GetName(), c, active)
			}
			if c, _, _ := unstructured.NestedString(prev.Object, "spec", "selector", ColorLabel); c != target {
				t.Errorf("preview Service %s selects %q, want %s", prev.GetName(), c, target)
			}
			if typ, _, _ := unstructured.NestedString(prev.Object, "spec", "type"); typ != "ClusterIP" {
				t.Errorf("preview Service %s has type %s", prev.GetName(), typ)
			}
		case o.GetKind() == "PodDisruptionBudget", o.GetKind() == "ConfigMap", o.GetKind() == "Secret", o == w:
			// covered above, or may be consumed
		default:
			got := out[o.GetKind()+"/"+o.GetName()]
			if got == nil || !reflect.DeepEqual(got.Object, o.Object) {
				t.Errorf("%s did not pass through unchanged", o.ref())
			}
		}
	}
}

func selectsLabels(svc *Object, pod map[string]string) bool {
	sel, _, _ := unstructured.NestedStringMap(svc.Object, "spec", "selector")
	if len(sel) == 0 {
		return false
	}
	for k, v := range sel {
		if pod[k] != v {
			return false
		}
	}
	return true
}

func findWorkload(t *testing.T, r Rules, in []*Object) *Object {
	t.Helper()
	w, err := pickWorkload(r, in)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// TestRules_HoldOnEveryDeploymentOfMicroservicesDemo colours each of the
// demo's Deployments in turn, for each live colour.
func TestRules_HoldOnEveryDeploymentOfMicroservicesDemo(t *testing.T) {
	t.Parallel()
	in, err := Load(filepath.Join("testdata", "input", "microservices-demo.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range in {
		if o.GetKind() != "Deployment" {
			continue
		}
		for _, live := range []plan.Color{plan.None, plan.Blue, plan.Green} {
			r := Rules{App: o.GetName(), Image: "r.example.com/x:1", Deployment: o.GetName(), Live: live}
			t.Run(o.GetName()+"/"+string(live), func(t *testing.T) {
				res, err := Apply(r, in)
				if err != nil {
					t.Fatal(err)
				}
				checkRules(t, r, in, res)
			})
		}
	}
}

// TestRules_HoldOnGeneratedManifests checks the rules on random apps: random
// labels, containers, config references of every kind, Services, HPAs and
// unrelated objects.
func TestRules_HoldOnGeneratedManifests(t *testing.T) {
	t.Parallel()
	for seed := uint64(1); seed <= 200; seed++ {
		rng := rand.New(rand.NewPCG(seed, 7))
		doc := generateApp(rng)
		in, err := Parse(fmt.Sprintf("generated-%d.yaml", seed), []byte(doc))
		if err != nil {
			t.Fatalf("seed %d: %v\n%s", seed, err, doc)
		}
		live := []plan.Color{plan.None, plan.Blue, plan.Green}[rng.IntN(3)]
		r := Rules{App: "app", Image: "r.example.com/app:" + fmt.Sprint(seed), Live: live, Deployment: "app"}
		res, err := Apply(r, in)
		if err != nil {
			t.Fatalf("seed %d: %v\n%s", seed, err, doc)
		}
		checkRules(t, r, in, res)
		if t.Failed() {
			t.Fatalf("seed %d failed on:\n%s", seed, doc)
		}
		a, _ := Encode(res)
		res2, _ := Apply(r, in)
		b, _ := Encode(res2)
		if a.Digest != b.Digest {
			t.Fatalf("seed %d: two renders differ", seed)
		}
	}
}

func generateApp(rng *rand.Rand) string {
	labels := map[string]any{"app": "app"}
	for i := 0; i < rng.IntN(3); i++ {
		labels[fmt.Sprintf("l%d", i)] = fmt.Sprintf("v%d", rng.IntN(3))
	}
	var docs []any
	var volumes, containers []any
	nCfg := rng.IntN(4)
	for i := 0; i < nCfg; i++ {
		kind := []string{"ConfigMap", "Secret"}[rng.IntN(2)]
		name := fmt.Sprintf("cfg%d", i)
		docs = append(docs, map[string]any{"apiVersion": "v1", "kind": kind, "metadata": map[string]any{"name": name},
			"data": map[string]any{"k": fmt.Sprint(rng.IntN(1000))}})
		switch rng.IntN(3) {
		case 0:
			if kind == "Secret" {
				volumes = append(volumes, map[string]any{"name": name, "secret": map[string]any{"secretName": name}})
			} else {
				volumes = append(volumes, map[string]any{"name": name, "configMap": map[string]any{"name": name}})
			}
		case 1:
			key := map[string]string{"ConfigMap": "configMap", "Secret": "secret"}[kind]
			volumes = append(volumes, map[string]any{"name": name, "projected": map[string]any{"sources": []any{map[string]any{key: map[string]any{"name": name}}}}})
		}
	}
	for i := 0; i <= rng.IntN(3); i++ {
		c := map[string]any{"name": fmt.Sprintf("c%d", i), "image": "old:1"}
		if nCfg > 0 && rng.IntN(2) == 0 {
			j := rng.IntN(nCfg)
			ref := "configMapRef"
			if rng.IntN(2) == 0 {
				ref = "secretRef"
			}
			// The reference may point at the wrong kind: then it is optional.
			c["envFrom"] = []any{map[string]any{ref: map[string]any{"name": fmt.Sprintf("cfg%d", j), "optional": true}}}
		}
		containers = append(containers, c)
	}
	docs = append(docs, map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": map[string]any{"name": "app"},
		"spec": map[string]any{"selector": map[string]any{"matchLabels": labels},
			"template": map[string]any{"metadata": map[string]any{"labels": labels},
				"spec": map[string]any{"containers": containers, "volumes": volumes}}}})
	for i := 0; i < rng.IntN(3); i++ {
		sel := map[string]any{"app": "app"}
		if rng.IntN(3) == 0 {
			sel = map[string]any{"app": "other"}
		}
		docs = append(docs, map[string]any{"apiVersion": "v1", "kind": "Service", "metadata": map[string]any{"name": fmt.Sprintf("svc%d", i)},
			"spec": map[string]any{"selector": sel, "ports": []any{map[string]any{"port": 80 + i}}}})
	}
	if rng.IntN(2) == 0 {
		docs = append(docs, map[string]any{"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": map[string]any{"name": "app"},
			"spec": map[string]any{"scaleTargetRef": map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "name": "app"}, "maxReplicas": 5}})
	}
	docs = append(docs, map[string]any{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": map[string]any{"name": "app"}})
	rng.Shuffle(len(docs), func(i, j int) { docs[i], docs[j] = docs[j], docs[i] })
	var b strings.Builder
	for _, d := range docs {
		y, _ := yaml.Marshal(d)
		b.WriteString("---\n")
		b.Write(y)
	}
	return b.String()
}
