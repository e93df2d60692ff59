package kube

import (
	"context"
	"fmt"
	"strings"

	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
)

// Inspector answers a preflight's questions about the cluster without
// changing it: what the caller may do (SelfSubjectAccessReview, which
// stores nothing), and whether an object is there.
type Inspector struct {
	Client  kubernetes.Interface
	Dynamic dynamic.Interface
}

// Allowed reports whether the caller may verb resource (or
// "resource/subresource") of group in ns, with the authorizer's reason.
func (i Inspector) Allowed(ctx context.Context, ns, group, resource, verb string) (bool, string, error) {
	res, sub, _ := strings.Cut(resource, "/")
	r, err := i.Client.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, &authorizationv1.SelfSubjectAccessReview{
		Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authorizationv1.ResourceAttributes{
			Namespace: ns, Group: group, Resource: res, Subresource: sub, Verb: verb,
		}},
	}, metav1.CreateOptions{})
	if err != nil {
		return false, "", fmt.Errorf("access review %s %s in %s: %w", verb, resource, ns, err)
	}
	return r.Status.Allowed, r.Status.Reason, nil
}

// Presence is whether an object is there, as the caller can tell.
type Presence int

// The presences.
const (
	Present   Presence = iota
	Absent             // not found (or its kind is not installed)
	Forbidden          // the caller may not read it
)

// versions are the API versions of the kinds a preflight reads.
var versions = map[string]string{"": "v1", "apps": "v1", "coordination.k8s.io": "v1", "argoproj.io": "v1alpha1"}

// Lookup reads the object name of group's resource in ns.
func (i Inspector) Lookup(ctx context.Context, ns, group, resource, name string) (*unstructured.Unstructured, Presence, error) {
	gvr := schema.GroupVersionResource{Group: group, Version: versions[group], Resource: resource}
	u, err := i.Dynamic.Resource(gvr).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
	switch {
	case err == nil:
		return u, Present, nil
	case apierrors.IsNotFound(err):
		return nil, Absent, nil
	case apierrors.IsForbidden(err):
		return nil, Forbidden, nil
	}
	return nil, Absent, fmt.Errorf("read %s %s/%s: %w", resource, ns, name, err)
}
