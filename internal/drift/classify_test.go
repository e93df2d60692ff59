package drift

import (
	"strings"
	"testing"
)

func TestCompare_NormalisesWhatTheApiserverRewrites(t *testing.T) {
	t.Parallel()
	git := obj(t, `
apiVersion: apps/v1
kind: Deployment
metadata: {name: shop-blue, namespace: shop}
spec:
  replicas: 2
  template:
    spec:
      containers:
      - name: web
        image: shop:1
        resources: {requests: {cpu: "0.5", memory: 1Gi}}
        env: [{name: A, value: "1"}, {name: B, value: "2"}]
        args: [--port, "8080"]
`)
	lv := live(t, `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop-blue
  namespace: shop
  uid: 0f0e
  resourceVersion: "42"
  generation: 3
  creationTimestamp: "2026-11-26T10:00:00Z"
  managedFields: [{manager: argocd}]
  annotations: {deployment.kubernetes.io/revision: "3", kubectl.kubernetes.io/last-applied-configuration: "{}"}
spec:
  replicas: 2
  template:
    spec:
      containers:
      - name: web
        image: shop:1
        resources: {requests: {cpu: 500m, memory: 1Gi}}
        env: [{name: B, value: "2"}, {name: A, value: "1"}]
        args: [--port, "8080"]
status: {replicas: 2}
`)
	if got := compare(git, lv); len(got) != 0 {
		t.Fatalf("differences = %+v, want none: numbers, quantities, keyed list order and bookkeeping are not drift", got)
	}
}

