package drift

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/metadata"

	"gitlab.com/platform/bluegreen/internal/outcome"
)

// Live lists the objects of one kind in a namespace, as the apiserver
// returns them.
type Live interface {
	List(ctx context.Context, ns string, gvk schema.GroupVersionKind) ([]*unstructured.Unstructured, error)
}

// ClusterReader reads one cluster-scoped object by name: nil when there is
// none. A Live that is also a ClusterReader lets drift compare the
// cluster-scoped objects in git (ClusterRoles and the like); without it, or
// without the permission (ErrNoClusterAccess), they are reported as not
// checked.
type ClusterReader interface {
	GetCluster(ctx context.Context, gvk schema.GroupVersionKind, name string) (*unstructured.Unstructured, error)
}

// Errors of Live.List and ClusterReader.GetCluster that concern the kind,
// not the cluster.
var (
	ErrUnknownKind     = errors.New("the cluster does not serve this kind")
	ErrClusterScoped   = errors.New("a cluster-scoped kind; drift reads only the app's namespace")
	ErrNoClusterAccess = errors.New("no permission to read it: bind the ClusterRole in templates/kubernetes/rbac-cluster.yaml")
)

// Kube is Live over client-go: one List per kind (paged), through the
// dynamic client, except Secrets, which it lists through the metadata
// client: drift never fetches Secret data.
type Kube struct {
	Dynamic  dynamic.Interface
	Metadata metadata.Interface
	Mapper   meta.RESTMapper
}

var secretGVK = schema.GroupVersionKind{Version: "v1", Kind: "Secret"}

// List implements Live.
func (k Kube) List(ctx context.Context, ns string, gvk schema.GroupVersionKind) ([]*unstructured.Unstructured, error) {
	m, err := k.mapping(gvk)
	if err != nil {
		return nil, err
	}
	if m.Scope.Name() != meta.RESTScopeNameNamespace {
		return nil, fmt.Errorf("%s: %w", gvk.Kind, ErrClusterScoped)
	}
	var out []*unstructured.Unstructured
	opts := metav1.ListOptions{Limit: 500}
	for {
		var next string
		if gvk == secretGVK {
			l, err := k.Metadata.Resource(m.Resource).Namespace(ns).List(ctx, opts)
			if err != nil {
				return nil, listError(ns, m.Resource.Resource, err)
			}
			for i := range l.Items {
				u, err := metadataObject(gvk, &l.Items[i])
				if err != nil {
					return nil, err
				}
				out = append(out, u)
			}
			next = l.Continue
		} else {
			l, err := k.Dynamic.Resource(m.Resource).Namespace(ns).List(ctx, opts)
			if err != nil {
				return nil, listError(ns, m.Resource.Resource, err)
			}
			for i := range l.Items {
				out = append(out, &l.Items[i])
			}
			next = l.GetContinue()
		}
		if next == "" {
			return out, nil
		}
		opts.Continue = next
	}
}

// GetCluster implements ClusterReader.
func (k Kube) GetCluster(ctx context.Context, gvk schema.GroupVersionKind, name string) (*unstructured.Unstructured, error) {
	m, err := k.mapping(gvk)
	if err != nil {
		return nil, err
	}
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		return nil, fmt.Errorf("%s is namespaced", gvk.Kind)
	}
	u, err := k.Dynamic.Resource(m.Resource).Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return nil, nil
	case apierrors.IsForbidden(err):
		return nil, fmt.Errorf("%s %s: %w", gvk.Kind, name, ErrNoClusterAccess)
	case err != nil:
		return nil, outcome.Externalf("get %s %s: %w", m.Resource.Resource, name, err)
	}
	return u, nil
}

// mapping finds gvk's resource: ErrUnknownKind when the cluster does not
// serve it, an external error when discovery fails.
func (k Kube) mapping(gvk schema.GroupVersionKind) (*meta.RESTMapping, error) {
	m, err := k.Mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if meta.IsNoMatchError(err) {
		return nil, fmt.Errorf("%s: %w", gvk, ErrUnknownKind)
	}
	if err != nil {
		return nil, outcome.Externalf("discover %s: %w", gvk, err)
	}
	return m, nil
}

