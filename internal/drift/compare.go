package drift

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// changeKind says on which side a difference is.
type changeKind string

const (
	changed  changeKind = "changed"   // both sides set it, to different values
	gitOnly  changeKind = "git-only"  // git sets it; the cluster does not have it
	liveOnly changeKind = "live-only" // the cluster has it; git does not set it
)

// change is one difference between an object in git and the same object
// in the cluster, at a path of map keys and list items ("[name=web]").
type change struct {
	path      []string
	kind      changeKind
	git, live any
}

// bookkeeping are the metadata fields every write changes, as
// internal/kube's diff leaves them out, plus the namespace (git usually has
// none: Argo CD puts objects in the Application's destination).
var bookkeeping = []string{"managedFields", "resourceVersion", "generation", "uid", "creationTimestamp", "selfLink", "namespace"}

// normalize returns the object without bookkeeping fields, status and the
// annotations kubectl and the Deployment controller keep. A Secret keeps
// only its metadata: drift never reads Secret data (see README.md).
func normalize(u *unstructured.Unstructured) map[string]any {
	o := u.DeepCopy().Object
	for _, f := range bookkeeping {
		unstructured.RemoveNestedField(o, "metadata", f)
	}
	unstructured.RemoveNestedField(o, "metadata", "annotations", "kubectl.kubernetes.io/last-applied-configuration")
	unstructured.RemoveNestedField(o, "metadata", "annotations", "deployment.kubernetes.io/revision")
	delete(o, "status")
	if u.GetKind() == "Secret" && u.GroupVersionKind().Group == "" {
		for k := range o {
			if k != "metadata" && k != "apiVersion" && k != "kind" {
				delete(o, k)
			}
		}
	}
	return o
}

// compare lists the differences between git's object and the live one,
// both normalised, in a stable order.
func compare(git, live *unstructured.Unstructured) []change {
	var out []change
	walk(normalize(git), normalize(live), nil, &out)
	return out
}

func walk(g, l any, path []string, out *[]change) {
	switch gv := g.(type) {
	case map[string]any:
		lv, ok := l.(map[string]any)
		if !ok {
			addChange(gv, l, path, out)
			return
		}
		for _, k := range sortedKeys(gv) {
			switch lvv, ok := lv[k]; {
			case ok:
				walk(gv[k], lvv, with(path, k), out)
			case perKey(path, k):
				walk(gv[k], map[string]any{}, with(path, k), out)
			case !isEmpty(gv[k]):
				*out = append(*out, change{path: with(path, k), kind: gitOnly, git: gv[k]})
			}
		}
		for _, k := range sortedKeys(lv) {
			if _, ok := gv[k]; ok || isEmpty(lv[k]) {
				continue
			}
			if perKey(path, k) {
				walk(map[string]any{}, lv[k], with(path, k), out)
				continue
			}
			*out = append(*out, change{path: with(path, k), kind: liveOnly, live: lv[k]})
		}
	case []any:
		lv, ok := l.([]any)
		if !ok {
			addChange(gv, l, path, out)
			return
		}
		walkList(gv, lv, path, out)
	default:
		if !scalarEqual(g, l, path) {
			addChange(g, l, path, out)
		}
	}
}

// perKey reports whether a map that only one side has is compared key by
// key: labels and annotations, whose keys have owners of their own.
func perKey(path []string, key string) bool {
	return len(path) == 1 && path[0] == "metadata" && (key == "labels" || key == "annotations")
}

func addChange(g, l any, path []string, out *[]change) {
	switch {
	case isEmpty(g) && isEmpty(l):
	case isEmpty(l):
		*out = append(*out, change{path: path, kind: gitOnly, git: g})
	case isEmpty(g):
		*out = append(*out, change{path: path, kind: liveOnly, live: l})
	default:
		*out = append(*out, change{path: path, kind: changed, git: g, live: l})
	}
}

// walkList matches list items by a key field when they have one (name,
// port, mountPath, ...), else by position. Lists of scalars compare whole.
func walkList(g, l []any, path []string, out *[]change) {
	if key := listKey(g, l); key != "" {
		live := map[string]any{}
		for _, item := range l {
			live[keyOf(item, key)] = item
		}
		seen := map[string]bool{}
		for _, item := range g {
			k := keyOf(item, key)
			seen[k] = true
			p := with(path, "["+key+"="+k+"]")
			if li, ok := live[k]; ok {
				walk(item, li, p, out)
			} else {
				*out = append(*out, change{path: p, kind: gitOnly, git: item})
			}
		}
		for _, item := range l {
			if k := keyOf(item, key); !seen[k] {
				*out = append(*out, change{path: with(path, "["+key+"="+k+"]"), kind: liveOnly, live: item})
			}
		}
		return
	}
	if scalars(g) && scalars(l) {
		if !scalarListEqual(g, l, path) {
			addChange(g, l, path, out)
		}
		return
	}
	for i := 0; i < len(g) || i < len(l); i++ {
		p := with(path, fmt.Sprintf("[%d]", i))
		switch {
		case i >= len(l):
			*out = append(*out, change{path: p, kind: gitOnly, git: g[i]})
		case i >= len(g):
			*out = append(*out, change{path: p, kind: liveOnly, live: l[i]})
		default:
			walk(g[i], l[i], p, out)
		}
	}
}

