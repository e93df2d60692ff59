package argocd

import (
	"testing"

	"github.com/argoproj/argo-cd/v3/pkg/apis/application/v1alpha1"
)

func TestAppOf_ReadsTheSyncStanceAndWhatWouldBePruned(t *testing.T) {
	t.Parallel()
	yes, no := true, false
	tests := []struct {
		name   string
		policy *v1alpha1.SyncPolicy
		want   Policy
	}{
		{"manual", nil, Policy{}},
		{"automated", &v1alpha1.SyncPolicy{Automated: &v1alpha1.SyncPolicyAutomated{}}, Policy{Automated: true}},
		{"self-heal and prune", &v1alpha1.SyncPolicy{Automated: &v1alpha1.SyncPolicyAutomated{SelfHeal: &yes, Prune: &yes}}, Policy{Automated: true, SelfHeal: true, Prune: true}},
		{"automation disabled", &v1alpha1.SyncPolicy{Automated: &v1alpha1.SyncPolicyAutomated{SelfHeal: &yes, Enabled: &no}}, Policy{}},
	}
	for _, tt := range tests {
		a := &v1alpha1.Application{Spec: v1alpha1.ApplicationSpec{SyncPolicy: tt.policy}}
		a.Status.Resources = []v1alpha1.ResourceStatus{
			{Kind: "ConfigMap", Namespace: "shop", Name: "shop-config-blue-0123456789", Status: v1alpha1.SyncStatusCodeOutOfSync, RequiresPruning: true},
			{Group: "apps", Kind: "Deployment", Namespace: "shop", Name: "shop-blue", Status: v1alpha1.SyncStatusCodeSynced},
		}
		got := appOf(a)
		if got.Policy != tt.want {
			t.Errorf("%s: policy = %+v, want %+v", tt.name, got.Policy, tt.want)
		}
		if len(got.Pruning) != 1 || got.Pruning[0].Name != "shop-config-blue-0123456789" || len(got.Resources) != 2 {
			t.Errorf("%s: pruning = %+v", tt.name, got.Pruning)
		}
	}
}