func metadataObject(gvk schema.GroupVersionKind, p *metav1.PartialObjectMetadata) (*unstructured.Unstructured, error) {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&p.ObjectMeta)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", gvk.Kind, p.Name, err)
	}
	u := &unstructured.Unstructured{Object: map[string]any{"metadata": m}}
	u.SetGroupVersionKind(gvk)
	return u, nil
}

func listError(ns, resource string, err error) error {
	if apierrors.IsForbidden(err) {
		return outcome.Usagef("list %s in %s: %w (the bluegreen Role of templates/kubernetes/rbac.yaml needs list on %s)", resource, ns, err, resource)
	}
	return outcome.Externalf("list %s in %s: %w", resource, ns, err)
}

// The kinds every run lists, at the versions bluegreen renders.
var (
	serviceGVK    = schema.GroupVersionKind{Version: "v1", Kind: "Service"}
	podGVK        = schema.GroupVersionKind{Version: "v1", Kind: "Pod"}
	configMapGVK  = schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}
	deploymentGVK = schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}
	replicaSetGVK = schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "ReplicaSet"}
	sliceGVK      = schema.GroupVersionKind{Group: "discovery.k8s.io", Version: "v1", Kind: "EndpointSlice"}
	hpaGVK        = schema.GroupVersionKind{Group: "autoscaling", Version: "v2", Kind: "HorizontalPodAutoscaler"}
	pdbGVK        = schema.GroupVersionKind{Group: "policy", Version: "v1", Kind: "PodDisruptionBudget"}
	baseKinds     = []schema.GroupVersionKind{serviceGVK, podGVK, configMapGVK, secretGVK, deploymentGVK, replicaSetGVK, sliceGVK, hpaGVK, pdbGVK}
)

// snapshot is the namespace's objects, read once per run for every app.
type snapshot struct {
	ns    string
	lists map[schema.GroupVersionKind][]*unstructured.Unstructured
	errs  map[schema.GroupVersionKind]error // kinds that could not be listed
	index map[schema.GroupVersionKind]map[string]*unstructured.Unstructured

	// cluster holds the cluster-scoped objects git names, by objKey: nil
	// for one that does not exist; clusterErrs why one could not be read.
	cluster     map[string]*unstructured.Unstructured
	clusterErrs map[string]error

	services    []corev1.Service
	deployments []appsv1.Deployment
	replicaSets []appsv1.ReplicaSet
	pods        []corev1.Pod
	slices      []discoveryv1.EndpointSlice
	hpas        []autoscalingv2.HorizontalPodAutoscaler
}

// readSnapshot lists the base kinds, in parallel. A base kind that cannot
// be listed fails the snapshot.
func readSnapshot(ctx context.Context, live Live, ns string) (*snapshot, error) {
	s := &snapshot{ns: ns, lists: map[schema.GroupVersionKind][]*unstructured.Unstructured{}, errs: map[schema.GroupVersionKind]error{},
		index: map[schema.GroupVersionKind]map[string]*unstructured.Unstructured{}}
	// Rollouts are listed when the cluster serves them; a cluster without
	// Argo Rollouts only has no Rollout apps.
	s.list(ctx, live, append(append([]schema.GroupVersionKind{}, baseKinds...), rolloutGVK))
	for _, k := range baseKinds {
		if err := s.errs[k]; err != nil {
			return nil, err
		}
	}
	if err := s.typed(); err != nil {
		return nil, err
	}
	return s, nil
}

// add lists more kinds (those of the objects in git). A kind that cannot be
// listed is remembered, and fails only the comparisons of its objects.
func (s *snapshot) add(ctx context.Context, live Live, kinds []schema.GroupVersionKind) {
	var todo []schema.GroupVersionKind
	for _, k := range kinds {
		_, listed := s.lists[k]
		_, failed := s.errs[k]
		if !listed && !failed {
			todo = append(todo, k)
		}
	}
	s.list(ctx, live, todo)
}

// list lists kinds in parallel into the snapshot.
func (s *snapshot) list(ctx context.Context, live Live, kinds []schema.GroupVersionKind) {
	var mu sync.Mutex
	parallel(len(kinds), 8, func(i int) {
		items, err := live.List(ctx, s.ns, kinds[i])
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			s.errs[kinds[i]] = err
			return
		}
		s.lists[kinds[i]] = items
		idx := make(map[string]*unstructured.Unstructured, len(items))
		for _, u := range items {
			idx[u.GetName()] = u
		}
		s.index[kinds[i]] = idx
	})
}

