package cli

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"

	"gitlab.com/platform/bluegreen/internal/testenv"
	"gitlab.com/platform/bluegreen/templates/kubernetes"
)

// shippedRules returns the rules of the named Role in the shipped RBAC
// manifest, templates/kubernetes/rbac.yaml.
func shippedRules(t testing.TB, role string) []rbacv1.PolicyRule {
	t.Helper()
	for _, doc := range strings.Split(string(kubernetes.RBAC), "\n---\n") {
		var r rbacv1.Role
		if err := yaml.Unmarshal([]byte(doc), &r); err != nil {
			t.Fatalf("rbac.yaml: %v", err)
		}
		if r.Kind == "Role" && r.Name == role {
			return r.Rules
		}
	}
	t.Fatalf("rbac.yaml has no Role %q", role)
	return nil
}

// roleKubeconfig writes a kubeconfig for a ServiceAccount in ns bound only
// to the shipped Roles named.
func roleKubeconfig(t testing.TB, c *testenv.Cluster, ns string, roles ...string) string {
	t.Helper()
	var rules []rbacv1.PolicyRule
	for _, r := range roles {
		rules = append(rules, shippedRules(t, r)...)
	}
	cfg, err := c.ServiceAccountConfig(context.Background(), ns, "bluegreen", rules)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := testenv.WriteKubeconfig(path, cfg, ns); err != nil {
		t.Fatal(err)
	}
	return path
}
