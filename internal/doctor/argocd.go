package doctor

import (
	"context"
	"fmt"
	"path"

	"gitlab.com/platform/bluegreen/internal/argocd"
)

// ArgoAPI is what the Argo CD checks ask (argocd.Client).
type ArgoAPI interface {
	Describe(ctx context.Context, app string) (argocd.Spec, error)
	CanI(ctx context.Context, resource, action, object string) (bool, error)
}

// ArgoCD checks the Application: that the token's account may get and
// sync it, that it reads the GitOps folder recursively, and that
// self-heal is off (it would undo a fast-path rollback).
func ArgoCD(api ArgoAPI, app, folder string) System {
	return System{Name: "argocd", Run: func(ctx context.Context, _ *State) []Result {
		spec, err := api.Describe(ctx, app)
		if err != nil {
			if argocd.Unreachable(err) {
				return []Result{{Name: "Application " + app, Verdict: Down, Detail: err.Error(), Fix: "check BG_ARGOCD_SERVER and that argocd-server is reachable from the runner (BG_ARGOCD_GRPC_WEB behind a proxy that drops HTTP/2)"}}
			}
			return []Result{{Name: "Application " + app, Verdict: Fix, Detail: err.Error(),
				Fix: fmt.Sprintf("check BG_ARGOCD_APP and the token (Argo CD answers \"permission denied\" both for an Application that does not exist and one the account may not get): p, <account>, applications, get, <project>/%s, allow", app)}}
		}
		rs := []Result{{Name: "Application " + app, Verdict: OK, Detail: "project " + spec.Project}}
		object := spec.Project + "/" + app
		for _, action := range []string{"get", "sync"} {
			rs = append(rs, canI(ctx, api, action, object))
		}
		return append(rs, source(spec, folder)...)
	}}
}

func canI(ctx context.Context, api ArgoAPI, action, object string) Result {
	r := Result{Name: "can-i " + action + " applications " + object}
	ok, err := api.CanI(ctx, "applications", action, object)
	switch {
	case err != nil && argocd.Unreachable(err):
		r.Verdict, r.Detail, r.Fix = Down, err.Error(), "check that argocd-server is reachable"
	case err != nil:
		r.Verdict, r.Detail, r.Fix = Fix, err.Error(), "check BG_ARGOCD_TOKEN"
	case ok:
		r.Verdict, r.Detail = OK, "yes"
	default:
		r.Verdict, r.Detail = Fix, "no"
		r.Fix = fmt.Sprintf("add `p, <account>, applications, %s, %s, allow` to policy.csv in argocd-rbac-cm for the token's account", action, object)
	}
	return r
}

func source(spec argocd.Spec, folder string) []Result {
	var rs []Result
	r := Result{Name: "source.path"}
	switch {
	case spec.Sources != 1:
		r.Verdict, r.Detail, r.Fix = Fix, fmt.Sprintf("%d sources", spec.Sources), "give the Application one source, the GitOps repo at "+folder
	case path.Clean(spec.Path) != path.Clean(folder):
		r.Verdict, r.Detail = Fix, fmt.Sprintf("%q, but bluegreen commits to %q", spec.Path, folder)
		r.Fix = fmt.Sprintf("set spec.source.path to %s, or BG_GITOPS_PATH (gitops-path) to %s", folder, spec.Path)
	default:
		r.Verdict, r.Detail = OK, folder
	}
	rs = append(rs, r)
	rec := Result{Name: "source.directory.recurse", Verdict: OK, Detail: "true"}
	if !spec.Recurse {
		rec.Verdict, rec.Detail = Fix, "false: Argo CD would not read blue/, green/ and shared/"
		rec.Fix = "set spec.source.directory.recurse: true"
	}
	heal := Result{Name: "syncPolicy.automated.selfHeal", Verdict: OK, Detail: "off"}
	if spec.Policy.SelfHeal {
		heal.Verdict, heal.Detail = Fix, "on: it re-applies git within seconds of a fast-path rollback and flips traffic back to the failed colour"
		heal.Fix = "set spec.syncPolicy.automated.selfHeal: false (automated sync without self-heal is fine; bluegreen syncs itself)"
	}
	return append(rs, rec, heal)
}
