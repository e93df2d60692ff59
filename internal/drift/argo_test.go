package drift

import (
	"testing"

	"gitlab.com/platform/bluegreen/internal/argocd"
)

func TestCheckArgo_JudgesOutOfSyncByWhatBluegreenKnows(t *testing.T) {
	t.Parallel()
	verdicts := map[string]objVerdict{
		"/Service/shop":          {Expected, "selects green, the colour recorded at the last switch"},
		"apps/Deployment/shop-g": {Dangerous, "image differs from git"},
		"/ConfigMap/shop-cfg":    {},
	}
	res := func(group, kind, name string, pruning bool) argocd.Resource {
		return argocd.Resource{Group: group, Kind: kind, Name: name, Sync: argocd.OutOfSync, RequiresPruning: pruning}
	}
	tests := []struct {
		name string
		app  argocd.App
		want string
	}{
		{"synced, healthy, manual", argocd.App{Status: argocd.Status{Sync: "Synced", Health: "Healthy"}}, "expected policy"},
		{"selfHeal", argocd.App{Status: argocd.Status{Sync: "Synced", Health: "Healthy"}, Policy: argocd.Policy{Automated: true, SelfHeal: true}}, "dangerous self-heal"},
		{"automated without selfHeal", argocd.App{Status: argocd.Status{Sync: "Synced", Health: "Healthy"}, Policy: argocd.Policy{Automated: true}}, "benign policy"},
		{"the recorded switch", argocd.App{Status: argocd.Status{Sync: "OutOfSync", Health: "Healthy", Resources: []argocd.Resource{res("", "Service", "shop", false)}}}, "expected policy, expected out-of-sync"},
		{"an image changed", argocd.App{Status: argocd.Status{Sync: "OutOfSync", Health: "Healthy", Resources: []argocd.Resource{res("apps", "Deployment", "shop-g", false)}}}, "expected policy, dangerous out-of-sync"},
		{"a difference bluegreen ignores", argocd.App{Status: argocd.Status{Sync: "OutOfSync", Health: "Healthy", Resources: []argocd.Resource{res("", "ConfigMap", "shop-cfg", false)}}}, "expected policy, benign out-of-sync"},
		{"an object bluegreen does not know", argocd.App{Status: argocd.Status{Sync: "OutOfSync", Health: "Healthy", Resources: []argocd.Resource{res("", "Secret", "other", false)}}}, "expected policy, dangerous out-of-sync"},
		{"an old coloured ConfigMap to prune", argocd.App{Status: argocd.Status{Sync: "OutOfSync", Health: "Healthy", Resources: []argocd.Resource{res("", "ConfigMap", "shop-config-blue-0123456789", true)}}}, "expected policy, benign prune"},
		{"an object that left git", argocd.App{Status: argocd.Status{Sync: "OutOfSync", Health: "Healthy", Resources: []argocd.Resource{res("", "Secret", "shop-token-blue-0123456789", true)}}}, "expected policy, dangerous prune"},
		{"degraded", argocd.App{Status: argocd.Status{Sync: "Synced", Health: "Degraded", HealthMessage: "x"}}, "expected policy, dangerous health"},
		{"progressing", argocd.App{Status: argocd.Status{Sync: "Synced", Health: "Progressing"}}, "expected policy, benign health"},
		{"a failed sync", argocd.App{Status: argocd.Status{Sync: "Synced", Health: "Healthy", Operation: &argocd.Operation{Phase: argocd.PhaseFailed, Revision: "abc"}}}, "expected policy, dangerous sync-failed"},
		{"cannot compare", argocd.App{Status: argocd.Status{Sync: "Unknown", Health: "Healthy", Conditions: []argocd.Condition{{Type: "ComparisonError", Message: "rpc error"}}}}, "expected policy, dangerous condition, dangerous unknown"},
		{"a warning is not drift", argocd.App{Status: argocd.Status{Sync: "Synced", Health: "Healthy", Conditions: []argocd.Condition{{Type: "SharedResourceWarning", Message: "also in app x"}}}}, "expected policy"},
		{"a sync still pending is no failure", argocd.App{Status: argocd.Status{Sync: "Synced", Health: "Healthy", Operation: &argocd.Operation{Pending: true, Revision: "abc"}}}, "expected policy"},
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
