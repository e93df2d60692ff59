package traffic

import (
	"reflect"
	"strings"
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

func TestRaiseThenRestoreCapacity_GivesTheHPAItsOwnBoundsBack(t *testing.T) {
	t.Parallel()
	hpa := func() map[string]any {
		return map[string]any{"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
			"metadata": map[string]any{"name": "shop-green", "annotations": map[string]any{"example.com/keep": "yes"}},
			"spec":     map[string]any{"minReplicas": 2.0, "maxReplicas": 4.0}}
	}
	m := hpa()
	raiseHPA(m, 6)
	ann := m["metadata"].(map[string]any)["annotations"].(map[string]any)
	if spec := m["spec"].(map[string]any); spec["minReplicas"] != int64(6) || spec["maxReplicas"] != int64(6) ||
		ann[kube.AnnoMinBefore] != "2" || ann[kube.AnnoMaxBefore] != "4" {
		t.Fatalf("raised: %v", m)
	}
	raiseHPA(m, 8) // a second raise before the restore keeps the first notes
	if ann := m["metadata"].(map[string]any)["annotations"].(map[string]any); ann[kube.AnnoMinBefore] != "2" || ann[kube.AnnoMaxBefore] != "4" {
		t.Fatalf("a second raise rewrote the notes: %v", ann)
	}
	out, restored, err := RestoreCapacity(m)
	if err != nil || !restored {
		t.Fatalf("restore: %v %v", restored, err)
	}
	want := hpa()
	want["spec"] = map[string]any{"minReplicas": int64(2), "maxReplicas": int64(4)}
	if !reflect.DeepEqual(out, want) {
		t.Errorf("restored %v\nwant     %v", out, want)
	}
	if _, restored, _ := RestoreCapacity(hpa()); restored {
		t.Error("an HPA without notes was restored")
	}
	for _, notes := range []map[string]any{
		{kube.AnnoMinBefore: "two"},
		{kube.AnnoMinBefore: "0"},
		{kube.AnnoMinBefore: "99999999999"},
		{kube.AnnoMinBefore: "5", kube.AnnoMaxBefore: "3"},
	} {
		bad := hpa()
		bad["metadata"].(map[string]any)["annotations"] = notes
		if _, _, err := RestoreCapacity(bad); err == nil || !strings.Contains(err.Error(), "HorizontalPodAutoscaler shop-green") {
			t.Errorf("notes %v: err %v, want one naming the HPA", notes, err)
		}
	}
	deploy := map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": map[string]any{"name": "x", "annotations": map[string]any{kube.AnnoMinBefore: "2"}}}
	if _, restored, _ := RestoreCapacity(deploy); restored {
		t.Error("a Deployment was restored")
	}
}
