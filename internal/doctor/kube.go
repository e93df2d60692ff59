package doctor

import (
	"context"
	"fmt"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"gitlab.com/platform/bluegreen/internal/kube"
	"gitlab.com/platform/bluegreen/internal/names"
	"gitlab.com/platform/bluegreen/internal/plan"
	"gitlab.com/platform/bluegreen/templates/kubernetes"
)

// Cluster is what the Kubernetes checks ask (kube.Inspector).
type Cluster interface {
	Allowed(ctx context.Context, ns, group, resource, verb string) (bool, string, error)
	Lookup(ctx context.Context, ns, group, resource, name string) (*unstructured.Unstructured, kube.Presence, error)
}

// ShippedRole is the Role in templates/kubernetes/rbac.yaml that every
// job's identity needs.
const ShippedRole = "bluegreen"

// ShippedRules returns the rules of the shipped Role.
func ShippedRules() ([]rbacv1.PolicyRule, error) {
	for _, doc := range strings.Split(string(kubernetes.RBAC), "\n---\n") {
		var r rbacv1.Role
		if err := yaml.Unmarshal([]byte(doc), &r); err != nil {
			return nil, fmt.Errorf("rbac.yaml: %w", err)
		}
		if r.Kind == "Role" && r.Name == ShippedRole {
			return r.Rules, nil
		}
	}
	return nil, fmt.Errorf("rbac.yaml has no Role %q", ShippedRole)
}

// Kubernetes checks the job's identity against every verb of the shipped
// Role in the app's namespace, then the objects a release reads: the
// active Service, the live colour's Deployment (or the Rollout) and the
// lock's Lease.
func Kubernetes(c Cluster, rules []rbacv1.PolicyRule) System {
	return System{Name: "kubernetes", Run: func(ctx context.Context, st *State) []Result {
		var rs []Result
		allowed := map[string]bool{}
		for _, rule := range rules {
			for _, g := range rule.APIGroups {
				for _, res := range rule.Resources {
					r, down := accessResult(ctx, c, st.Namespace, g, res, rule.Verbs, allowed)
					rs = append(rs, r)
					if down {
						return rs // the cluster is unreachable: the rest would say so again
					}
				}
			}
		}
		return append(rs, objects(ctx, c, st, allowed)...)
	}}
}

// accessResult checks verbs on one resource; allowed collects the answers
// ("create leases": true).
func accessResult(ctx context.Context, c Cluster, ns, group, res string, verbs []string, allowed map[string]bool) (Result, bool) {
	kind := res
	if group != "" {
		kind = res + "." + group
	}
	r := Result{Name: fmt.Sprintf("%s: %s", kind, strings.Join(verbs, ", "))}
	var denied []string
	for _, v := range verbs {
		ok, _, err := c.Allowed(ctx, ns, group, res, v)
		if err != nil {
			r.Verdict, r.Detail = Down, err.Error()
			r.Fix = "check that the Kubernetes API is reachable from the runner (KUBECONFIG, or the in-cluster service account)"
			return r, true
		}
		allowed[v+" "+res] = ok
		if !ok {
			denied = append(denied, v+" "+kind)
		}
	}
	if len(denied) == 0 {
		r.Verdict, r.Detail = OK, "allowed"
		return r, false
	}
	r.Verdict = Fix
	r.Detail = "denied: " + strings.Join(denied, ", ")
	r.Fix = fmt.Sprintf("the job's identity lacks %s in namespace %s: apply templates/kubernetes/rbac.yaml there (kubectl -n %s apply -f rbac.yaml), or add the verbs to the Role bound to the identity your runners use", strings.Join(denied, ", "), ns, ns)
	return r, false
}

// objects checks what a release reads and sets st.Live.
func objects(ctx context.Context, c Cluster, st *State, allowed map[string]bool) []Result {
	ns, app := st.Namespace, st.App
	var rs []Result
	svc, p, err := c.Lookup(ctx, ns, "", "services", app)
	r := Result{Name: "Service " + app}
	switch {
	case err != nil:
		return append(rs, Result{Name: r.Name, Verdict: Down, Detail: err.Error(), Fix: "check that the Kubernetes API is reachable"})
	case p == kube.Forbidden:
		r.Verdict, r.Detail, r.Fix = Fix, "may not be read", "grant get on services (templates/kubernetes/rbac.yaml)"
	case p == kube.Absent:
		st.Live = plan.None
		r.Verdict, r.Detail = Warn, "not there yet: the first release creates it (render reads live colour none)"
		r.Fix = fmt.Sprintf("nothing, for a first release; otherwise check BG_APP and BG_NAMESPACE (app %q, namespace %q)", app, ns)
	case rolloutHash(svc) != "":
		st.LiveHash = rolloutHash(svc)
		r.Verdict, r.Detail = OK, "an Argo Rollouts active Service: live ReplicaSet "+st.LiveHash
	default:
		color, _, _ := unstructured.NestedString(svc.Object, "spec", "selector", kube.ColorLabel)
		live, perr := plan.ParseColor(color)
		if color == "" || perr != nil || live == plan.None {
			r.Verdict, r.Detail = Fix, fmt.Sprintf("selects no colour (%s=%q)", kube.ColorLabel, color)
			r.Fix = "adopt it with a first release rendered with --live-color none (BG_LIVE_COLOR=none), which moves its traffic to blue"
		} else {
			st.Live = live
			r.Verdict, r.Detail = OK, "live colour "+string(live)
		}
	}
	rs = append(rs, r)
	switch {
	case st.LiveHash != "":
		rs = append(rs, rollout(ctx, c, ns, app))
	case st.Live == plan.Blue || st.Live == plan.Green:
		rs = append(rs, workload(ctx, c, ns, app, st.Live))
	}
	return append(rs, lease(ctx, c, ns, app, allowed))
}

