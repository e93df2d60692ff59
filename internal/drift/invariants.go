package drift

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"gitlab.com/platform/bluegreen/internal/kube"
	"gitlab.com/platform/bluegreen/internal/plan"
	"gitlab.com/platform/bluegreen/internal/render"
)

// appLive is one app's blue/green objects in the snapshot.
type appLive struct {
	app               string
	actives, previews []corev1.Service
	deployments       map[plan.Color]*appsv1.Deployment
	hpas              map[string][]autoscalingv2.HorizontalPodAutoscaler // by the Deployment they scale
	recorded          plan.Color                                         // the live colour recorded at the last switch
	live              plan.Color                                         // recorded, else what the first active Service selects
	switchedAt        time.Time
}

// discoverApps lists the apps with an active Service in the snapshot.
func discoverApps(s *snapshot) []string {
	seen := map[string]bool{}
	var apps []string
	for _, svc := range s.services {
		app := svc.Labels[render.AppLabel]
		if app != "" && svc.Labels[render.RoleLabel] == "active" && !seen[app] {
			seen[app] = true
			apps = append(apps, app)
		}
	}
	sort.Strings(apps)
	return apps
}

func newAppLive(s *snapshot, app string) *appLive {
	a := &appLive{app: app, deployments: map[plan.Color]*appsv1.Deployment{}, hpas: map[string][]autoscalingv2.HorizontalPodAutoscaler{}}
	for _, svc := range s.services {
		if svc.Labels[render.AppLabel] != app {
			continue
		}
		switch svc.Labels[render.RoleLabel] {
		case "active":
			a.actives = append(a.actives, svc)
		case "preview":
			a.previews = append(a.previews, svc)
		}
	}
	for i := range s.deployments {
		d := &s.deployments[i]
		if c := plan.Color(d.Labels[kube.ColorLabel]); d.Labels[render.AppLabel] == app && (c == plan.Blue || c == plan.Green) {
			a.deployments[c] = d
		}
	}
	for _, h := range s.hpas {
		if h.Spec.ScaleTargetRef.Kind == "Deployment" {
			a.hpas[h.Spec.ScaleTargetRef.Name] = append(a.hpas[h.Spec.ScaleTargetRef.Name], h)
		}
	}
	if len(a.actives) > 0 {
		first := a.actives[0]
		a.recorded = plan.Color(first.Annotations[kube.AnnoLive])
		a.live = a.recorded
		if a.live != plan.Blue && a.live != plan.Green {
			a.live = plan.Color(first.Spec.Selector[kube.ColorLabel])
		}
		a.switchedAt, _ = time.Parse(time.RFC3339, first.Annotations[kube.AnnoSwitchedAt])
	}
	return a
}

func objRef(kind, name string) string { return kind + "/" + name }

// checkActive: every active Service selects exactly one colour, the one
// recorded at the last switch, and reaches no pod of another colour.
func checkActive(s *snapshot, a *appLive) []Finding {
	if len(a.actives) == 0 {
		return []Finding{{Severity: Dangerous, Class: "missing-service", Message: "no active Service (labels " + render.AppLabel + "=" + a.app + ", " + render.RoleLabel + "=active)"}}
	}
	var out []Finding
	selected := map[plan.Color][]string{}
	for _, svc := range a.actives {
		ref := objRef("Service", svc.Name)
		sel := plan.Color(svc.Spec.Selector[kube.ColorLabel])
		recorded := plan.Color(svc.Annotations[kube.AnnoLive])
		switch {
		case sel == "":
			out = append(out, Finding{Severity: Dangerous, Class: "no-colour", Object: ref, Message: "selects no colour: it sends traffic to both colours' pods"})
			continue
		case sel != plan.Blue && sel != plan.Green:
			out = append(out, Finding{Severity: Dangerous, Class: "bad-colour", Object: ref, Message: fmt.Sprintf("selects %s=%q, neither blue nor green", kube.ColorLabel, sel)})
			continue
		case recorded == "":
			out = append(out, Finding{Severity: Expected, Class: "first-release", Object: ref, Message: fmt.Sprintf("selects %s; no switch recorded yet (a first release)", sel)})
		case recorded != sel:
			out = append(out, Finding{Severity: Dangerous, Class: "not-recorded", Object: ref,
				Message: fmt.Sprintf("selects %s, but the last switch recorded %s (%s); someone changed the selector outside bluegreen", sel, recorded, orNone(svc.Annotations[kube.AnnoPipelineURL]))})
		}
		selected[sel] = append(selected[sel], svc.Name)
		if leaks := leaks(s, svc.Name, sel); len(leaks) > 0 {
			out = append(out, Finding{Severity: Dangerous, Class: "leak", Object: ref, Message: "reaches pods of another colour: " + strings.Join(leaks, ", ")})
		}
	}
	if len(selected) > 1 {
		out = append(out, Finding{Severity: Dangerous, Class: "disagree",
			Message: fmt.Sprintf("the active Services disagree: %v select blue, %v select green (an interrupted switch?)", selected[plan.Blue], selected[plan.Green])})
	}
	return out
}

