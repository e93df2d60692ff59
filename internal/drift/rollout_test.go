package drift

import (
	"fmt"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// rolloutSnapshot is a Rollout app with stable ReplicaSet aaa and current
// bbb, two ready pods each, the active Service on active and its
// endpoints on the pods of endpoints.
func rolloutSnapshot(t *testing.T, status, active, endpoints string) *snapshot {
	t.Helper()
	svc := func(name, role, hash string) string {
		return fmt.Sprintf(`{apiVersion: v1, kind: Service, metadata: {name: %s, labels: {bluegreen.dev/app: shop, bluegreen.dev/role: %s}},
			spec: {selector: {app.kubernetes.io/name: shop, rollouts-pod-template-hash: %s}}}`, name, role, hash)
	}
	objs := []string{
		`{apiVersion: argoproj.io/v1alpha1, kind: Rollout, metadata: {name: shop, labels: {bluegreen.dev/app: shop}},
		  spec: {strategy: {blueGreen: {activeService: shop, previewService: shop-preview}}}, status: ` + status + `}`,
		svc("shop", "active", active), svc("shop-preview", "preview", "bbb"),
	}
	var addrs string
	for i, h := range []string{"aaa", "bbb"} {
		for n := 1; n <= 2; n++ {
			ip := fmt.Sprintf("10.244.%d.%d", i, n)
			objs = append(objs, fmt.Sprintf(`{apiVersion: v1, kind: Pod, metadata: {name: shop-%s-%d, labels: {app.kubernetes.io/name: shop, rollouts-pod-template-hash: %s}},
				status: {podIP: %q, conditions: [{type: Ready, status: "True"}]}}`, h, n, h, ip))
			if h == endpoints {
				addrs += fmt.Sprintf(`{addresses: [%q], conditions: {ready: true}},`, ip)
			}
		}
	}
	objs = append(objs, `{apiVersion: discovery.k8s.io/v1, kind: EndpointSlice, addressType: IPv4,
		metadata: {name: shop-x, labels: {kubernetes.io/service-name: shop}}, endpoints: [`+addrs+`]}`)
	us := make([]*unstructured.Unstructured, 0, len(objs))
	for _, o := range objs {
		us = append(us, live(t, o))
	}
	return snapshotOf(t, "ns", us...)
}

func TestRolloutChecks_NameTheHandFlipThePauseAndTheAbort(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, status, active, endpoints string
		check                           string
		want                            Severity
		class                           string
	}{
		{"paused before promotion", `{stableRS: aaa, currentPodHash: bbb, pauseConditions: [{reason: BlueGreenPause}]}`, "aaa", "aaa", CheckPreview, Expected, "paused"},
		{"active flipped by hand", `{stableRS: aaa, currentPodHash: bbb}`, "bbb", "bbb", CheckActive, Dangerous, "not-stable"},
		{"endpoints of another ReplicaSet", `{stableRS: aaa, currentPodHash: bbb}`, "aaa", "bbb", CheckActive, Dangerous, "leak"},
		{"aborted", `{stableRS: aaa, currentPodHash: bbb, abort: true, phase: Degraded, message: "RolloutAborted: Rollout aborted update to revision 2"}`, "aaa", "aaa", CheckPreview, Dangerous, "aborted"},
	} {
		s := rolloutSnapshot(t, tt.status, tt.active, tt.endpoints)
		ro := appRollout(s, "shop")
		if ro == nil {
			t.Fatalf("%s: no Rollout found by label", tt.name)
		}
		found := false
		for _, c := range rolloutChecks(s, newAppLive(s, "shop"), ro) {
			for _, f := range c.Findings {
				if c.Name == tt.check && f.Severity == tt.want && f.Class == tt.class {
					found = true
				}
			}
		}
		if !found {
			t.Errorf("%s: no %s %s finding in %s: %+v", tt.name, tt.want, tt.class, tt.check, rolloutChecks(s, newAppLive(s, "shop"), ro))
		}
	}
}
