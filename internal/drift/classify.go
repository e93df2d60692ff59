package drift

import (
	"encoding/json"
	"fmt"
	"strings"

	"gitlab.com/platform/bluegreen/internal/kube"
	"gitlab.com/platform/bluegreen/internal/plan"
)

// objectFacts is what the classification of one object's differences
// needs to know beyond the object: what bluegreen and its controllers own.
type objectFacts struct {
	kind, name string
	active     bool       // an active Service of the app
	recorded   plan.Color // the colour the last switch recorded on it
	hpaOwned   bool       // a Deployment an HPA scales
	raised     bool       // an HPA whose live object carries a capacity match's raise (kube.AnnoMinBefore)
	known      bool       // a kind whose server defaults bluegreen knows
}

// diffVerdict is how one difference is classified.
type diffVerdict struct {
	severity Severity
	class    string // image, env, resources, rbac, selector, replicas, default, ...
	reason   string
}

// classify decides what one difference means (README.md, "How drift
// classifies differences"): expected when bluegreen, Argo CD or a
// controller owns the field; benign when the cluster only added what git
// leaves out (a server default, metadata); dangerous otherwise.
func classify(f objectFacts, c change) diffVerdict {
	if v, ok := expected(f, c); ok {
		return v
	}
	if c.kind != liveOnly {
		return diffVerdict{Dangerous, dangerClass(f.kind, c.path, "field"), "git and the cluster disagree"}
	}
	switch {
	case len(c.path) > 0 && c.path[0] == "metadata":
		return diffVerdict{Benign, "metadata", "added in the cluster"}
	case isDefault(f.kind, c.path):
		return diffVerdict{Benign, "default", "a server default"}
	case dangerClass(f.kind, c.path, "") != "":
		return diffVerdict{Dangerous, dangerClass(f.kind, c.path, ""), "set in the cluster, not in git"}
	case f.known:
		return diffVerdict{Dangerous, "field", "set in the cluster, not in git"}
	}
	return diffVerdict{Benign, "default", "not in git; bluegreen knows no defaults of " + f.kind + ", so it takes it for one"}
}

// expected matches the differences that bluegreen's own design, Argo CD or
// a controller causes.
func expected(f objectFacts, c change) (diffVerdict, bool) {
	p := c.path
	switch {
	case match([]string{"metadata", "annotations"}, p) && len(p) > 2 && strings.HasPrefix(p[2], "argocd.argoproj.io/"):
		return diffVerdict{Expected, "argocd", "Argo CD's tracking annotation"}, true
	case match([]string{"metadata", "labels", "app.kubernetes.io/instance"}, p) && c.kind == liveOnly:
		return diffVerdict{Expected, "argocd", "Argo CD's tracking label"}, true
	case f.kind == "Service" && f.active && match([]string{"metadata", "annotations"}, p) && len(p) > 2 && strings.HasPrefix(p[2], "bluegreen.dev/"):
		return diffVerdict{Expected, "switch", "bluegreen's record of the last switch (stamped on the Service)"}, true
	case f.kind == "Service" && f.active && match([]string{"spec", "selector", kube.ColorLabel}, p) && c.kind == changed &&
		f.recorded != "" && scalarString(c.live) == string(f.recorded):
		return diffVerdict{Expected, "selector", fmt.Sprintf("selects %s, the colour recorded at the last switch", f.recorded)}, true
	case f.kind == "Service" && match([]string{"spec", "selector", kube.HashLabel}, p) && c.kind == liveOnly:
		return diffVerdict{Expected, "argo-rollouts", "the ReplicaSet Argo Rollouts points the Service at (the Rollout invariants check it)"}, true
	case f.kind == "Rollout" && match([]string{"spec", "paused"}, p) && c.kind == liveOnly:
		return diffVerdict{Expected, "argo-rollouts", "the Rollout's pause, which promote clears"}, true
	case f.kind == "HorizontalPodAutoscaler" && f.raised && (match([]string{"spec", "minReplicas"}, p) || match([]string{"spec", "maxReplicas"}, p) ||
		(match([]string{"metadata", "annotations"}, p) && len(p) > 2 && strings.HasPrefix(p[2], "bluegreen.dev/"))):
		return diffVerdict{Expected, "capacity", "raised by bluegreen to the live colour's size for the switch; restored when the other colour is retired"}, true
	case f.kind == "Deployment" && f.hpaOwned && match([]string{"spec", "replicas"}, p):
		return diffVerdict{Expected, "replicas", "owned by the HorizontalPodAutoscaler"}, true
	case f.kind == "Deployment" && match([]string{"spec", "template", "metadata", "annotations", "kubectl.kubernetes.io/restartedAt"}, p) && c.kind == liveOnly:
		return diffVerdict{Benign, "restart", "a `kubectl rollout restart`"}, true
	}
	return diffVerdict{}, false
}

