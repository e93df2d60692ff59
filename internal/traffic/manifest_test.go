package traffic

import (
	"reflect"
	"testing"

	"gitlab.com/platform/bluegreen/internal/kube"
	"gitlab.com/platform/bluegreen/internal/plan"
)

func TestSelectColor_SetsTheSelectorAndExactlyTheSwitchRecord(t *testing.T) {
	t.Parallel()
	svc := map[string]any{
		"metadata": map[string]any{"name": "shop", "annotations": map[string]any{
			kube.AnnoPipelineID: "9", kube.AnnoLive: "green", "example.com/keep": "yes",
		}},
		"spec": map[string]any{"selector": map[string]any{"app.kubernetes.io/name": "shop", kube.ColorLabel: "green"}},
	}
	record := map[string]string{kube.AnnoLive: "blue", kube.AnnoPrevious: "green", kube.AnnoImage: "shop:1",
		kube.AnnoPendingReconcile: "since t", kube.AnnoSwitchedAt: "t"}
	if err := SelectColor(svc, plan.Blue, record); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"metadata": map[string]any{"name": "shop", "annotations": map[string]any{
			kube.AnnoLive: "blue", kube.AnnoPrevious: "green", kube.AnnoImage: "shop:1", "example.com/keep": "yes",
		}},
		"spec": map[string]any{"selector": map[string]any{"app.kubernetes.io/name": "shop", kube.ColorLabel: "blue"}},
	}
	if !reflect.DeepEqual(svc, want) {
		t.Errorf("got  %v\nwant %v\n(a switch key the record lacks goes; the mark and the stamps never reach git)", svc, want)
	}
	for _, bad := range []map[string]any{
		{"spec": map[string]any{}},
		{"spec": map[string]any{"selector": "all"}},
	} {
		if err := SelectColor(bad, plan.Blue, record); err == nil {
			t.Errorf("%v: no error for a Service that selects nothing", bad)
		}
	}
}

func TestRetire_ScalesDeploymentsDropsHPAsKeepsTheRest(t *testing.T) {
	t.Parallel()
	deploy := func(replicas any) map[string]any {
		return map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": map[string]any{"name": "shop-blue"},
			"spec": map[string]any{"replicas": replicas}}
	}
	hpa := map[string]any{"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": map[string]any{"name": "shop-blue"}}
	cm := map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "shop-config-blue-1"}}
	other := map[string]any{"apiVersion": "example.com/v1", "kind": "Deployment", "metadata": map[string]any{"name": "x"}}
	tests := []struct {
		name string
		obj  map[string]any
		want Retirement
	}{
		{"a Deployment", deploy(float64(3)), ScaledToZero},
		{"a Deployment already at zero", deploy(int64(0)), Unchanged},
		{"an HPA", hpa, Dropped},
		{"a ConfigMap", cm, Unchanged},
		{"another group's Deployment", other, Unchanged},
	}
	for _, tt := range tests {
		before := reflect.ValueOf(tt.obj["spec"])
		out, what, err := Retire(tt.obj)
		if err != nil || what != tt.want {
			t.Errorf("%s: %v, %v; want %v", tt.name, what, err, tt.want)
			continue
		}
		switch what {
		case ScaledToZero:
			if out["spec"].(map[string]any)["replicas"] != int64(0) || tt.obj["spec"].(map[string]any)["replicas"] == int64(0) {
				t.Errorf("%s: out %v, in %v: want a copy at zero, the input untouched", tt.name, out["spec"], tt.obj["spec"])
			}
		case Dropped:
			if out != nil {
				t.Errorf("%s: out = %v, want nil", tt.name, out)
			}
		default:
			if !reflect.DeepEqual(out, tt.obj) || (before.IsValid() && !reflect.DeepEqual(reflect.ValueOf(out["spec"]).Interface(), before.Interface())) {
				t.Errorf("%s: changed: %v", tt.name, out)
			}
		}
	}
}
