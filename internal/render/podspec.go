package render

import (
	"fmt"
)

// podSpecPath is where each workload kind keeps its pod spec.
var podSpecPath = map[string][]string{
	"Deployment":  {"spec", "template", "spec"},
	"Rollout":     {"spec", "template", "spec"},
	"ReplicaSet":  {"spec", "template", "spec"},
	"StatefulSet": {"spec", "template", "spec"},
	"DaemonSet":   {"spec", "template", "spec"},
	"Job":         {"spec", "template", "spec"},
	"CronJob":     {"spec", "jobTemplate", "spec", "template", "spec"},
	"Pod":         {"spec"},
}

// podSpec returns the object's pod spec and its field path, if it has one.
func podSpec(o *Object) (map[string]any, string, bool) {
	path, ok := podSpecPath[o.GetKind()]
	if !ok {
		return nil, "", false
	}
	m, ok := nestedMap(o.Object, path...)
	if !ok {
		return nil, "", false
	}
	return m, joinPath(path), true
}

// configRef is one reference from a pod spec to a ConfigMap or Secret.
type configRef struct {
	Kind     string         // ConfigMap or Secret
	Field    string         // full field path, for messages
	holder   map[string]any // the map that holds the name
	key      string         // "name", or "secretName" for secret volumes
	Optional bool
}

// Name is the referenced object's name.
func (r *configRef) Name() string { s, _ := r.holder[r.key].(string); return s }

// Rename points the reference at another object.
func (r *configRef) Rename(name string) { r.holder[r.key] = name }

// configRefs lists every ConfigMap and Secret reference of a pod spec: env,
// envFrom, volumes and projected volumes, in containers, init containers and
// ephemeral containers.
func configRefs(spec map[string]any, base string) []*configRef {
	var refs []*configRef
	add := func(kind, field string, holder map[string]any, key string) {
		if holder == nil {
			return
		}
		if _, ok := holder[key].(string); !ok {
			return
		}
		opt, _ := holder["optional"].(bool)
		refs = append(refs, &configRef{Kind: kind, Field: field + "." + key, holder: holder, key: key, Optional: opt})
	}
	for _, group := range []string{"initContainers", "containers", "ephemeralContainers"} {
		for i, c := range sliceOfMaps(spec[group]) {
			cpath := fmt.Sprintf("%s.%s[%d]", base, group, i)
			for j, e := range sliceOfMaps(c["env"]) {
				vf, _ := e["valueFrom"].(map[string]any)
				if vf == nil {
					continue
				}
				epath := fmt.Sprintf("%s.env[%d].valueFrom", cpath, j)
				add("ConfigMap", epath+".configMapKeyRef", asMap(vf["configMapKeyRef"]), "name")
				add("Secret", epath+".secretKeyRef", asMap(vf["secretKeyRef"]), "name")
			}
			for j, e := range sliceOfMaps(c["envFrom"]) {
				epath := fmt.Sprintf("%s.envFrom[%d]", cpath, j)
				add("ConfigMap", epath+".configMapRef", asMap(e["configMapRef"]), "name")
				add("Secret", epath+".secretRef", asMap(e["secretRef"]), "name")
			}
		}
	}
	for i, v := range sliceOfMaps(spec["volumes"]) {
		vpath := fmt.Sprintf("%s.volumes[%d]", base, i)
		add("ConfigMap", vpath+".configMap", asMap(v["configMap"]), "name")
		add("Secret", vpath+".secret", asMap(v["secret"]), "secretName")
		projected := asMap(v["projected"])
		for j, s := range sliceOfMaps(projected["sources"]) {
			spath := fmt.Sprintf("%s.projected.sources[%d]", vpath, j)
			add("ConfigMap", spath+".configMap", asMap(s["configMap"]), "name")
			add("Secret", spath+".secret", asMap(s["secret"]), "name")
		}
	}
	return refs
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func sliceOfMaps(v any) []map[string]any {
	items, _ := v.([]any)
	out := make([]map[string]any, 0, len(items))
	for _, it := range items {
		if m, ok := it.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

func nestedMap(obj map[string]any, path ...string) (map[string]any, bool) {
	cur := obj
	for _, p := range path {
		next, ok := cur[p].(map[string]any)
		if !ok {
			return nil, false
		}
		cur = next
	}
	return cur, true
}

func joinPath(path []string) string {
	s := ""
	for i, p := range path {
		if i > 0 {
			s += "."
		}
		s += p
	}
	return s
}