// leaks lists the ready endpoints of a Service that are pods not of color.
func leaks(s *snapshot, svc string, color plan.Color) []string {
	byIP := map[string]*corev1.Pod{}
	for i := range s.pods {
		if ip := s.pods[i].Status.PodIP; ip != "" {
			byIP[ip] = &s.pods[i]
		}
	}
	var out []string
	for _, ip := range readyEndpoints(s, svc) {
		if p, ok := byIP[ip]; ok && plan.Color(p.Labels[kube.ColorLabel]) != color {
			out = append(out, fmt.Sprintf("%s (%s, %s)", p.Name, ip, orNone(p.Labels[kube.ColorLabel])))
		}
	}
	sort.Strings(out)
	return out
}

// readyEndpoints lists the ready addresses of a Service's EndpointSlices.
func readyEndpoints(s *snapshot, svc string) []string {
	var out []string
	for _, sl := range s.slices {
		if sl.Labels[discoveryv1.LabelServiceName] != svc {
			continue
		}
		for _, ep := range sl.Endpoints {
			if ep.Conditions.Ready != nil && !*ep.Conditions.Ready {
				continue
			}
			out = append(out, ep.Addresses...)
		}
	}
	return out
}

// checkLiveReady: the live colour's Deployment is rolled out and every pod
// of the colour is Ready, and the active Services reach them.
func checkLiveReady(s *snapshot, a *appLive) []Finding {
	if a.live != plan.Blue && a.live != plan.Green {
		return nil // checkActive says why there is no live colour
	}
	d := a.deployments[a.live]
	if d == nil {
		return []Finding{{Severity: Dangerous, Class: "missing-deployment", Message: fmt.Sprintf("no %s Deployment (labels %s=%s, %s=%s), but %s is live", a.live, render.AppLabel, a.app, kube.ColorLabel, a.live, a.live)}}
	}
	ref := objRef("Deployment", d.Name)
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	if want == 0 {
		return []Finding{{Severity: Dangerous, Class: "scaled-to-zero", Object: ref, Message: "the live colour is scaled to zero"}}
	}
	var out []Finding
	if why := notRolledOut(d, want); why != "" {
		out = append(out, Finding{Severity: Dangerous, Class: "not-available", Object: ref, Message: why})
	}
	ready, total, notReady := 0, 0, []string{}
	for _, p := range s.pods {
		if p.Labels[render.AppLabel] != a.app || plan.Color(p.Labels[kube.ColorLabel]) != a.live || p.DeletionTimestamp != nil {
			continue
		}
		total++
		if podReady(&p) {
			ready++
		} else {
			notReady = append(notReady, p.Name+" ("+string(p.Status.Phase)+")")
		}
	}
	sort.Strings(notReady)
	if len(notReady) > 0 || ready < int(want) {
		out = append(out, Finding{Severity: Dangerous, Class: "not-ready", Object: ref,
			Message: fmt.Sprintf("%d of %d %s pods Ready (want %d)%s", ready, total, a.live, want, listed(" not Ready: ", notReady, 3))})
	}
	for _, svc := range a.actives {
		if plan.Color(svc.Spec.Selector[kube.ColorLabel]) == a.live && len(readyEndpoints(s, svc.Name)) == 0 {
			out = append(out, Finding{Severity: Dangerous, Class: "no-endpoints", Object: objRef("Service", svc.Name), Message: "has no ready endpoints: live traffic reaches no pod"})
		}
	}
	return out
}

func listed(prefix string, items []string, n int) string {
	if len(items) == 0 {
		return ""
	}
	if len(items) > n {
		return prefix + strings.Join(items[:n], ", ") + fmt.Sprintf(" and %d more", len(items)-n)
	}
	return prefix + strings.Join(items, ", ")
}