func TestCompare_FindsEachKindOfDifferenceAtItsPath(t *testing.T) {
	t.Parallel()
	git := obj(t, `
apiVersion: apps/v1
kind: Deployment
metadata: {name: shop-blue, labels: {team: a}}
spec:
  template:
    spec:
      containers:
      - name: web
        image: shop:1
        env: [{name: A, value: "1"}]
        args: [--port, "8080"]
      volumes: [{name: config, configMap: {name: shop-config-blue-0123456789}}]
`)
	lv := live(t, `
apiVersion: apps/v1
kind: Deployment
metadata: {name: shop-blue, labels: {team: a, extra: "yes"}}
spec:
  template:
    spec:
      containers:
      - name: web
        image: shop:2
        env: [{name: A, value: "1"}, {name: DEBUG, value: "on"}]
        args: [--port, "9090"]
      volumes: []
`)
	var got []string
	for _, c := range compare(git, lv) {
		got = append(got, string(c.kind)+" "+pathString(c.path))
	}
	want := []string{
		`live-only metadata.labels.extra`,
		`changed spec.template.spec.containers[name=web].args`,
		`live-only spec.template.spec.containers[name=web].env[name=DEBUG]`,
		`changed spec.template.spec.containers[name=web].image`,
		`git-only spec.template.spec.volumes[name=config]`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("differences:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestCompare_NeverReadsSecretData(t *testing.T) {
	t.Parallel()
	git := obj(t, `{apiVersion: v1, kind: Secret, metadata: {name: s, labels: {a: b}}, stringData: {token: from-git}}`)
	lv := live(t, `{apiVersion: v1, kind: Secret, metadata: {name: s, labels: {a: b}}, data: {token: ZnJvbS1jbHVzdGVy}}`)
	if got := compare(git, lv); len(got) != 0 {
		t.Errorf("differences = %+v, want none: Secrets compare by metadata only", got)
	}
}

func TestClassify_SeverityOfEachDifference(t *testing.T) {
	t.Parallel()
	deploy := objectFacts{kind: "Deployment", name: "shop-green", known: true}
	hpa := deploy
	hpa.hpaOwned = true
	active := objectFacts{kind: "Service", name: "shop", active: true, recorded: "green", known: true}
	autoscaler := objectFacts{kind: "HorizontalPodAutoscaler", name: "shop-blue", known: true}
	raised := autoscaler
	raised.raised = true
	p := func(s ...string) []string { return s }
	tests := []struct {
		name  string
		facts objectFacts
		c     change
		want  Severity
		class string
	}{
		{"Argo CD's tracking annotation", deploy, change{path: p("metadata", "annotations", "argocd.argoproj.io/tracking-id"), kind: liveOnly, live: "x"}, Expected, "argocd"},
		{"the recorded switch on the active selector", active, change{path: p("spec", "selector", "bluegreen.dev/color"), kind: changed, git: "blue", live: "green"}, Expected, "selector"},
		{"a selector switched by hand", active, change{path: p("spec", "selector", "bluegreen.dev/color"), kind: changed, git: "green", live: "blue"}, Dangerous, "traffic"},
		{"the switch stamps", active, change{path: p("metadata", "annotations", "bluegreen.dev/idle-until"), kind: liveOnly, live: "t"}, Expected, "switch"},
		{"replicas an HPA owns", hpa, change{path: p("spec", "replicas"), kind: changed, git: 2.0, live: int64(5)}, Expected, "replicas"},
		{"replicas scaled by hand", deploy, change{path: p("spec", "replicas"), kind: changed, git: 2.0, live: int64(5)}, Dangerous, "replicas"},
		{"minReplicas a capacity match raised", raised, change{path: p("spec", "minReplicas"), kind: changed, git: 2.0, live: int64(6)}, Expected, "capacity"},
		{"the note of what it replaced", raised, change{path: p("metadata", "annotations", "bluegreen.dev/min-replicas-before"), kind: liveOnly, live: "2"}, Expected, "capacity"},
		{"minReplicas raised by hand", autoscaler, change{path: p("spec", "minReplicas"), kind: changed, git: 2.0, live: int64(6)}, Dangerous, "replicas"},
		{"an HPA's metrics changed while it is raised", raised, change{path: p("spec", "metrics"), kind: changed}, Dangerous, "field"},
		{"an image", deploy, change{path: p("spec", "template", "spec", "containers", "[name=web]", "image"), kind: changed, git: "a", live: "b"}, Dangerous, "image"},
		{"an env var added", deploy, change{path: p("spec", "template", "spec", "containers", "[name=web]", "env", "[name=X]"), kind: liveOnly}, Dangerous, "env"},
		{"resources set by hand", deploy, change{path: p("spec", "template", "spec", "containers", "[name=web]", "resources", "limits"), kind: liveOnly}, Dangerous, "resources"},
		{"a default inside env", deploy, change{path: p("spec", "template", "spec", "containers", "[name=web]", "env", "[name=X]", "valueFrom", "fieldRef", "apiVersion"), kind: liveOnly}, Benign, "default"},
		{"a pod default", deploy, change{path: p("spec", "template", "spec", "dnsPolicy"), kind: liveOnly}, Benign, "default"},
		{"a Service default", objectFacts{kind: "Service", known: true}, change{path: p("spec", "ports", "[name=http]", "protocol"), kind: liveOnly}, Benign, "default"},
		{"a nodeSelector set by hand", deploy, change{path: p("spec", "template", "spec", "nodeSelector"), kind: liveOnly}, Dangerous, "field"},
		{"a field of a kind without a defaults table", objectFacts{kind: "CronJob"}, change{path: p("spec", "concurrencyPolicy"), kind: liveOnly}, Benign, "default"},
		{"a Role's rules", objectFacts{kind: "Role", known: true}, change{path: p("rules", "[0]", "verbs"), kind: changed}, Dangerous, "rbac"},
		{"a label added in the cluster", deploy, change{path: p("metadata", "labels", "team"), kind: liveOnly, live: "a"}, Benign, "metadata"},
		{"a label git sets, changed", deploy, change{path: p("metadata", "labels", "team"), kind: changed, git: "a", live: "b"}, Dangerous, "field"},
		{"a rollout restart", deploy, change{path: p("spec", "template", "metadata", "annotations", "kubectl.kubernetes.io/restartedAt"), kind: liveOnly}, Benign, "restart"},
		{"a missing field", deploy, change{path: p("spec", "template", "spec", "volumes"), kind: gitOnly}, Dangerous, "volumes"},
	}
	for _, tt := range tests {
		got := classify(tt.facts, tt.c)
		if got.severity != tt.want || got.class != tt.class {
			t.Errorf("%s: %s/%s, want %s/%s", tt.name, got.severity, got.class, tt.want, tt.class)
		}
	}
}

func TestShownValue_NeverQuotesWhatCouldBeACredential(t *testing.T) {
	t.Parallel()
	p := func(s ...string) []string { return s }
	if v := shownValue("Deployment", p("spec", "template", "spec", "containers", "[name=web]", "env", "[name=TOKEN]", "value"), "s3cr3t"); v != "" {
		t.Errorf("env value shown: %q", v)
	}
	if v := shownValue("Secret", p("metadata", "labels", "a"), "x"); v != "" {
		t.Errorf("Secret value shown: %q", v)
	}
	if v := shownValue("ConfigMap", p("data", "password"), "x"); v != "" {
		t.Errorf("ConfigMap data shown: %q", v)
	}
	if v := shownValue("Deployment", p("spec", "template", "spec", "containers", "[name=web]", "image"), "shop:2"); v != "shop:2" {
		t.Errorf("image = %q, want it shown", v)
	}
	if v := shownValue("Deployment", p("spec", "replicas"), 3.0); v != "3" {
		t.Errorf("replicas = %q, want 3", v)
	}
}