// rolloutHash is the ReplicaSet hash an Argo Rollouts active Service
// selects without a colour, when it is a valid one; else "".
func rolloutHash(svc *unstructured.Unstructured) string {
	sel, _, _ := unstructured.NestedStringMap(svc.Object, "spec", "selector")
	if h := sel[kube.HashLabel]; sel[kube.ColorLabel] == "" && names.PodTemplateHash(h) == nil {
		return h
	}
	return ""
}

// rollout checks the Rollout of an app whose active Service selects a
// ReplicaSet hash.
func rollout(ctx context.Context, c Cluster, ns, app string) Result {
	r := Result{Name: "Rollout " + app}
	_, p, err := c.Lookup(ctx, ns, "argoproj.io", "rollouts", app)
	switch {
	case err != nil:
		r.Verdict, r.Detail, r.Fix = Down, err.Error(), "check that the Kubernetes API is reachable"
	case p == kube.Present:
		r.Verdict, r.Detail = OK, "an Argo Rollout: promote and rollback drive it"
	case p == kube.Forbidden:
		r.Verdict, r.Detail, r.Fix = Fix, "may not be read", "grant get on rollouts.argoproj.io (templates/kubernetes/rbac.yaml)"
	default:
		r.Verdict, r.Detail = Fix, fmt.Sprintf("the active Service selects a %s, but Rollout %s does not exist", kube.HashLabel, app)
		r.Fix = "check BG_APP: the Rollout and its active Service must both be named after the app"
	}
	return r
}

// workload checks the live colour's Deployment, else the app's Rollout.
func workload(ctx context.Context, c Cluster, ns, app string, live plan.Color) Result {
	name := app + "-" + string(live)
	_, p, err := c.Lookup(ctx, ns, "apps", "deployments", name)
	if err != nil {
		return Result{Name: "Deployment " + name, Verdict: Down, Detail: err.Error(), Fix: "check that the Kubernetes API is reachable"}
	}
	switch p {
	case kube.Present:
		return Result{Name: "Deployment " + name, Verdict: OK, Detail: "the live colour's Deployment is there"}
	case kube.Forbidden:
		return Result{Name: "Deployment " + name, Verdict: Fix, Detail: "may not be read", Fix: "grant get on deployments (templates/kubernetes/rbac.yaml)"}
	}
	if _, rp, err := c.Lookup(ctx, ns, "argoproj.io", "rollouts", app); err == nil && rp == kube.Present {
		return Result{Name: "Rollout " + app, Verdict: OK, Detail: "an Argo Rollout: promote and rollback drive it"}
	}
	return Result{Name: "Deployment " + name, Verdict: Fix,
		Detail: fmt.Sprintf("the active Service selects %s, but neither Deployment %s nor Rollout %s exists", live, name, app),
		Fix:    "the live colour has no pods: roll back to the other colour (bluegreen rollback), or sync a release"}
}

// lease checks the environment lock. A Lease that is not there yet is
// fine when the identity may create it: the first locked stage does.
func lease(ctx context.Context, c Cluster, ns, app string, allowed map[string]bool) Result {
	name := kube.LeaseName(app)
	r := Result{Name: "Lease " + name}
	_, p, err := c.Lookup(ctx, ns, "coordination.k8s.io", "leases", name)
	switch {
	case err != nil:
		r.Verdict, r.Detail, r.Fix = Down, err.Error(), "check that the Kubernetes API is reachable"
	case p == kube.Present:
		r.Verdict, r.Detail = OK, "there"
	case p == kube.Forbidden:
		r.Verdict, r.Detail, r.Fix = Fix, "may not be read", "grant get, create and update on leases (templates/kubernetes/rbac.yaml)"
	case allowed["create leases"]:
		r.Verdict, r.Detail = OK, "not there yet; the first stage that locks the environment creates it (create leases is allowed)"
	default:
		r.Verdict, r.Detail, r.Fix = Fix, "not there, and create leases is denied", "grant create on leases (templates/kubernetes/rbac.yaml)"
	}
	return r
}
