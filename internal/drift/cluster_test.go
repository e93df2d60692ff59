package drift

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var clusterRoleGVK = schema.GroupVersionKind{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "ClusterRole"}

// clusterLive is a Live whose namespace lists refuse cluster-scoped kinds,
// and whose ClusterReader serves objs (or the error for a name).
type clusterLive struct {
	objs map[string]*unstructured.Unstructured
	errs map[string]error
	gets int
}

func (c *clusterLive) List(context.Context, string, schema.GroupVersionKind) ([]*unstructured.Unstructured, error) {
	return nil, fmt.Errorf("ClusterRole: %w", ErrClusterScoped)
}

func (c *clusterLive) GetCluster(_ context.Context, _ schema.GroupVersionKind, name string) (*unstructured.Unstructured, error) {
	c.gets++
	return c.objs[name], c.errs[name]
}

func TestCheckGit_ClusterScopedObjectsAreComparedWhenReadable(t *testing.T) {
	t.Parallel()
	role := func(verbs string) string {
		return `{apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRole, metadata: {name: %s}, rules: [{apiGroups: [""], resources: [pods], verbs: [` + verbs + `]}]}`
	}
	files := map[string]string{}
	for _, name := range []string{"same", "widened", "gone", "hidden"} {
		files["shared/"+name+".yaml"] = fmt.Sprintf(role("get"), name)
	}
	g := gitOf(t, "production/shop", files)
	cl := &clusterLive{
		objs: map[string]*unstructured.Unstructured{
			"same":    live(t, fmt.Sprintf(role("get"), "same")),
			"widened": live(t, fmt.Sprintf(role("get, list, delete"), "widened")),
		},
		errs: map[string]error{"hidden": fmt.Errorf("ClusterRole hidden: %w", ErrNoClusterAccess)},
	}
	s, a := snap(t, promotedObjects(t))
	s.add(context.Background(), cl, []schema.GroupVersionKind{clusterRoleGVK})
	s.addCluster(context.Background(), cl, gitObjects(map[string]*gitApp{"shop": g}))
	if cl.gets != 4 {
		t.Errorf("%d reads, want one per cluster-scoped object", cl.gets)
	}
	fs, verdicts, err := checkGit(s, a, g)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Finding{}
	for _, f := range fs {
		got[f.Object+" "+f.Class] = f
	}
	for key, want := range map[string]Severity{
		"ClusterRole/widened rbac":       Dangerous,
		"ClusterRole/gone missing":       Dangerous,
		"ClusterRole/hidden not-checked": Benign,
	} {
		if f, ok := got[key]; !ok || f.Severity != want {
			t.Errorf("%s: %+v, want %s (all: %v)", key, f, want, keysOf(got))
		}
	}
	if f := got["ClusterRole/hidden not-checked"]; !strings.Contains(f.Message, "rbac-cluster.yaml") {
		t.Errorf("the unreadable object's finding should say which ClusterRole to bind: %q", f.Message)
	}
	for k := range got {
		if strings.HasPrefix(k, "ClusterRole/same ") {
			t.Errorf("an unchanged ClusterRole has a finding: %s", k)
		}
	}
	if v := verdicts["rbac.authorization.k8s.io/ClusterRole/same"]; v.severity != "" {
		t.Errorf("verdict of the unchanged ClusterRole = %+v", v)
	}
}

// A Live that cannot read cluster-scoped objects keeps the old answer.
func TestCheckGit_ClusterScopedWithoutAReaderIsNotChecked(t *testing.T) {
	t.Parallel()
	g := gitOf(t, "production/shop", map[string]string{"shared/r.yaml": `{apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRole, metadata: {name: r}}`})
	s, a := snap(t, promotedObjects(t))
	s.errs[clusterRoleGVK] = fmt.Errorf("ClusterRole: %w", ErrClusterScoped)
	s.addCluster(context.Background(), listOnly{}, gitObjects(map[string]*gitApp{"shop": g}))
	fs, _, err := checkGit(s, a, g)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, f := range fs {
		found = found || f.Object == "ClusterRole/r" && f.Class == "not-checked" && f.Severity == Benign
	}
	if !found {
		t.Errorf("findings %+v, want ClusterRole/r not checked", fs)
	}
}

type listOnly struct{}

func (listOnly) List(context.Context, string, schema.GroupVersionKind) ([]*unstructured.Unstructured, error) {
	return nil, nil
}

func keysOf(m map[string]Finding) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestParallel_CarriesAPanicToTheCaller(t *testing.T) {
	t.Parallel()
	defer func() {
		v := recover()
		if v == nil || !strings.Contains(fmt.Sprint(v), "boom 3") {
			t.Errorf("recovered %v, want the worker's panic", v)
		}
	}()
	parallel(5, 2, func(i int) {
		if i == 3 {
			panic(fmt.Sprintf("boom %d", i))
		}
	})
	t.Error("parallel returned although a worker panicked")
}
