package drift

import (
	"context"
	"fmt"
	"strings"

	"gitlab.com/platform/bluegreen/internal/argocd"
	"gitlab.com/platform/bluegreen/internal/converge"
	"gitlab.com/platform/bluegreen/internal/render"
)

// ArgoCD reads Applications and, for --fix, syncs a few of an
// Application's resources and waits for that sync. Errors carry outcome
// kinds.
type ArgoCD interface {
	// Inspect reads app; with refresh, Argo CD compares it with git first.
	Inspect(ctx context.Context, app string, refresh bool) (argocd.App, error)
	converge.Selective
}

// checkArgo judges an Application the blue/green way: its OutOfSync
// resources are as severe as what bluegreen found on them (an HPA's
// replicas or the selector of a recorded switch are expected), and
// selfHeal is dangerous, because it undoes a fast-path rollback.
func checkArgo(app argocd.App, verdicts map[string]objVerdict, appName string) []Finding {
	var out []Finding
	switch pol := app.Policy; {
	case !pol.Automated:
		out = append(out, Finding{Severity: Expected, Class: "policy", Message: "manual sync: bluegreen syncs each revision itself"})
	case pol.SelfHeal:
		out = append(out, Finding{Severity: Dangerous, Class: "self-heal",
			Message: "automated sync with selfHeal: Argo CD would undo a fast-path rollback within seconds, sending traffic back to the failed colour; turn selfHeal off"})
	default:
		out = append(out, Finding{Severity: Benign, Class: "policy", Message: fmt.Sprintf("automated sync without selfHeal (prune %v)", pol.Prune)})
	}
	switch app.Health {
	case argocd.Healthy:
	case argocd.Degraded, argocd.Missing:
		out = append(out, Finding{Severity: Dangerous, Class: "health", Message: "health " + string(app.Health) + withMsg(app.HealthMessage) + unhealthy(app.Resources)})
	default:
		out = append(out, Finding{Severity: Benign, Class: "health", Message: "health " + orNone(string(app.Health)) + withMsg(app.HealthMessage)})
	}
	if op := app.Operation; op != nil && !op.Pending && (op.Phase == argocd.PhaseFailed || op.Phase == argocd.PhaseError) {
		out = append(out, Finding{Severity: Dangerous, Class: "sync-failed", Message: fmt.Sprintf("the last sync (at %s) ended %s%s", short(op.Revision), op.Phase, withMsg(op.Message))})
	}
	for _, c := range app.Conditions {
		if strings.HasSuffix(c.Type, "Error") { // ComparisonError, SyncError, ...; not warnings
			out = append(out, Finding{Severity: Dangerous, Class: "condition", Message: c.Type + ": " + c.Message})
		}
	}
	switch app.Sync {
	case argocd.Synced:
	case argocd.OutOfSync:
		out = append(out, outOfSync(app, verdicts, appName)...)
	default:
		out = append(out, Finding{Severity: Dangerous, Class: "unknown", Message: "sync status " + orNone(string(app.Sync)) + ": Argo CD cannot compare git with the cluster"})
	}
	return out
}

// outOfSync classifies each OutOfSync resource by what bluegreen knows of it.
func outOfSync(app argocd.App, verdicts map[string]objVerdict, appName string) []Finding {
	var out []Finding
	for _, r := range app.Resources {
		if r.Sync != argocd.OutOfSync && !r.RequiresPruning {
			continue
		}
		ref := objRef(r.Kind, r.Name)
		v, known := verdicts[objKey(r.Group, r.Kind, r.Name)]
		switch {
		case r.RequiresPruning && coloredName.MatchString(r.Name) && r.Kind == "ConfigMap":
			out = append(out, Finding{Severity: Benign, Class: "prune", Object: ref, Message: "OutOfSync: an old coloured ConfigMap Argo CD would prune (see " + CheckOrphans + ")"})
		case r.RequiresPruning:
			out = append(out, Finding{Severity: Dangerous, Class: "prune", Object: ref, Message: "OutOfSync: tracked by " + appName + " but no longer in git; Argo CD would prune it"})
		case !known:
			out = append(out, Finding{Severity: Dangerous, Class: "out-of-sync", Object: ref, Message: "OutOfSync for a reason bluegreen cannot see (not among the app's objects in git)"})
		case v.severity == "":
			out = append(out, Finding{Severity: Benign, Class: "out-of-sync", Object: ref, Message: "OutOfSync, though bluegreen finds no difference beyond fields it ignores"})
		case v.severity == Dangerous:
			out = append(out, Finding{Severity: Dangerous, Class: "out-of-sync", Object: ref, Message: "OutOfSync: " + v.summary + " (see " + CheckGit + ")"})
		default:
			out = append(out, Finding{Severity: v.severity, Class: "out-of-sync", Object: ref, Message: "OutOfSync as bluegreen expects: " + v.summary})
		}
	}
	if len(out) == 0 {
		out = append(out, Finding{Severity: Dangerous, Class: "out-of-sync", Message: "OutOfSync, with no resource named"})
	}
	return out
}

func withMsg(m string) string {
	if m == "" {
		return ""
	}
	return ": " + m
}

func unhealthy(rs []argocd.Resource) string {
	var bad []string
	for _, r := range rs {
		if r.Health != "" && r.Health != argocd.Healthy {
			bad = append(bad, fmt.Sprintf("%s/%s %s%s", r.Kind, r.Name, r.Health, withMsg(r.Message)))
		}
	}
	return listed("; ", bad, 5)
}

// trackingApp is the Argo CD Application that manages an object, from its
// tracking annotation ("<app>:<group>/<kind>:<ns>/<name>", where <app> may
// be "<namespace>_<name>") or Argo CD's instance label.
func trackingApp(annotations, labels map[string]string) string {
	if id := annotations["argocd.argoproj.io/tracking-id"]; id != "" {
		name, _, _ := strings.Cut(id, ":")
		if _, after, ok := strings.Cut(name, "_"); ok {
			return after
		}
		return name
	}
	return labels["app.kubernetes.io/instance"]
}

// argoAppName is the Application of app: the configured name ("{app}" is
// replaced), else the one tracking its active Service.
func argoAppName(configured string, a *appLive) string {
	if configured != "" {
		return strings.ReplaceAll(configured, "{app}", a.app)
	}
	for _, svc := range a.actives {
		if n := trackingApp(svc.Annotations, svc.Labels); n != "" && svc.Labels[render.AppLabel] == a.app {
			return n
		}
	}
	return ""
}