func notRolledOut(d *appsv1.Deployment, want int32) string {
	st := d.Status
	switch {
	case st.ObservedGeneration < d.Generation:
		return fmt.Sprintf("generation %d not yet observed by the controller", d.Generation)
	case st.UpdatedReplicas < want:
		return fmt.Sprintf("rollout stuck: %d of %d replicas updated", st.UpdatedReplicas, want)
	case st.AvailableReplicas < want:
		return fmt.Sprintf("%d of %d replicas available", st.AvailableReplicas, want)
	}
	return ""
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// rolledOut is when color's Deployment last got a new pod template: the
// creation of its current ReplicaSet. Zero when unknown.
func rolledOut(s *snapshot, a *appLive, color plan.Color) time.Time {
	d := a.deployments[color]
	if d == nil {
		return time.Time{}
	}
	rev := d.Annotations["deployment.kubernetes.io/revision"]
	for _, rs := range s.replicaSets {
		if rev != "" && rs.Annotations["deployment.kubernetes.io/revision"] == rev && ownedBy(rs.OwnerReferences, string(d.UID)) {
			return rs.CreationTimestamp.Time
		}
	}
	return time.Time{}
}

func ownedBy(refs []metav1.OwnerReference, uid string) bool {
	for _, r := range refs {
		if string(r.UID) == uid {
			return true
		}
	}
	return false
}

// newest is the colour rolled out last, or "" when that is unknown.
func newest(s *snapshot, a *appLive) (plan.Color, time.Time) {
	b, g := rolledOut(s, a, plan.Blue), rolledOut(s, a, plan.Green)
	switch {
	case b.IsZero() && g.IsZero():
		return "", time.Time{}
	case g.After(b):
		return plan.Green, g
	case b.After(g):
		return plan.Blue, b
	}
	return "", time.Time{}
}

// checkPreview: each preview Service reaches no pod, or the newest colour's.
func checkPreview(s *snapshot, a *appLive) []Finding {
	var out []Finding
	for _, svc := range a.previews {
		ref := objRef("Service", svc.Name)
		sel := plan.Color(svc.Spec.Selector[kube.ColorLabel])
		if sel != plan.Blue && sel != plan.Green {
			out = append(out, Finding{Severity: Dangerous, Class: "no-colour", Object: ref, Message: fmt.Sprintf("selects %s=%q: not one colour", kube.ColorLabel, sel)})
			continue
		}
		if len(readyEndpoints(s, svc.Name)) == 0 {
			continue // empty: nothing to test, nothing wrong
		}
		if n, at := newest(s, a); n != "" && n != sel {
			out = append(out, Finding{Severity: Dangerous, Class: "older-colour", Object: ref,
				Message: fmt.Sprintf("reaches %s pods, but %s is the newest colour (rolled out %s): QA would test the old release", sel, n, at.UTC().Format(time.RFC3339))})
		}
	}
	return out
}

// checkIdle: the colour that is not live is scaled to zero once its
// rollback window has ended, unless it runs a newer release waiting for
// promote.
func checkIdle(s *snapshot, a *appLive, now time.Time) []Finding {
	if a.live != plan.Blue && a.live != plan.Green {
		return nil
	}
	idle := a.live.Other()
	d := a.deployments[idle]
	if d == nil {
		return nil
	}
	ref := objRef("Deployment", d.Name)
	replicas := int32(1)
	if d.Spec.Replicas != nil {
		replicas = *d.Spec.Replicas
	}
	if replicas == 0 && len(a.hpas[d.Name]) == 0 {
		return lingeringRaise(a)
	}
	up := fmt.Sprintf("%d replica(s)", replicas)
	if len(a.hpas[d.Name]) > 0 {
		up += " and HorizontalPodAutoscaler " + a.hpas[d.Name][0].Name
	}
	if pendingMark(a) != "" {
		return []Finding{{Severity: Expected, Class: "pending", Object: ref, Message: fmt.Sprintf("%s still runs %s: the pending reconcile retires it (see %s)", idle, up, CheckPending)}}
	}
	if at := rolledOut(s, a, idle); !at.IsZero() && (a.switchedAt.IsZero() || at.After(a.switchedAt)) {
		return []Finding{{Severity: Expected, Class: "newer-release", Object: ref, Message: fmt.Sprintf("%s runs a release rolled out %s, after the last switch: waiting for promote", idle, at.UTC().Format(time.RFC3339))}}
	}
	until, err := time.Parse(time.RFC3339, a.actives[0].Annotations[kube.AnnoIdleUntil])
	if err != nil {
		return []Finding{{Severity: Dangerous, Class: "no-window", Object: ref, Message: fmt.Sprintf("%s still runs %s, with no rollback window recorded on Service %s", idle, up, a.actives[0].Name)}}
	}
	if now.Before(until) {
		return []Finding{{Severity: Expected, Class: "warm", Object: ref, Message: fmt.Sprintf("%s stays warm for rollback until %s", idle, until.UTC().Format(time.RFC3339))}}
	}
	return []Finding{{Severity: Dangerous, Class: "past-window", Object: ref, Fix: FixScaleDown,
		Message: fmt.Sprintf("%s still runs %s; its rollback window ended %s", idle, up, until.UTC().Format(time.RFC3339))}}
}

// pendingMark is the pending-reconcile mark of the first active Service
// that has one.
func pendingMark(a *appLive) string {
	for _, svc := range a.actives {
		if m := svc.Annotations[kube.AnnoPendingReconcile]; m != "" {
			return m
		}
	}
	return ""
}

// checkPending: no active Service carries the mark of a fast-path rollback
// that git and Argo CD have not caught up with.
func checkPending(a *appLive) []Finding {
	var out []Finding
	for _, svc := range a.actives {
		if m := svc.Annotations[kube.AnnoPendingReconcile]; m != "" {
			out = append(out, Finding{Severity: Dangerous, Class: "pending", Object: objRef("Service", svc.Name), Fix: FixReconcile,
				Message: fmt.Sprintf("a fast-path rollback to %s is not in git yet (%s): the next Argo CD sync would send traffic back to %s", a.live, m, orNone(svc.Annotations[kube.AnnoPrevious]))})
		}
	}
	return out
}

// coloredName matches the names render gives coloured config copies.
var coloredName = regexp.MustCompile(`^(.+)-(blue|green)-[0-9a-f]{10}$`)

// checkOrphans: the coloured ConfigMaps and Secrets of the app are each
// referenced by a Deployment of the app or in git, or among the newest
// keep unreferenced copies of their name and colour. An orphaned Secret
// is dangerous (it keeps old credentials readable); a ConfigMap benign.
func checkOrphans(s *snapshot, a *appLive, inGit map[string]bool, keep int) []Finding {
	used := map[string]bool{}
	for _, d := range a.deployments {
		for _, ref := range configRefs(d.Spec.Template.Spec) {
			used[ref] = true
		}
	}
	var out []Finding
	for _, gvk := range []struct {
		kind string
		list []objectMeta
		sev  Severity
	}{
		{"ConfigMap", metas(s, configMapGVK), Benign},
		{"Secret", metas(s, secretGVK), Dangerous},
	} {
		groups := map[string][]objectMeta{}
		for _, m := range gvk.list {
			c := m.labels[kube.ColorLabel]
			if m.labels[render.AppLabel] != a.app || (c != "blue" && c != "green") || !coloredName.MatchString(m.name) {
				continue
			}
			if used[gvk.kind+"/"+m.name] || inGit[gvk.kind+"/"+m.name] {
				continue
			}
			base := coloredName.FindStringSubmatch(m.name)[1] + "-" + c
			groups[base] = append(groups[base], m)
		}
		for _, base := range sortedGroupKeys(groups) {
			g := groups[base]
			sort.Slice(g, func(i, j int) bool { return g[i].created.After(g[j].created) })
			for i, m := range g {
				if i < keep {
					continue
				}
				out = append(out, Finding{Severity: gvk.sev, Class: "orphan", Object: objRef(gvk.kind, m.name),
					Message: fmt.Sprintf("no Deployment of %s references it and git does not hold it (created %s)", a.app, m.created.UTC().Format(time.RFC3339))})
			}
		}
	}
	return out
}

func sortedGroupKeys(m map[string][]objectMeta) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

type objectMeta struct {
	name    string
	labels  map[string]string
	created time.Time
}

func metas(s *snapshot, gvk schema.GroupVersionKind) []objectMeta {
	var out []objectMeta
	for _, u := range s.lists[gvk] {
		out = append(out, objectMeta{name: u.GetName(), labels: u.GetLabels(), created: u.GetCreationTimestamp().Time})
	}
	return out
}

// configRefs lists "ConfigMap/name" and "Secret/name" for every config
// object a pod spec references: env, envFrom, volumes, projected volumes.
func configRefs(spec corev1.PodSpec) []string {
	var out []string
	add := func(kind, name string) {
		if name != "" {
			out = append(out, kind+"/"+name)
		}
	}
	containers := append(append([]corev1.Container{}, spec.InitContainers...), spec.Containers...)
	for _, c := range containers {
		for _, e := range c.EnvFrom {
			if e.ConfigMapRef != nil {
				add("ConfigMap", e.ConfigMapRef.Name)
			}
			if e.SecretRef != nil {
				add("Secret", e.SecretRef.Name)
			}
		}
		for _, e := range c.Env {
			if v := e.ValueFrom; v != nil && v.ConfigMapKeyRef != nil {
				add("ConfigMap", v.ConfigMapKeyRef.Name)
			}
			if v := e.ValueFrom; v != nil && v.SecretKeyRef != nil {
				add("Secret", v.SecretKeyRef.Name)
			}
		}
	}
	for _, v := range spec.Volumes {
		if v.ConfigMap != nil {
			add("ConfigMap", v.ConfigMap.Name)
		}
		if v.Secret != nil {
			add("Secret", v.Secret.SecretName)
		}
		if v.Projected != nil {
			for _, src := range v.Projected.Sources {
				if src.ConfigMap != nil {
					add("ConfigMap", src.ConfigMap.Name)
				}
				if src.Secret != nil {
					add("Secret", src.Secret.Name)
				}
			}
		}
	}
	return out
}
