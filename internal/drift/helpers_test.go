package drift

import (
	"flag"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// obj parses one object from YAML, as git holds it (numbers are floats).
func obj(t *testing.T, y string) *unstructured.Unstructured {
	t.Helper()
	var m map[string]any
	if err := yaml.Unmarshal([]byte(y), &m); err != nil {
		t.Fatal(err)
	}
	return &unstructured.Unstructured{Object: m}
}

// live parses an object as the apiserver returns it: integers are int64.
func live(t *testing.T, y string) *unstructured.Unstructured {
	t.Helper()
	u := obj(t, y)
	u.Object = ints(u.Object).(map[string]any)
	return u
}

func ints(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = ints(e)
		}
	case []any:
		for i, e := range x {
			x[i] = ints(e)
		}
	case float64:
		if x == float64(int64(x)) {
			return int64(x)
		}
	}
	return v
}

// snapshotOf builds a snapshot from live objects, as readSnapshot would.
func snapshotOf(t *testing.T, ns string, objs ...*unstructured.Unstructured) *snapshot {
	t.Helper()
	s := &snapshot{ns: ns, lists: map[schema.GroupVersionKind][]*unstructured.Unstructured{}, errs: map[schema.GroupVersionKind]error{},
		index: map[schema.GroupVersionKind]map[string]*unstructured.Unstructured{}}
	for _, k := range baseKinds {
		s.lists[k] = nil
		s.index[k] = map[string]*unstructured.Unstructured{}
	}
	for _, o := range objs {
		k := o.GroupVersionKind()
		s.lists[k] = append(s.lists[k], o)
		if s.index[k] == nil {
			s.index[k] = map[string]*unstructured.Unstructured{}
		}
		s.index[k][o.GetName()] = o
	}
	if err := s.typed(); err != nil {
		t.Fatal(err)
	}
	return s
}
