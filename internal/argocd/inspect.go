package argocd

import (
	"context"
	"fmt"

	"github.com/argoproj/argo-cd/v3/pkg/apiclient/application"
	"github.com/argoproj/argo-cd/v3/pkg/apis/application/v1alpha1"
)

// Policy is an Application's automated-sync stance.
type Policy struct {
	Automated bool // Argo CD syncs by itself when git changes
	SelfHeal  bool // ... and when the cluster drifts from git: it undoes direct changes
	Prune     bool // automated syncs delete resources that left git
}

// App is what a drift check needs of an Application: its status, its
// stance, and the live resources it would prune.
type App struct {
	Status
	Policy Policy
	// Pruning lists resources Argo CD tracks that are no longer in git.
	Pruning []Resource
}

// Inspect reads app. With refresh, Argo CD first compares the live state
// with git again (a "normal" refresh; the call returns once it is done), so
// that the status is current rather than as of the last reconcile.
func (c *Client) Inspect(ctx context.Context, app string, refresh bool) (App, error) {
	var out App
	q := &application.ApplicationQuery{Name: &app}
	if refresh {
		q.Refresh = ptr(string(v1alpha1.RefreshTypeNormal))
	}
	err := c.call(ctx, func(ctx context.Context, apps application.ApplicationServiceClient) error {
		a, err := apps.Get(ctx, q)
		if err != nil {
			return err
		}
		out = appOf(a)
		if !needsTree(a) {
			return nil
		}
		tree, err := apps.ResourceTree(ctx, &application.ResourcesQuery{ApplicationName: &app})
		if err != nil {
			return err
		}
		addTreeHealth(&out.Status, tree)
		return nil
	})
	if err != nil {
		return App{}, fmt.Errorf("argocd get %q: %w", app, err)
	}
	return out, nil
}

func appOf(a *v1alpha1.Application) App {
	out := App{Status: statusOf(a)}
	if p := a.Spec.SyncPolicy; p != nil && p.IsAutomatedSyncEnabled() {
		out.Policy = Policy{Automated: true, SelfHeal: p.Automated.GetSelfHeal(), Prune: p.Automated.GetPrune()}
	}
	for _, r := range out.Resources {
		if r.RequiresPruning {
			out.Pruning = append(out.Pruning, r)
		}
	}
	return out
}

// ResourceRef names one resource of an Application. An empty Namespace
// matches the name in any namespace, as Argo CD's selective sync does.
type ResourceRef struct {
	Group, Kind, Namespace, Name string
}

func (r ResourceRef) String() string {
	kind := r.Kind
	if r.Group != "" {
		kind += "." + r.Group
	}
	if r.Namespace == "" {
		return kind + " " + r.Name
	}
	return kind + " " + r.Namespace + "/" + r.Name
}

// matches reports whether res is the resource r names.
func (r ResourceRef) matches(res Resource) bool {
	return r.Group == res.Group && r.Kind == res.Kind && r.Name == res.Name && (r.Namespace == "" || r.Namespace == res.Namespace)
}

func anyMatches(refs []ResourceRef, res Resource) bool {
	for _, r := range refs {
		if r.matches(res) {
			return true
		}
	}
	return false
}

// SyncOnly syncs only the named resources of app at revision (a selective
// sync); with prune, those of them that left git are deleted, and nothing
// else is. Like Sync, an operation at that revision that is already running
// counts as done.
func (c *Client) SyncOnly(ctx context.Context, app, revision string, resources []ResourceRef, prune bool) error {
	req := &application.ApplicationSyncRequest{Name: &app, Revision: &revision, Prune: &prune}
	for _, r := range resources {
		req.Resources = append(req.Resources, &v1alpha1.SyncOperationResource{Group: r.Group, Kind: r.Kind, Namespace: r.Namespace, Name: r.Name})
	}
	if err := c.sync(ctx, app, revision, req); err != nil {
		return fmt.Errorf("argocd sync %q at %s (%d resources): %w", app, revision, len(resources), err)
	}
	return nil
}

func ptr[T any](v T) *T { return &v }
