package cli

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"gitlab.com/platform/bluegreen/internal/drift"
	"gitlab.com/platform/bluegreen/templates/kubernetes"
)

// shopWithClusterRole is the shop app plus a ClusterRole named name, as an
// app that ships an operator's permissions would hold.
func shopWithClusterRole(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(shopManifests(t), "app.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	role := fmt.Sprintf("apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: %s\nrules:\n  - apiGroups: [\"\"]\n    resources: [pods]\n    verbs: [get]\n", name)
	return manifestsDir(t, map[string]string{"app.yaml": string(data), "clusterrole.yaml": role})
}

// shippedClusterRules are the rules of the optional ClusterRole in
// templates/kubernetes/rbac-cluster.yaml.
func shippedClusterRules(t *testing.T) []rbacv1.PolicyRule {
	t.Helper()
	var r rbacv1.ClusterRole
	if err := yaml.Unmarshal(kubernetes.RBACCluster, &r); err != nil || r.Kind != "ClusterRole" || len(r.Rules) == 0 {
		t.Fatalf("rbac-cluster.yaml: %v (%+v)", err, r)
	}
	return r.Rules
}

func TestDriftReal_ClusterScopedObjectsInGitAreChecked(t *testing.T) {
	t.Parallel()
	name := fmt.Sprintf("shop-reader-%08x", rand.Uint32())
	w := promoted(t, shopWithClusterRole(t, name))
	roles := w.cluster.Client().RbacV1().ClusterRoles()
	t.Cleanup(func() { _ = roles.Delete(context.Background(), name, metav1.DeleteOptions{}) })
	if code, out, errOut := w.run("promote", nil); code != 0 {
		t.Fatalf("promote: exit %d\n%s\n%s", code, out, errOut)
	}
	ctx := context.Background()
	if _, err := roles.Get(ctx, name, metav1.GetOptions{}); err != nil {
		t.Fatalf("Argo CD did not apply the ClusterRole: %v", err)
	}
	ref := "ClusterRole/" + name

	// Bound only to the namespaced Role, drift cannot read it: it says so,
	// names the ClusterRole to bind, and the environment stays clean.
	code, out, r := w.drift(t, nil)
	if code != 0 {
		t.Fatalf("without the ClusterRole: exit %d, want 0\n%s", code, out)
	}
	if f := wantFinding(t, r, drift.CheckGit, drift.Benign, "not-checked", ref); !strings.Contains(f.Message, "rbac-cluster.yaml") {
		t.Errorf("finding %q should name rbac-cluster.yaml", f.Message)
	}

	// With the shipped ClusterRole bound, it is compared: clean as synced.
	w.cluster.BindClusterRules(t, w.ns, "bluegreen", shippedClusterRules(t))
	code, out, r = w.drift(t, nil)
	if code != 0 {
		t.Fatalf("with the ClusterRole, nothing changed: exit %d, want 0\n%s", code, out)
	}
	for _, f := range findings(t, r, drift.CheckGit, drift.Benign) {
		if f.Object == ref && f.Class == "not-checked" {
			t.Errorf("still not checked with the permission: %+v", f)
		}
	}

	// Widened by hand: dangerous RBAC drift.
	live, err := roles.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	live.Rules[0].Verbs = append(live.Rules[0].Verbs, "list", "delete")
	if _, err := roles.Update(ctx, live, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	code, out, r = w.drift(t, nil)
	if code != 1 {
		t.Fatalf("widened ClusterRole: exit %d, want 1\n%s", code, out)
	}
	wantFinding(t, r, drift.CheckGit, drift.Dangerous, "rbac", ref)

	// Deleted by hand: missing.
	if err := roles.Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	code, out, r = w.drift(t, nil)
	if code != 1 {
		t.Fatalf("deleted ClusterRole: exit %d, want 1\n%s", code, out)
	}
	wantFinding(t, r, drift.CheckGit, drift.Dangerous, "missing", ref)
}
