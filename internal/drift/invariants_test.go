package drift

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// t0 is the time of the fixture's last switch (green promoted).
var t0 = time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)

// promotedObjects is the live state of app shop after a promote to green:
// blue warm until t0+10m, green rolled out after blue, both Ready, the
// Services' endpoints on green. Tests change the map before snapshotting.
func promotedObjects(t *testing.T) map[string]*unstructured.Unstructured {
	t.Helper()
	objs := map[string]*unstructured.Unstructured{}
	add := func(key, y string) { objs[key] = live(t, y) }
	svc := func(name, role, color, ann string) string {
		return fmt.Sprintf(`{apiVersion: v1, kind: Service, metadata: {name: %s, labels: {bluegreen.dev/app: shop, bluegreen.dev/role: %s}, annotations: {%s}},
			spec: {selector: {app.kubernetes.io/name: shop, bluegreen.dev/color: %s}}}`, name, role, ann, color)
	}
	add("svc/shop", svc("shop", "active", "green", fmt.Sprintf(`bluegreen.dev/live-color: green, bluegreen.dev/previous-color: blue, bluegreen.dev/switched-at: "%s", bluegreen.dev/idle-until: "%s"`,
		t0.Format(time.RFC3339), t0.Add(10*time.Minute).Format(time.RFC3339))))
	add("svc/shop-preview", svc("shop-preview", "preview", "green", ""))
	for i, c := range []string{"blue", "green"} {
		add("deploy/"+c, fmt.Sprintf(`{apiVersion: apps/v1, kind: Deployment,
			metadata: {name: shop-%[1]s, uid: uid-%[1]s, generation: 1, labels: {bluegreen.dev/app: shop, bluegreen.dev/color: %[1]s}, annotations: {deployment.kubernetes.io/revision: "1"}},
			spec: {replicas: 2, selector: {matchLabels: {bluegreen.dev/color: %[1]s}}, template: {metadata: {labels: {bluegreen.dev/color: %[1]s}},
			  spec: {containers: [{name: web, image: "shop:%[2]d", envFrom: [{configMapRef: {name: shop-config-%[1]s-000000000%[2]d}}]}]}}},
			status: {observedGeneration: 1, replicas: 2, updatedReplicas: 2, availableReplicas: 2}}`, c, i+1))
		add("rs/"+c, fmt.Sprintf(`{apiVersion: apps/v1, kind: ReplicaSet,
			metadata: {name: shop-%[1]s-abc, creationTimestamp: "%[2]s", labels: {bluegreen.dev/app: shop}, annotations: {deployment.kubernetes.io/revision: "1"}, ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: shop-%[1]s, uid: uid-%[1]s}]},
			spec: {selector: {matchLabels: {bluegreen.dev/color: %[1]s}}}}`, c, t0.Add(time.Duration(i-2)*time.Hour).Format(time.RFC3339)))
		for n := 1; n <= 2; n++ {
			add(fmt.Sprintf("pod/%s-%d", c, n), fmt.Sprintf(`{apiVersion: v1, kind: Pod,
				metadata: {name: shop-%[1]s-%[2]d, labels: {bluegreen.dev/app: shop, bluegreen.dev/color: %[1]s}},
				spec: {containers: [{name: web, image: x}]},
				status: {phase: Running, podIP: "10.0.%[3]d.%[2]d", conditions: [{type: Ready, status: "True"}]}}`, c, n, i))
		}
	}
	slice := func(svc string, ips ...string) string {
		var eps []string
		for _, ip := range ips {
			eps = append(eps, fmt.Sprintf(`{addresses: ["%s"], conditions: {ready: true}}`, ip))
		}
		return fmt.Sprintf(`{apiVersion: discovery.k8s.io/v1, kind: EndpointSlice, metadata: {name: %s-x, labels: {kubernetes.io/service-name: %s}}, addressType: IPv4, endpoints: [%s]}`,
			svc, svc, strings.Join(eps, ", "))
	}
	add("slice/shop", slice("shop", "10.0.1.1", "10.0.1.2"))
	add("slice/shop-preview", slice("shop-preview", "10.0.1.1", "10.0.1.2"))
	return objs
}

func snap(t *testing.T, objs map[string]*unstructured.Unstructured) (*snapshot, *appLive) {
	t.Helper()
	var list []*unstructured.Unstructured
	for _, o := range objs {
		list = append(list, o)
	}
	s := snapshotOf(t, "shop", list...)
	return s, newAppLive(s, "shop")
}

