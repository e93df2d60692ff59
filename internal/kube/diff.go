package kube

import (
	"context"
	"fmt"
	"strings"

	"github.com/pmezard/go-difflib/difflib"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"sigs.k8s.io/yaml"

	"gitlab.com/platform/bluegreen/internal/outcome"
)

// FieldManager is the name bluegreen's writes carry.
const FieldManager = "bluegreen"

// Differ compares objects with the live cluster the way `kubectl diff`
// does: a server-side apply in dry-run mode gives the object as the
// apiserver would store it, defaults and all, and that is compared with
// what is live. Only fields the apiserver or controllers always rewrite
// (metadata bookkeeping, status) are left out.
type Differ struct {
	Dynamic dynamic.Interface
	Mapper  meta.RESTMapper
}

// NewDiffer builds a Differ from a REST config.
func NewDiffer(cfg *rest.Config) (*Differ, error) {
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("dynamic client: %w", err)
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("discovery client: %w", err)
	}
	return &Differ{Dynamic: dyn, Mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))}, nil
}

// Change is what applying an object would do.
type Change struct {
	Ref    string // Kind/namespace/name
	Action string // create, update or none
	Diff   string // unified diff, live → applied; empty for none
}

// Diff returns one Change per object. ns is used for namespaced objects that
// carry no namespace of their own.
func (d *Differ) Diff(ctx context.Context, ns string, objs []*unstructured.Unstructured) ([]Change, error) {
	var out []Change
	for _, obj := range objs {
		c, err := d.diffOne(ctx, ns, obj.DeepCopy())
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

func (d *Differ) diffOne(ctx context.Context, ns string, obj *unstructured.Unstructured) (Change, error) {
	gvk := obj.GroupVersionKind()
	m, err := d.Mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return Change{}, outcome.Externalf("%s %s: the cluster does not know this kind: %w", gvk.Kind, obj.GetName(), err)
	}
	var rc dynamic.ResourceInterface = d.Dynamic.Resource(m.Resource)
	ref := gvk.Kind + "/" + obj.GetName()
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		if obj.GetNamespace() == "" {
			obj.SetNamespace(ns)
		}
		rc = d.Dynamic.Resource(m.Resource).Namespace(obj.GetNamespace())
		ref = gvk.Kind + "/" + obj.GetNamespace() + "/" + obj.GetName()
	}
	live, err := rc.Get(ctx, obj.GetName(), metav1.GetOptions{})
	if apierrors.IsForbidden(err) {
		return Change{}, outcome.Usagef("read %s: %w (bind the bluegreen-diff Role of templates/kubernetes/rbac.yaml)", ref, err)
	}
	if apierrors.IsNotFound(err) {
		live = nil
	} else if err != nil {
		return Change{}, outcome.Externalf("read %s: %w", ref, err)
	}
	applied, err := rc.Apply(ctx, obj.GetName(), obj, metav1.ApplyOptions{FieldManager: FieldManager, Force: true, DryRun: []string{metav1.DryRunAll}})
	if apierrors.IsForbidden(err) {
		return Change{}, outcome.Usagef("dry-run apply %s: %w (bind the bluegreen-diff Role of templates/kubernetes/rbac.yaml)", ref, err)
	}
	if err != nil {
		return Change{}, outcome.Externalf("dry-run apply %s: %w", ref, err)
	}
	after, err := normalized(applied)
	if err != nil {
		return Change{}, err
	}
	if live == nil {
		return Change{Ref: ref, Action: "create", Diff: unified("", after)}, nil
	}
	before, err := normalized(live)
	if err != nil {
		return Change{}, err
	}
	if before == after {
		return Change{Ref: ref, Action: "none"}, nil
	}
	return Change{Ref: ref, Action: "update", Diff: unified(before, after)}, nil
}

// normalized is the object as YAML without the fields every write changes.
func normalized(u *unstructured.Unstructured) (string, error) {
	o := u.DeepCopy()
	for _, f := range []string{"managedFields", "resourceVersion", "generation", "uid", "creationTimestamp", "selfLink"} {
		unstructured.RemoveNestedField(o.Object, "metadata", f)
	}
	unstructured.RemoveNestedField(o.Object, "metadata", "annotations", "kubectl.kubernetes.io/last-applied-configuration")
	unstructured.RemoveNestedField(o.Object, "metadata", "annotations", "deployment.kubernetes.io/revision")
	if a := o.GetAnnotations(); a != nil && len(a) == 0 {
		unstructured.RemoveNestedField(o.Object, "metadata", "annotations")
	}
	unstructured.RemoveNestedField(o.Object, "status")
	b, err := yaml.Marshal(o.Object)
	if err != nil {
		return "", fmt.Errorf("encode %s: %w", o.GetName(), err)
	}
	return string(b), nil
}

func unified(before, after string) string {
	s, _ := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A: difflib.SplitLines(before), B: difflib.SplitLines(after),
		FromFile: "live", ToFile: "rendered", Context: 3,
	})
	return strings.TrimRight(s, "\n")
}
