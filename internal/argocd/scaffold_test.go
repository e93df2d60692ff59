package argocd

import (
	"testing"

	"github.com/argoproj/argo-cd/v3/pkg/apis/application/v1alpha1"
	"sigs.k8s.io/yaml"

	"gitlab.com/platform/bluegreen/internal/plan"
	"gitlab.com/platform/bluegreen/internal/scaffold"
)

// The Argo CD objects `bluegreen init` writes are tested here, the one
// package that may link Argo CD: they decode strictly into Argo CD's own
// types, and the Application passes the judgement drift and doctor make of
// it (automated sync without selfHeal, the GitOps folder, recursive).
func TestScaffold_ApplicationAndProjectAreArgoCDsOwnTypesAndPassTheJudgement(t *testing.T) {
	t.Parallel()
	spec := scaffold.Spec{
		App: "checkout", Environment: "review/shop", Namespace: "shop", Manifests: "deploy/k8s", Image: "$CI_REGISTRY_IMAGE:$CI_COMMIT_SHORT_SHA",
		GitOps: scaffold.GitOps{Project: "platform/gitops", Branch: "main", Path: "review/shop/checkout"},
		ArgoCD: scaffold.ArgoCD{Server: "argocd.example.com:443", App: "checkout-review-shop", Project: "shop",
			RepoURL: "git@gitlab.example.com:platform/gitops.git", Namespace: "argocd", Account: "bluegreen-checkout",
			Destination: "https://kubernetes.default.svc"},
		PrometheusURL: "http://prometheus:9090", Metrics: "http", Checks: "deploy/checks.yaml",
		Component: "$CI_SERVER_FQDN/platform/bluegreen/pipeline", ComponentVersion: "1.4.0",
	}
	files, err := scaffold.Generate(spec, scaffold.App{Namespace: "shop", Workload: plan.Workload{Kind: "Deployment", Name: "checkout", Container: "app"}})
	if err != nil {
		t.Fatal(err)
	}
	byPath := map[string][]byte{}
	for _, f := range files {
		byPath[f.Path] = f.Data
	}

	var app v1alpha1.Application
	if err := yaml.UnmarshalStrict(byPath[scaffold.ApplicationFile], &app); err != nil {
		t.Fatalf("application.yaml: %v", err)
	}
	src := app.Spec.Source
	switch {
	case app.Kind != "Application" || app.Name != "checkout-review-shop" || app.Namespace != "argocd" || app.Spec.Project != "shop":
		t.Errorf("Application %s %s/%s in project %s", app.Kind, app.Namespace, app.Name, app.Spec.Project)
	case src == nil || src.Path != spec.GitOps.Path || src.Directory == nil || !src.Directory.Recurse:
		t.Errorf("source %+v: want path %s, recursive", src, spec.GitOps.Path)
	case src.RepoURL != spec.ArgoCD.RepoURL || src.TargetRevision != "main":
		t.Errorf("source %s at %s", src.RepoURL, src.TargetRevision)
	case app.Spec.Destination.Server != spec.ArgoCD.Destination || app.Spec.Destination.Namespace != "shop":
		t.Errorf("destination %+v", app.Spec.Destination)
	}
	if got := appOf(&app).Policy; got != (Policy{Automated: true}) {
		t.Errorf("policy %+v, want automated sync without selfHeal or prune", got)
	}

	var proj v1alpha1.AppProject
	if err := yaml.UnmarshalStrict(byPath[scaffold.AppProjectFile], &proj); err != nil {
		t.Fatalf("appproject.yaml: %v", err)
	}
	if proj.Name != "shop" || len(proj.Spec.SourceRepos) != 1 || proj.Spec.SourceRepos[0] != spec.ArgoCD.RepoURL ||
		len(proj.Spec.Destinations) != 1 || proj.Spec.Destinations[0].Namespace != "shop" || proj.Spec.Destinations[0].Server != spec.ArgoCD.Destination {
		t.Errorf("AppProject %s: repos %v, destinations %+v", proj.Name, proj.Spec.SourceRepos, proj.Spec.Destinations)
	}
	if !proj.IsSourcePermitted(app.Spec.GetSource()) {
		t.Error("the project does not permit the Application's source")
	}
}
