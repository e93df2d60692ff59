package drift

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"gitlab.com/platform/bluegreen/internal/kube"
	"gitlab.com/platform/bluegreen/internal/render"
)

// An app whose workload is an Argo Rollouts blue-green Rollout has no
// colours: the Rollout's controller points the active and preview Services
// at ReplicaSets by the rollouts-pod-template-hash label. Its invariants:
// the active Service selects the Rollout's stable ReplicaSet and reaches
// only its ready pods; the preview selects the current one; a paused
// Rollout waits for its promotion (expected); an aborted one left git
// holding a template that does not run (drift, until rollback commits the
// stable images).

// rolloutGVK is Argo Rollouts' Rollout, listed when the cluster serves it.
var rolloutGVK = schema.GroupVersionKind{Group: "argoproj.io", Version: "v1alpha1", Kind: "Rollout"}

// appRollout is the app's Rollout in the snapshot, or nil.
func appRollout(s *snapshot, app string) *unstructured.Unstructured {
	for _, u := range s.lists[rolloutGVK] {
		if u.GetLabels()[render.AppLabel] == app {
			return u
		}
	}
	return nil
}

// rolloutChecks are a Rollout app's invariant checks, in the places of a
// Deployment app's.
func rolloutChecks(s *snapshot, a *appLive, ro *unstructured.Unstructured) []Check {
	st := rolloutStatus(ro)
	ref := objRef("Rollout", ro.GetName())
	skipped := func(name, why string) Check { return Check{Name: name, Status: Skipped, Summary: why} }
	return []Check{
		{Name: CheckActive, Summary: "the active Service selects the Rollout's stable ReplicaSet, and only its pods", Findings: checkRolloutActive(s, a, st, ref)},
		{Name: CheckLiveReady, Summary: "the stable ReplicaSet's pods are Ready and reached", Findings: checkRolloutReady(s, a, st)},
		{Name: CheckPreview, Summary: "the preview Service selects the Rollout's current ReplicaSet; a pause or an abort is reported", Findings: checkRolloutPreview(a, st, ref)},
		skipped(CheckIdle, "Argo Rollouts scales the old ReplicaSet down itself (scaleDownDelaySeconds)"),
		skipped(CheckPending, "a Rollout is switched by its controller: there is no fast path to reconcile"),
	}
}

type rolloutState struct {
	stable, current, phase, message string
	paused, aborted                 bool
}

func rolloutStatus(u *unstructured.Unstructured) rolloutState {
	str := func(f ...string) string { v, _, _ := unstructured.NestedString(u.Object, f...); return v }
	paused, _, _ := unstructured.NestedBool(u.Object, "spec", "paused")
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "pauseConditions")
	aborted, _, _ := unstructured.NestedBool(u.Object, "status", "abort")
	return rolloutState{stable: str("status", "stableRS"), current: str("status", "currentPodHash"),
		phase: str("status", "phase"), message: str("status", "message"), paused: paused || len(conds) > 0, aborted: aborted}
}

func checkRolloutActive(s *snapshot, a *appLive, st rolloutState, ref string) []Finding {
	if len(a.actives) == 0 {
		return []Finding{{Severity: Dangerous, Class: "missing-service", Message: "no active Service (labels " + render.AppLabel + "=" + a.app + ", " + render.RoleLabel + "=active)"}}
	}
	if st.stable == "" {
		return []Finding{{Severity: Dangerous, Class: "no-stable", Object: ref, Message: "the Rollout has no stable ReplicaSet (status.stableRS is empty)"}}
	}
	var out []Finding
	for _, svc := range a.actives {
		sref := objRef("Service", svc.Name)
		sel := svc.Spec.Selector[kube.HashLabel]
		if sel != st.stable {
			out = append(out, Finding{Severity: Dangerous, Class: "not-stable", Object: sref,
				Message: fmt.Sprintf("selects %s=%q, but the Rollout's stable ReplicaSet is %s; someone changed the selector outside Argo Rollouts", kube.HashLabel, sel, st.stable)})
			continue
		}
		if l := hashLeaks(s, svc, sel); len(l) > 0 {
			out = append(out, Finding{Severity: Dangerous, Class: "leak", Object: sref, Message: "reaches pods of another ReplicaSet: " + strings.Join(l, ", ")})
		}
	}
	return out
}

// hashLeaks lists the ready endpoints of svc that are pods of the app with
// another ReplicaSet hash.
func hashLeaks(s *snapshot, svc corev1.Service, hash string) []string {
	byIP := map[string]*corev1.Pod{}
	for i := range s.pods {
		if ip := s.pods[i].Status.PodIP; ip != "" {
			byIP[ip] = &s.pods[i]
		}
	}
	var out []string
	for _, ip := range readyEndpoints(s, svc.Name) {
		if p := byIP[ip]; p != nil && p.Labels[kube.HashLabel] != "" && p.Labels[kube.HashLabel] != hash {
			out = append(out, fmt.Sprintf("%s (%s=%s)", p.Name, kube.HashLabel, p.Labels[kube.HashLabel]))
		}
	}
	sort.Strings(out)
	return out
}

func checkRolloutReady(s *snapshot, a *appLive, st rolloutState) []Finding {
	var out []Finding
	for _, svc := range a.actives {
		if n := len(readyEndpoints(s, svc.Name)); n == 0 {
			out = append(out, Finding{Severity: Dangerous, Class: "no-endpoints", Object: objRef("Service", svc.Name),
				Message: fmt.Sprintf("reaches no ready pod of the stable ReplicaSet %s", st.stable)})
		}
	}
	return out
}

func checkRolloutPreview(a *appLive, st rolloutState, ref string) []Finding {
	var out []Finding
	for _, svc := range a.previews {
		if sel := svc.Spec.Selector[kube.HashLabel]; sel != st.current {
			out = append(out, Finding{Severity: Dangerous, Class: "older-replicaset", Object: objRef("Service", svc.Name),
				Message: fmt.Sprintf("selects %s=%q, but the Rollout's current ReplicaSet is %s: QA would test another release", kube.HashLabel, sel, st.current)})
		}
	}
	switch {
	case st.aborted:
		out = append(out, Finding{Severity: Dangerous, Class: "aborted", Object: ref,
			Message: fmt.Sprintf("aborted: traffic stays on the stable ReplicaSet %s, but git holds the template of %s, which Argo CD shows Degraded; re-run rollback to commit the stable images (%s)", st.stable, st.current, orNone(st.message))})
	case st.paused && st.current != st.stable:
		out = append(out, Finding{Severity: Expected, Class: "paused", Object: ref,
			Message: fmt.Sprintf("paused before its promotion: ReplicaSet %s behind the preview, %s live; promote or rollback decides", st.current, st.stable)})
	}
	return out
}