// dangerClass names what a difference at path touches when it changes what
// runs, what it may do, or where traffic goes; else it returns def.
func dangerClass(kind string, path []string, def string) string {
	switch {
	case kind == "Role" || kind == "ClusterRole" || kind == "RoleBinding" || kind == "ClusterRoleBinding":
		return "rbac"
	case has(path, "image"):
		return "image"
	case has(path, "env", "envFrom"):
		return "env"
	case has(path, "resources"):
		return "resources"
	case has(path, "securityContext", "privileged", "hostNetwork", "hostPID", "hostIPC", "serviceAccountName", "serviceAccount", "automountServiceAccountToken"):
		return "security"
	case has(path, "command", "args"):
		return "command"
	case has(path, "containers", "initContainers", "ephemeralContainers"):
		return "containers"
	case has(path, "volumes", "volumeMounts"):
		return "volumes"
	case kind == "Service" && has(path, "selector", "ports"):
		return "traffic"
	case kind == "ConfigMap" && has(path, "data", "binaryData"):
		return "config"
	case kind == "NetworkPolicy" && has(path, "spec"):
		return "network"
	case has(path, "replicas", "minReplicas", "maxReplicas"):
		return "replicas"
	}
	return def
}

// knownKinds are the kinds whose server defaults bluegreen lists: for them,
// a field only the cluster has is a change made there, not a default.
var knownKinds = map[string]bool{
	"Deployment": true, "Service": true, "ConfigMap": true, "Secret": true, "HorizontalPodAutoscaler": true,
	"PodDisruptionBudget": true, "ServiceAccount": true, "Role": true, "RoleBinding": true, "NetworkPolicy": true, "Ingress": true,
}

// podDefaults are the fields the apiserver defaults in a pod spec.
var podDefaults = [][]string{
	{"dnsPolicy"}, {"restartPolicy"}, {"schedulerName"}, {"terminationGracePeriodSeconds"},
	{"serviceAccount"}, // the deprecated alias the apiserver copies from serviceAccountName
	{"*", "[]", "imagePullPolicy"}, {"*", "[]", "terminationMessagePath"}, {"*", "[]", "terminationMessagePolicy"},
	{"*", "[]", "ports", "[]", "protocol"},
	{"*", "[]", "env", "[]", "valueFrom", "fieldRef", "apiVersion"},
	{"*", "[]", "*", "timeoutSeconds"}, {"*", "[]", "*", "periodSeconds"}, {"*", "[]", "*", "successThreshold"},
	{"*", "[]", "*", "failureThreshold"}, {"*", "[]", "*", "httpGet", "scheme"},
	{"volumes", "[]", "*", "defaultMode"}, {"volumes", "[]", "downwardAPI", "items", "[]", "fieldRef", "apiVersion"},
	{"volumes", "[]", "projected", "sources", "[]", "downwardAPI", "items", "[]", "fieldRef", "apiVersion"},
	{"volumes", "[]", "projected", "sources", "[]", "serviceAccountToken", "expirationSeconds"},
	{"volumes", "[]", "hostPath", "type"},
}

// kindDefaults are the other fields the apiserver defaults, per kind.
var kindDefaults = map[string][][]string{
	"Deployment": {
		{"spec", "progressDeadlineSeconds"}, {"spec", "revisionHistoryLimit"}, {"spec", "strategy"}, {"spec", "replicas"},
	},
	"Service": {
		{"spec", "clusterIP"}, {"spec", "clusterIPs"}, {"spec", "ipFamilies"}, {"spec", "ipFamilyPolicy"},
		{"spec", "internalTrafficPolicy"}, {"spec", "sessionAffinity"}, {"spec", "sessionAffinityConfig"}, {"spec", "type"},
		{"spec", "externalTrafficPolicy"}, {"spec", "allocateLoadBalancerNodePorts"}, {"spec", "healthCheckNodePort"},
		{"spec", "ports", "[]", "protocol"}, {"spec", "ports", "[]", "targetPort"}, {"spec", "ports", "[]", "nodePort"},
	},
	"HorizontalPodAutoscaler": {{"spec", "metrics"}, {"spec", "behavior"}, {"spec", "minReplicas"}},
	"NetworkPolicy": {
		{"spec", "policyTypes"}, {"spec", "ingress", "[]", "ports", "[]", "protocol"}, {"spec", "egress", "[]", "ports", "[]", "protocol"},
	},
	"Secret": {{"type"}},
}

func isDefault(kind string, path []string) bool {
	for _, p := range kindDefaults[kind] {
		if match(p, path) {
			return true
		}
	}
	if kind == "Deployment" && match([]string{"spec", "template", "spec"}, path) {
		for _, p := range podDefaults {
			if match(p, path[3:]) {
				return true
			}
		}
	}
	return false
}

// shownValue formats a value for reports, or "" when it must not be shown:
// only fields that cannot hold a credential are quoted (an env value can).
func shownValue(kind string, path []string, v any) string {
	if v == nil || !showable(kind, path) {
		return ""
	}
	var s string
	if isScalar(v) {
		s = scalarString(v)
	} else {
		b, _ := json.Marshal(v)
		s = string(b)
	}
	if len(s) > 120 {
		s = s[:117] + "..."
	}
	return s
}

func showable(kind string, path []string) bool {
	switch {
	case kind == "Secret", has(path, "env", "envFrom", "data", "binaryData", "stringData", "command", "args"):
		return false
	case has(path, "image", "replicas", "minReplicas", "maxReplicas", "selector", "ports", "resources", "limits", "requests"):
		return true
	case kind == "Role" || kind == "ClusterRole" || kind == "RoleBinding" || kind == "ClusterRoleBinding":
		return true
	case len(path) > 2 && path[1] == "annotations" && strings.HasPrefix(path[2], "bluegreen.dev/"):
		return true
	}
	return false
}