// keyFields are the fields that identify list items, in order of preference.
var keyFields = []string{"name", "containerPort", "port", "mountPath", "devicePath"}

// listKey returns the first key field that every item of both lists has,
// with a scalar value unique within each list, or "".
func listKey(lists ...[]any) string {
	for _, f := range keyFields {
		ok := true
		for _, list := range lists {
			seen := map[string]bool{}
			for _, item := range list {
				m, isMap := item.(map[string]any)
				v, has := m[f]
				if !isMap || !has || !isScalar(v) || seen[fmt.Sprint(v)] {
					ok = false
					break
				}
				seen[fmt.Sprint(v)] = true
			}
			if !ok {
				break
			}
		}
		if ok && (len(lists[0]) > 0 || len(lists[1]) > 0) {
			return f
		}
	}
	return ""
}

func keyOf(item any, key string) string {
	m, _ := item.(map[string]any)
	return scalarString(m[key])
}

func with(path []string, seg string) []string {
	p := make([]string, len(path), len(path)+1)
	copy(p, path)
	return append(p, seg)
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func isEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case map[string]any:
		return len(x) == 0
	case []any:
		return len(x) == 0
	}
	return false
}

func isScalar(v any) bool {
	switch v.(type) {
	case map[string]any, []any:
		return false
	}
	return true
}

func scalars(l []any) bool {
	for _, v := range l {
		if !isScalar(v) {
			return false
		}
	}
	return true
}

func scalarListEqual(g, l []any, path []string) bool {
	if len(g) != len(l) {
		return false
	}
	for i := range g {
		if !scalarEqual(g[i], l[i], path) {
			return false
		}
	}
	return true
}

// quantityFields are path segments under which values are resource
// quantities, which the apiserver may write in another form ("0.5" is
// stored as "500m", 1 as "1").
var quantityFields = map[string]bool{"resources": true, "limits": true, "requests": true, "hard": true, "sizeLimit": true, "divisor": true, "overhead": true}

// scalarEqual compares two scalars the way the apiserver stores them:
// numbers by value (YAML gives floats, the apiserver integers), and
// quantities by amount.
func scalarEqual(g, l any, path []string) bool {
	gs, ls := scalarString(g), scalarString(l)
	if gs == ls {
		return true
	}
	for _, seg := range path {
		if quantityFields[seg] {
			gq, err1 := resource.ParseQuantity(gs)
			lq, err2 := resource.ParseQuantity(ls)
			return err1 == nil && err2 == nil && gq.Cmp(lq) == 0
		}
	}
	return false
}

// scalarString formats a scalar so that equal values from YAML and from the
// apiserver's JSON format alike: 2.0 and int64(2) are both "2".
func scalarString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1e15 {
			return strconv.FormatInt(int64(x), 10)
		}
		return strconv.FormatFloat(x, 'g', -1, 64)
	case float32:
		return scalarString(float64(x))
	case int64:
		return strconv.FormatInt(x, 10)
	case int:
		return strconv.Itoa(x)
	case int32:
		return strconv.FormatInt(int64(x), 10)
	case bool:
		return strconv.FormatBool(x)
	}
	return fmt.Sprint(v)
}

// pathString shows a path the way a reader finds the field:
// spec.template.spec.containers[name=web].image,
// metadata.annotations["bluegreen.dev/live-color"].
func pathString(path []string) string {
	var b strings.Builder
	for _, seg := range path {
		switch {
		case strings.HasPrefix(seg, "["):
			b.WriteString(seg)
		case strings.ContainsAny(seg, "./"):
			fmt.Fprintf(&b, "[%q]", seg)
		default:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(seg)
		}
	}
	return b.String()
}

// match reports whether path starts with pattern, whose "[]" matches any
// list item and "*" any one segment.
func match(pattern, path []string) bool {
	if len(pattern) > len(path) {
		return false
	}
	for i, p := range pattern {
		switch {
		case p == "*":
		case p == "[]":
			if !strings.HasPrefix(path[i], "[") {
				return false
			}
		case p != path[i]:
			return false
		}
	}
	return true
}

// has reports whether any segment of path is one of segs.
func has(path []string, segs ...string) bool {
	for _, p := range path {
		for _, s := range segs {
			if p == s {
				return true
			}
		}
	}
	return false
}