// typed converts the kinds the invariants read into client-go's types.
func (s *snapshot) typed() error {
	conv := func(gvk schema.GroupVersionKind, into func(*unstructured.Unstructured) error) error {
		for _, u := range s.lists[gvk] {
			if err := into(u); err != nil {
				return fmt.Errorf("decode %s %s: %w", gvk.Kind, u.GetName(), err)
			}
		}
		return nil
	}
	from := runtime.DefaultUnstructuredConverter.FromUnstructured
	return errors.Join(
		conv(serviceGVK, func(u *unstructured.Unstructured) error {
			var o corev1.Service
			err := from(u.Object, &o)
			s.services = append(s.services, o)
			return err
		}),
		conv(deploymentGVK, func(u *unstructured.Unstructured) error {
			var o appsv1.Deployment
			err := from(u.Object, &o)
			s.deployments = append(s.deployments, o)
			return err
		}),
		conv(replicaSetGVK, func(u *unstructured.Unstructured) error {
			var o appsv1.ReplicaSet
			err := from(u.Object, &o)
			s.replicaSets = append(s.replicaSets, o)
			return err
		}),
		conv(podGVK, func(u *unstructured.Unstructured) error {
			var o corev1.Pod
			err := from(u.Object, &o)
			s.pods = append(s.pods, o)
			return err
		}),
		conv(sliceGVK, func(u *unstructured.Unstructured) error {
			var o discoveryv1.EndpointSlice
			err := from(u.Object, &o)
			s.slices = append(s.slices, o)
			return err
		}),
		conv(hpaGVK, func(u *unstructured.Unstructured) error {
			var o autoscalingv2.HorizontalPodAutoscaler
			err := from(u.Object, &o)
			s.hpas = append(s.hpas, o)
			return err
		}),
	)
}

// get returns the live object of gvk and name, or nil; err says why the
// kind could not be read.
func (s *snapshot) get(gvk schema.GroupVersionKind, name string) (*unstructured.Unstructured, error) {
	if err := s.errs[gvk]; err != nil {
		if errors.Is(err, ErrClusterScoped) {
			key := objKey(gvk.Group, gvk.Kind, name)
			if u, ok := s.cluster[key]; ok {
				return u, nil
			}
			if cerr, ok := s.clusterErrs[key]; ok {
				return nil, cerr
			}
		}
		return nil, err
	}
	return s.index[gvk][name], nil
}

// addCluster reads the cluster-scoped objects among objs, in parallel, when
// live can (a ClusterReader); add must have listed their kinds first.
func (s *snapshot) addCluster(ctx context.Context, live Live, objs []*unstructured.Unstructured) {
	cr, ok := live.(ClusterReader)
	if !ok {
		return
	}
	var todo []*unstructured.Unstructured
	seen := map[string]bool{}
	for _, o := range objs {
		gvk := o.GroupVersionKind()
		key := objKey(gvk.Group, gvk.Kind, o.GetName())
		if errors.Is(s.errs[gvk], ErrClusterScoped) && !seen[key] {
			seen[key] = true
			todo = append(todo, o)
		}
	}
	if s.cluster == nil {
		s.cluster, s.clusterErrs = map[string]*unstructured.Unstructured{}, map[string]error{}
	}
	var mu sync.Mutex
	parallel(len(todo), 8, func(i int) {
		gvk := todo[i].GroupVersionKind()
		u, err := cr.GetCluster(ctx, gvk, todo[i].GetName())
		key := objKey(gvk.Group, gvk.Kind, todo[i].GetName())
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			s.clusterErrs[key] = err
			return
		}
		s.cluster[key] = u
	})
}

// parallel runs fn(0..n-1) on at most width goroutines and waits.
func parallel(n, width int, fn func(i int)) {
	sem := make(chan struct{}, width)
	var wg sync.WaitGroup
	var once sync.Once
	var crash any
	for i := 0; i < n; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			// A panic here would end the process with Go's status 2
			// ("bad input"); carry it to the caller, whose goroutine the
			// command's recover covers (exit 70).
			defer func() {
				if v := recover(); v != nil {
					once.Do(func() { crash = fmt.Sprintf("%v\n%s", v, debug.Stack()) })
				}
			}()
			fn(i)
		}()
	}
	wg.Wait()
	if crash != nil {
		panic(crash)
	}
}
