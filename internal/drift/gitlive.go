package drift

import (
	"errors"
	"fmt"
	"sort"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"gitlab.com/platform/bluegreen/internal/kube"
	"gitlab.com/platform/bluegreen/internal/plan"
	"gitlab.com/platform/bluegreen/internal/render"
)

// objVerdict sums up one object's differences, for the Argo CD check.
type objVerdict struct {
	severity Severity
	summary  string
}

func objKey(group, kind, name string) string { return group + "/" + kind + "/" + name }

// extraKinds are the kinds whose app-labelled objects git must hold.
// Coloured ConfigMaps and Secrets are the orphan check's.
var extraKinds = []schema.GroupVersionKind{deploymentGVK, serviceGVK, hpaGVK, pdbGVK}

// checkGit compares every object in the app's GitOps folder with the live
// one and classifies each difference; objects in only one place are
// dangerous. It returns the findings and a verdict per object.
func checkGit(s *snapshot, a *appLive, g *gitApp) ([]Finding, map[string]objVerdict, error) {
	if g.err != nil {
		return nil, nil, g.err
	}
	verdicts := map[string]objVerdict{}
	if len(g.files) == 0 {
		return []Finding{{Severity: Dangerous, Class: "missing", Message: fmt.Sprintf("git has no manifests under %s/", g.folder)}}, verdicts, nil
	}
	var out []Finding
	for _, o := range g.objects() {
		f, v, err := compareObject(s, a, g, o.obj)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, f...)
		gvk := o.obj.GroupVersionKind()
		verdicts[objKey(gvk.Group, gvk.Kind, o.obj.GetName())] = v
	}
	for _, gvk := range extraKinds {
		for _, u := range s.lists[gvk] {
			if u.GetLabels()[render.AppLabel] != a.app || g.has(gvk.Group, gvk.Kind, u.GetName()) {
				continue
			}
			out = append(out, Finding{Severity: Dangerous, Class: "extra", Object: objRef(gvk.Kind, u.GetName()),
				Message: fmt.Sprintf("in the cluster with label %s=%s, but not in git", render.AppLabel, a.app)})
			verdicts[objKey(gvk.Group, gvk.Kind, u.GetName())] = objVerdict{Dangerous, "not in git"}
		}
	}
	return out, verdicts, nil
}

// compareObject compares one git object with the cluster.
func compareObject(s *snapshot, a *appLive, g *gitApp, obj *unstructured.Unstructured) ([]Finding, objVerdict, error) {
	gvk := obj.GroupVersionKind()
	ref := objRef(gvk.Kind, obj.GetName())
	if ns := obj.GetNamespace(); ns != "" && ns != s.ns {
		return []Finding{{Severity: Benign, Class: "not-checked", Object: ref, Message: "in namespace " + ns + ", which this run does not read"}}, objVerdict{Benign, "not checked"}, nil
	}
	live, err := s.get(gvk, obj.GetName())
	switch {
	case errors.Is(err, ErrClusterScoped):
		return []Finding{{Severity: Benign, Class: "not-checked", Object: ref, Message: "cluster-scoped: not checked (drift reads only the namespace)"}}, objVerdict{Benign, "not checked"}, nil
	case errors.Is(err, ErrNoClusterAccess):
		return []Finding{{Severity: Benign, Class: "not-checked", Object: ref, Message: "cluster-scoped: not checked, " + ErrNoClusterAccess.Error()}}, objVerdict{Benign, "not checked"}, nil
	case errors.Is(err, ErrUnknownKind):
		return []Finding{{Severity: Dangerous, Class: "missing", Object: ref, Message: "in git, but the cluster does not serve " + gvk.GroupVersion().String() + " " + gvk.Kind}}, objVerdict{Dangerous, "missing"}, nil
	case err != nil:
		return nil, objVerdict{}, fmt.Errorf("%s: %w", ref, err)
	case live == nil:
		return []Finding{{Severity: Dangerous, Class: "missing", Object: ref, Message: "in git, missing in the cluster"}}, objVerdict{Dangerous, "missing in the cluster"}, nil
	}
	facts := factsOf(a, g, obj)
	var out []Finding
	var benign []string
	var v objVerdict // zero: no difference at all
	for _, c := range compare(obj, live) {
		cv := classify(facts, c)
		p := pathString(c.path)
		if v.summary == "" || explains(cv.severity) > explains(v.severity) {
			v = objVerdict{cv.severity, cv.class + " " + describe(c.kind) + " at " + p}
			if cv.severity == Expected {
				v.summary = cv.reason + " (" + p + ")"
			}
		}
		if cv.severity == Benign {
			benign = append(benign, p)
			continue
		}
		msg := cv.class + " " + describe(c.kind)
		if cv.severity == Expected {
			msg = cv.class + ": " + cv.reason
		}
		out = append(out, Finding{Severity: cv.severity, Class: cv.class, Object: ref, Path: p, Message: msg,
			Git: shownValue(gvk.Kind, c.path, c.git), Live: shownValue(gvk.Kind, c.path, c.live)})
	}
	if len(benign) > 0 {
		sort.Strings(benign)
		out = append(out, Finding{Severity: Benign, Class: "defaults", Object: ref, Paths: benign,
			Message: fmt.Sprintf("%d field(s) only the cluster has: server defaults and added metadata", len(benign))})
	}
	return out, v, nil
}

// explains ranks severities by how well they explain why Argo CD calls an
// object OutOfSync: a dangerous difference first, then an expected one
// (Argo CD ignores what only the cluster has, the benign kind).
func explains(s Severity) int {
	switch s {
	case Dangerous:
		return 3
	case Expected:
		return 2
	case Benign:
		return 1
	}
	return 0
}

func describe(k changeKind) string {
	switch k {
	case gitOnly:
		return "in git, missing in the cluster"
	case liveOnly:
		return "set in the cluster, not in git"
	}
	return "differs from git"
}

// factsOf gathers what classifying obj's differences needs.
func factsOf(a *appLive, g *gitApp, obj *unstructured.Unstructured) objectFacts {
	kind, name := obj.GetKind(), obj.GetName()
	f := objectFacts{kind: kind, name: name, known: knownKinds[kind]}
	for _, svc := range a.actives {
		if kind == "Service" && svc.Name == name {
			f.active, f.recorded = true, plan.Color(svc.Annotations[kube.AnnoLive])
		}
	}
	if kind == "HorizontalPodAutoscaler" {
		for _, hs := range a.hpas {
			for _, h := range hs {
				if h.Name == name {
					_, f.raised = h.Annotations[kube.AnnoMinBefore]
				}
			}
		}
	}
	if kind == "Deployment" {
		f.hpaOwned = len(a.hpas[name]) > 0
		for _, o := range g.objects() {
			target, _, _ := unstructured.NestedString(o.obj.Object, "spec", "scaleTargetRef", "name")
			if o.obj.GetKind() == "HorizontalPodAutoscaler" && target == name {
				f.hpaOwned = true
			}
		}
	}
	return f
}