func set(t *testing.T, u *unstructured.Unstructured, value any, path ...string) {
	t.Helper()
	if err := unstructured.SetNestedField(u.Object, value, path...); err != nil {
		t.Fatal(err)
	}
}

// classes lists "severity class" of findings.
func classes(fs []Finding) string {
	var out []string
	for _, f := range fs {
		out = append(out, string(f.Severity)+" "+f.Class)
	}
	return strings.Join(out, ", ")
}

func TestInvariants_EachBrokenOneIsCaughtWithItsSeverity(t *testing.T) {
	t.Parallel()
	warm := t0.Add(5 * time.Minute)
	tests := []struct {
		name   string
		now    time.Time
		break_ func(t *testing.T, o map[string]*unstructured.Unstructured)
		check  func(s *snapshot, a *appLive, now time.Time) []Finding
		want   string
	}{
		{"clean: the active Service", warm, nil, act, ""},
		{"clean: the live colour", warm, nil, ready, ""},
		{"clean: the preview", warm, nil, preview, ""},
		{"clean: blue is warm in its window", warm, nil, idle, "expected warm"},
		{"selector switched by hand", warm, func(t *testing.T, o map[string]*unstructured.Unstructured) {
			set(t, o["svc/shop"], "blue", "spec", "selector", "bluegreen.dev/color")
			set(t, o["slice/shop"], []any{map[string]any{"addresses": []any{"10.0.0.1"}}}, "endpoints")
		}, act, "dangerous not-recorded"},
		{"a Service that selects no colour", warm, func(t *testing.T, o map[string]*unstructured.Unstructured) {
			unstructured.RemoveNestedField(o["svc/shop"].Object, "spec", "selector", "bluegreen.dev/color")
		}, act, "dangerous no-colour"},
		{"endpoints reaching blue", warm, func(t *testing.T, o map[string]*unstructured.Unstructured) {
			set(t, o["slice/shop"], []any{map[string]any{"addresses": []any{"10.0.0.1"}}}, "endpoints")
		}, act, "dangerous leak"},
		{"a green pod not Ready", warm, func(t *testing.T, o map[string]*unstructured.Unstructured) {
			set(t, o["pod/green-2"], []any{map[string]any{"type": "Ready", "status": "False"}}, "status", "conditions")
		}, ready, "dangerous not-ready"},
		{"green scaled to zero", warm, func(t *testing.T, o map[string]*unstructured.Unstructured) {
			set(t, o["deploy/green"], int64(0), "spec", "replicas")
		}, ready, "dangerous scaled-to-zero"},
		{"preview on older blue", warm, func(t *testing.T, o map[string]*unstructured.Unstructured) {
			set(t, o["svc/shop-preview"], "blue", "spec", "selector", "bluegreen.dev/color")
			set(t, o["slice/shop-preview"], []any{map[string]any{"addresses": []any{"10.0.0.1"}}}, "endpoints")
		}, preview, "dangerous older-colour"},
		{"preview on blue with no pods is empty, not wrong", warm, func(t *testing.T, o map[string]*unstructured.Unstructured) {
			set(t, o["svc/shop-preview"], "blue", "spec", "selector", "bluegreen.dev/color")
			set(t, o["slice/shop-preview"], []any{}, "endpoints")
		}, preview, ""},
		{"blue past its window", t0.Add(time.Hour), nil, idle, "dangerous past-window"},
		{"blue runs a newer release waiting for promote", t0.Add(time.Hour), func(t *testing.T, o map[string]*unstructured.Unstructured) {
			set(t, o["rs/blue"], t0.Add(30*time.Minute).Format(time.RFC3339), "metadata", "creationTimestamp")
		}, idle, "expected newer-release"},
		{"blue scaled to zero", t0.Add(time.Hour), func(t *testing.T, o map[string]*unstructured.Unstructured) {
			set(t, o["deploy/blue"], int64(0), "spec", "replicas")
		}, idle, ""},
		{"blue retired, green's HPA still raised", t0.Add(time.Hour), func(t *testing.T, o map[string]*unstructured.Unstructured) {
			set(t, o["deploy/blue"], int64(0), "spec", "replicas")
			o["hpa/green"] = live(t, `{apiVersion: autoscaling/v2, kind: HorizontalPodAutoscaler, metadata: {name: shop-green, annotations: {bluegreen.dev/min-replicas-before: "2"}}, spec: {minReplicas: 6, maxReplicas: 10, scaleTargetRef: {kind: Deployment, name: shop-green}}}`)
		}, idle, "dangerous capacity"},
		{"blue retired, green's HPA restored", t0.Add(time.Hour), func(t *testing.T, o map[string]*unstructured.Unstructured) {
			set(t, o["deploy/blue"], int64(0), "spec", "replicas")
			o["hpa/green"] = live(t, `{apiVersion: autoscaling/v2, kind: HorizontalPodAutoscaler, metadata: {name: shop-green}, spec: {minReplicas: 2, maxReplicas: 10, scaleTargetRef: {kind: Deployment, name: shop-green}}}`)
		}, idle, ""},
		{"no window recorded", t0.Add(time.Hour), func(t *testing.T, o map[string]*unstructured.Unstructured) {
			unstructured.RemoveNestedField(o["svc/shop"].Object, "metadata", "annotations", "bluegreen.dev/idle-until")
		}, idle, "dangerous no-window"},
		{"a pending reconcile", warm, func(t *testing.T, o map[string]*unstructured.Unstructured) {
			set(t, o["svc/shop"], "since t: GitLab unreachable", "metadata", "annotations", "bluegreen.dev/pending-reconcile")
		}, func(s *snapshot, a *appLive, now time.Time) []Finding {
			return append(checkPending(a), checkIdle(s, a, now)...)
		},
			"dangerous pending, expected pending"},
	}
	for _, tt := range tests {
		o := promotedObjects(t)
		if tt.break_ != nil {
			tt.break_(t, o)
		}
		s, a := snap(t, o)
		if got := classes(tt.check(s, a, tt.now)); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}

func act(s *snapshot, a *appLive, _ time.Time) []Finding     { return checkActive(s, a) }
func ready(s *snapshot, a *appLive, _ time.Time) []Finding   { return checkLiveReady(s, a) }
func preview(s *snapshot, a *appLive, _ time.Time) []Finding { return checkPreview(s, a) }
func idle(s *snapshot, a *appLive, now time.Time) []Finding  { return checkIdle(s, a, now) }

func TestCheckOrphans_SecretsAreDangerousConfigMapsBenignKeptOnesFine(t *testing.T) {
	t.Parallel()
	o := promotedObjects(t)
	cfg := func(kind, name, created string) *unstructured.Unstructured {
		return live(t, fmt.Sprintf(`{apiVersion: v1, kind: %s, metadata: {name: %s, creationTimestamp: "%s", labels: {bluegreen.dev/app: shop, bluegreen.dev/color: %s}}}`,
			kind, name, created, strings.Split(name, "-")[2]))
	}
	o["cm/used"] = cfg("ConfigMap", "shop-config-green-0000000002", "2026-11-26T09:00:00Z") // referenced by shop-green
	o["cm/git"] = cfg("ConfigMap", "shop-config-blue-00000000aa", "2026-11-26T08:00:00Z")   // in git
	o["cm/old"] = cfg("ConfigMap", "shop-config-blue-00000000bb", "2026-11-25T08:00:00Z")
	o["cm/older"] = cfg("ConfigMap", "shop-config-blue-00000000cc", "2026-11-24T08:00:00Z")
	o["secret/old"] = cfg("Secret", "shop-token-green-00000000dd", "2026-11-24T08:00:00Z")
	s, a := snap(t, o)
	inGit := map[string]bool{"ConfigMap/shop-config-blue-00000000aa": true}

	got := checkOrphans(s, a, inGit, 0)
	if c := classes(got); c != "benign orphan, benign orphan, dangerous orphan" {
		t.Fatalf("keep 0: %q", c)
	}
	if got[0].Object != "ConfigMap/shop-config-blue-00000000bb" || got[2].Object != "Secret/shop-token-green-00000000dd" {
		t.Errorf("orphans = %+v", got)
	}
	got = checkOrphans(s, a, inGit, 1) // the newest unreferenced copy per name and colour stays
	if len(got) != 1 || got[0].Object != "ConfigMap/shop-config-blue-00000000cc" {
		t.Errorf("keep 1: %+v", got)
	}
}
