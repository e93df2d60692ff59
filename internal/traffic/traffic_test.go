package traffic

import (
	"reflect"
	"strings"
	"testing"

	"gitlab.com/platform/bluegreen/internal/kube"
	"gitlab.com/platform/bluegreen/internal/outcome"
	"gitlab.com/platform/bluegreen/internal/plan"
)

func TestCheckNotOutdated(t *testing.T) {
	t.Parallel()
	p := &plan.Plan{Pipeline: plan.Pipeline{ID: 50}}
	tests := []struct {
		name string
		ann  map[string]string
		code int
	}{
		{"no annotations: a first promote", nil, 0},
		{"older pipeline made it live", map[string]string{kube.AnnoPipelineID: "40"}, 0},
		{"this pipeline made it live (a re-run)", map[string]string{kube.AnnoPipelineID: "50"}, 0},
		{"a newer pipeline made it live", map[string]string{kube.AnnoPipelineID: "60", kube.AnnoPipelineURL: "https://g/p/60"}, 1},
		{"garbage is not a verdict", map[string]string{kube.AnnoPipelineID: "x"}, 0},
	}
	for _, tt := range tests {
		err := checkNotOutdated(p, kube.Active{Selected: plan.Blue, Annotations: tt.ann})
		if outcome.Code(err) != tt.code {
			t.Errorf("%s: %v (exit %d), want exit %d", tt.name, err, outcome.Code(err), tt.code)
		}
		if tt.code == 1 && !strings.Contains(err.Error(), "pipeline 60") {
			t.Errorf("%s: message does not name the newer pipeline: %v", tt.name, err)
		}
	}
	if err := checkNotOutdated(&plan.Plan{}, kube.Active{Annotations: map[string]string{kube.AnnoPipelineID: "60"}}); err != nil {
		t.Errorf("a local run (no pipeline) was refused: %v", err)
	}
}

func TestSwitchAnnotations_AreDeterministic(t *testing.T) {
	t.Parallel()
	p := &plan.Plan{Image: "r/x:1", Pipeline: plan.Pipeline{ID: 7, URL: "https://g/p/7"}, GitOps: &plan.GitOps{Commit: "abc"}}
	a, b := switchAnnotations(p, plan.Green, plan.Blue), switchAnnotations(p, plan.Green, plan.Blue)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two calls differ")
	}
	want := map[string]string{kube.AnnoLive: "green", kube.AnnoPrevious: "blue", kube.AnnoImage: "r/x:1",
		kube.AnnoRevision: "abc", kube.AnnoPipelineID: "7", kube.AnnoPipelineURL: "https://g/p/7"}
	if !reflect.DeepEqual(a, want) {
		t.Fatalf("got %v, want %v", a, want)
	}
	for k := range a {
		if k == kube.AnnoSwitchedAt || k == kube.AnnoIdleUntil {
			t.Fatalf("%s varies per run and must not go to git", k)
		}
	}
}
