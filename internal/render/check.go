package render

import (
	"encoding/base64"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"

	"gitlab.com/platform/bluegreen/internal/names"
	"gitlab.com/platform/bluegreen/internal/outcome"
	"gitlab.com/platform/bluegreen/internal/plan"
)

// checkObject checks one input object before any rule sees it: its
// identity (apiVersion, kind, name and namespace by the apiserver's rules),
// its size as JSON (size), its pod spec's container names and its config
// data. Every refusal names the file, the object and the field.
func checkObject(src Source, u *unstructured.Unstructured, size int) error {
	if err := checkIdentity(src, u); err != nil {
		return err
	}
	ref := u.GetKind() + "/" + u.GetName() // safe to print: both are checked
	if size > MaxObjectSize {
		return sizeError(src, ref, size)
	}
	if err := checkContainers(src, ref, u); err != nil {
		return err
	}
	return checkConfigData(src, ref, u)
}

func checkIdentity(src Source, u *unstructured.Unstructured) error {
	kind := u.GetKind()
	switch {
	case u.GetAPIVersion() == "":
		return outcome.Usagef("%s: field apiVersion is missing", src)
	case kind == "":
		return outcome.Usagef("%s: field kind is missing", src)
	}
	// The apiserver holds a kind to the rule of a CRD's spec.names.kind.
	if errs := validation.IsDNS1035Label(strings.ToLower(kind)); len(errs) > 0 {
		return outcome.Usagef("%s: field kind %q is not a valid kind: %s", src, kind, strings.Join(errs, "; "))
	}
	if gv, err := schema.ParseGroupVersion(u.GetAPIVersion()); err != nil || gv.Version == "" {
		return outcome.Usagef("%s: %s: field apiVersion %q is not a group/version or a version", src, kind, u.GetAPIVersion())
	}
	if u.GetName() == "" {
		return outcome.Usagef("%s: %s: field metadata.name is missing", src, kind)
	}
	if err := names.Object(kind, u.GetName()); err != nil {
		return outcome.Usagef("%s: %s metadata.name: %w", src, kind, err)
	}
	if ns := u.GetNamespace(); ns != "" {
		if err := names.Namespace(ns); err != nil {
			return outcome.Usagef("%s: %s/%s metadata.namespace: %w", src, kind, u.GetName(), err)
		}
	}
	return nil
}

// checkContainers refuses a container, init container or ephemeral
// container without a name: the apiserver would refuse it, and --container
// chooses by name.
func checkContainers(src Source, ref string, u *unstructured.Unstructured) error {
	spec, base, ok := podSpec(&Object{Unstructured: u})
	if !ok {
		return nil
	}
	for _, group := range []string{"initContainers", "containers", "ephemeralContainers"} {
		v, present := spec[group]
		if !present || v == nil {
			continue
		}
		items, isList := v.([]any)
		if !isList {
			return outcome.Usagef("%s: %s: field %s.%s is not a list", src, ref, base, group)
		}
		for i, it := range items {
			field := fmt.Sprintf("%s.%s[%d]", base, group, i)
			c, isMap := it.(map[string]any)
			if !isMap {
				return outcome.Usagef("%s: %s: field %s is not a mapping", src, ref, field)
			}
			if name, _ := c["name"].(string); name == "" {
				return outcome.Usagef("%s: %s: field %s.name is missing; every container needs a name", src, ref, field)
			}
		}
	}
	return nil
}

// checkConfigData bounds a ConfigMap's data and binaryData, or a Secret's
// data and stringData, to MaxConfigData bytes, counted as the apiserver
// counts them: values only, base64 fields by their decoded length.
func checkConfigData(src Source, ref string, u *unstructured.Unstructured) error {
	if u.GroupVersionKind().Group != "" {
		return nil
	}
	var fields map[string]bool // field -> base64-encoded
	switch u.GetKind() {
	case "ConfigMap":
		fields = map[string]bool{"data": false, "binaryData": true}
	case "Secret":
		fields = map[string]bool{"data": true, "stringData": false}
	default:
		return nil
	}
	total := 0
	for _, field := range sortedKeys(fields) {
		v, present := u.Object[field]
		if !present || v == nil {
			continue
		}
		m, ok := v.(map[string]any)
		if !ok {
			return outcome.Usagef("%s: %s: field %s is not a mapping", src, ref, field)
		}
		for _, key := range sortedKeys(m) {
			s, ok := m[key].(string)
			if !ok {
				return outcome.Usagef("%s: %s: field %s[%q] is not a string", src, ref, field, key)
			}
			n := len(s)
			if fields[field] {
				n = base64.StdEncoding.DecodedLen(n) // at most; the apiserver decodes it
			}
			if total += n; total > MaxConfigData {
				return outcome.Usagef("%s: %s: %s holds more than %d bytes (MaxConfigData, the apiserver's limit for a %s)",
					src, ref, strings.Join(sortedKeys(fields), " and "), MaxConfigData, u.GetKind())
			}
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// checkRendered checks what the rules derived: every rendered object's
// name by the rule of its kind, as the apiserver would, so that a long
// input name cannot yield a coloured, hashed or preview name the cluster
// refuses.
func checkRendered(res *Result) error {
	for _, r := range res.Objects {
		kind, name := r.Obj.GetKind(), r.Obj.GetName()
		if r.Action == ActionPreview && len(r.src.GetName()) > names.MaxPreviewService {
			return outcome.Usagef("%s: %s: metadata.name is %d characters; at most %d, so that %s-preview is a valid Service name",
				r.src.Source, r.From, len(r.src.GetName()), names.MaxPreviewService, r.src.GetName())
		}
		if err := names.Object(kind, name); err != nil {
			return outcome.Usagef("%s: %s: metadata.name makes an invalid %s name (%s): %w", r.src.Source, r.From, kind, r.Action, err)
		}
	}
	return nil
}

// checkPath checks a rendered file's path, relative to RenderedDir: it must
// be inside one of the groups, and each element short enough for a file
// system.
func checkPath(p string, groups ...string) error {
	if err := names.Under(p, groups...); err != nil {
		return err
	}
	for _, el := range strings.Split(p, "/") {
		if len(el) > MaxFileName {
			return fmt.Errorf("file name %.40q… is %d bytes; at most %d (MaxFileName)", el, len(el), MaxFileName)
		}
	}
	return nil
}

// inside checks that the file rel, relative to RenderedDir under outDir,
// stays inside outDir once made absolute.
func inside(outDir, rel string) error {
	out, err := filepath.Abs(outDir)
	if err != nil {
		return err
	}
	abs := filepath.Join(out, RenderedDir, filepath.FromSlash(rel))
	if r, err := filepath.Rel(out, abs); err != nil || !filepath.IsLocal(r) {
		return fmt.Errorf("path %q resolves to %s, outside %s", rel, abs, out)
	}
	return nil
}

// groups are the folders a render of target may write into.
func groups(target plan.Color) []string { return []string{string(target), SharedGroup} }

// checkServicePorts refuses an active Service whose port numbers the
// apiserver would refuse: they go into the plan, and the preview URL.
func checkServicePorts(o *Object) error {
	for i, port := range sliceOfMaps(o.Object["spec"].(map[string]any)["ports"]) {
		n, ok := port["port"].(int64)
		if !ok || n < 1 || n > 65535 {
			return outcome.Usagef("%s: %s: spec.ports[%d].port %v is not a port number (1 to 65535)", o.Source, o.ref(), i, port["port"])
		}
	}
	return nil
}
