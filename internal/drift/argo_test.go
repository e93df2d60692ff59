package drift

import (
	"testing"
)

func TestCheckArgo_JudgesOutOfSyncByWhatBluegreenKnows(t *testing.T) {
	t.Parallel()
	verdicts := map[string]objVerdict{
		"/Service/shop":          {Expected, "selects green, the colour recorded at the last switch"},
		"apps/Deployment/shop-g": {Dangerous, "image differs from git"},
		"/ConfigMap/shop-cfg":    {},
	}
	res := func(group, kind, name string, pruning bool) ArgoResource {
		return ArgoResource{Group: group, Kind: kind, Name: name, Sync: "OutOfSync", RequiresPruning: pruning}
	}
	tests := []struct {
		name string
		app  ArgoApp
		want string
	}{
		{"synced, healthy, manual", ArgoApp{Sync: "Synced", Health: "Healthy"}, "expected policy"},
		{"selfHeal", ArgoApp{Sync: "Synced", Health: "Healthy", Automated: true, SelfHeal: true}, "dangerous self-heal"},
		{"automated without selfHeal", ArgoApp{Sync: "Synced", Health: "Healthy", Automated: true}, "benign policy"},
		{"the recorded switch", ArgoApp{Sync: "OutOfSync", Health: "Healthy", Resources: []ArgoResource{res("", "Service", "shop", false)}}, "expected policy, expected out-of-sync"},
		{"an image changed", ArgoApp{Sync: "OutOfSync", Health: "Healthy", Resources: []ArgoResource{res("apps", "Deployment", "shop-g", false)}}, "expected policy, dangerous out-of-sync"},
		{"a difference bluegreen ignores", ArgoApp{Sync: "OutOfSync", Health: "Healthy", Resources: []ArgoResource{res("", "ConfigMap", "shop-cfg", false)}}, "expected policy, benign out-of-sync"},
		{"an object bluegreen does not know", ArgoApp{Sync: "OutOfSync", Health: "Healthy", Resources: []ArgoResource{res("", "Secret", "other", false)}}, "expected policy, dangerous out-of-sync"},
		{"an old coloured ConfigMap to prune", ArgoApp{Sync: "OutOfSync", Health: "Healthy", Resources: []ArgoResource{res("", "ConfigMap", "shop-config-blue-0123456789", true)}}, "expected policy, benign prune"},
		{"an object that left git", ArgoApp{Sync: "OutOfSync", Health: "Healthy", Resources: []ArgoResource{res("", "Secret", "shop-token-blue-0123456789", true)}}, "expected policy, dangerous prune"},
		{"degraded", ArgoApp{Sync: "Synced", Health: "Degraded", HealthMessage: "x"}, "expected policy, dangerous health"},
		{"progressing", ArgoApp{Sync: "Synced", Health: "Progressing"}, "expected policy, benign health"},
		{"a failed sync", ArgoApp{Sync: "Synced", Health: "Healthy", Operation: &ArgoOperation{Phase: "Failed", Revision: "abc"}}, "expected policy, dangerous sync-failed"},
		{"cannot compare", ArgoApp{Sync: "Unknown", Health: "Healthy", Conditions: []string{"ComparisonError: rpc error"}}, "expected policy, dangerous condition, dangerous unknown"},
	}
	for _, tt := range tests {
		if got := classes(checkArgo(tt.app, verdicts, "shop-production")); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestTrackingApp_ReadsArgoCDsTrackingAnnotationOrLabel(t *testing.T) {
	t.Parallel()
	tests := []struct {
		ann, labels map[string]string
		want        string
	}{
		{map[string]string{"argocd.argoproj.io/tracking-id": "shop-production:/Service:shop/shop"}, nil, "shop-production"},
		{map[string]string{"argocd.argoproj.io/tracking-id": "apps_shop-production:/Service:shop/shop"}, nil, "shop-production"},
		{nil, map[string]string{"app.kubernetes.io/instance": "shop-staging"}, "shop-staging"},
		{nil, nil, ""},
	}
	for _, tt := range tests {
		if got := trackingApp(tt.ann, tt.labels); got != tt.want {
			t.Errorf("trackingApp(%v, %v) = %q, want %q", tt.ann, tt.labels, got, tt.want)
		}
	}
	a := &appLive{app: "cart"}
	if got := argoAppName("{app}-production", a); got != "cart-production" {
		t.Errorf("argoAppName = %q", got)
	}
}
