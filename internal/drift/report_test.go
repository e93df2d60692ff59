package drift

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"gitlab.com/platform/bluegreen/internal/outcome"
)

func TestJUnit_OneTestcasePerCheckPerApp(t *testing.T) {
	t.Parallel()
	r := &Report{Environment: "production", Namespace: "shop", CheckedAt: t0, Apps: []AppReport{
		{App: "shop", Live: "green", Checks: []Check{
			{Name: CheckGit, Summary: "git and the cluster agree", Findings: []Finding{imageDrift, defaults}},
			{Name: CheckActive, Summary: "the active Service selects the recorded colour"},
			{Name: CheckArgoCD, Summary: "Argo CD", err: outcome.Externalf("argocd get \"shop\": Unavailable")},
		}},
		{App: "cart", Live: "blue", Checks: []Check{
			{Name: CheckIdle, Summary: "idle", Findings: []Finding{{Severity: Expected, Class: "warm", Object: "Deployment/cart-green", Message: "green stays warm for rollback until 2026-11-26T10:10:00Z"}}},
			{Name: CheckArgoCD, Status: Skipped, Summary: "Argo CD is not configured (BG_ARGOCD_SERVER)"},
		}},
	}}
	r.finish()
	got, err := junitReport(r)
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "drift.junit.golden.xml")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("junit differs from %s (run with -update):\n%s", golden, got)
	}
}

func TestReport_FingerprintIgnoresMessagesAndNonDangerousFindings(t *testing.T) {
	t.Parallel()
	a := reportOf(nil, imageDrift, defaults)
	reworded := imageDrift
	reworded.Message, reworded.Live = "image differs (3 pods)", "shop:other"
	b := reportOf(nil, reworded)
	c := reportOf(nil, envDrift)
	if a.Fingerprint != b.Fingerprint || a.Fingerprint == c.Fingerprint || reportOf(nil, defaults).Fingerprint != "clean" {
		t.Errorf("fingerprints: %s %s %s", a.Fingerprint, b.Fingerprint, c.Fingerprint)
	}
	if !a.Drift || a.Counts[Dangerous] != 1 || a.Counts[Benign] != 1 || a.Apps[0].Checks[1].Status != Fail || a.Apps[0].Checks[0].Status != Pass {
		t.Errorf("report = %+v", a)
	}
}

func TestVerdict_ExitCodes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		r    *Report
		side error
		want int
	}{
		{"clean", reportOf(nil, defaults), nil, 0},
		{"drift", reportOf(nil, imageDrift), nil, 1},
		{"unreachable", reportOf(outcome.Externalf("gitlab down")), nil, 3},
		{"unreachable beats drift: retry the job", reportOf(outcome.Externalf("gitlab down"), imageDrift), nil, 3},
		{"forbidden", reportOf(outcome.Usagef("list secrets: forbidden")), nil, 2},
		{"the issue could not be kept", reportOf(nil), errors.New("gitlab 502"), 3},
		{"drift, and the issue could not be kept", reportOf(nil, imageDrift), errors.New("gitlab 502"), 1},
	}
	for _, tt := range tests {
		if got := outcome.Code(verdict(tt.r, tt.side)); got != tt.want {
			t.Errorf("%s: exit %d, want %d", tt.name, got, tt.want)
		}
	}
}

func TestCheckGit_MissingExtraAndUnreadableObjects(t *testing.T) {
	t.Parallel()
	o := promotedObjects(t)
	o["canary"] = live(t, `{apiVersion: apps/v1, kind: Deployment, metadata: {name: shop-canary, labels: {bluegreen.dev/app: shop}}, spec: {template: {spec: {containers: [{name: web, image: x}]}}}}`)
	s, a := snap(t, o)
	s.errs[schema.GroupVersionKind{Group: "example.com", Version: "v1", Kind: "Widget"}] = ErrUnknownKind
	g := gitOf(t, "production/shop", map[string]string{
		"green/deployment-shop-green.yaml": `{apiVersion: apps/v1, kind: Deployment, metadata: {name: shop-green, labels: {bluegreen.dev/app: shop, bluegreen.dev/color: green},
			annotations: {deployment.kubernetes.io/revision: "1"}}, spec: {replicas: 2, selector: {matchLabels: {bluegreen.dev/color: green}},
			template: {metadata: {labels: {bluegreen.dev/color: green}}, spec: {containers: [{name: web, image: "shop:1", env: [{name: TOKEN, value: s3cr3t-in-git}],
			envFrom: [{configMapRef: {name: shop-config-green-0000000002}}]}]}}}}`,
		"green/pdb.yaml":     `{apiVersion: policy/v1, kind: PodDisruptionBudget, metadata: {name: shop-green}, spec: {minAvailable: 1}}`,
		"shared/widget.yaml": `{apiVersion: example.com/v1, kind: Widget, metadata: {name: w}}`,
		"shared/role.yaml":   `{apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRole, metadata: {name: shop-reader, namespace: elsewhere}}`,
	})
	fs, verdicts, err := checkGit(s, a, g)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, f := range fs {
		got[f.Object+" "+f.Class] = string(f.Severity)
	}
	for k, want := range map[string]string{
		"Deployment/shop-green image":            "dangerous", // git says shop:1, the cluster runs shop:2
		"Deployment/shop-green env":              "dangerous", // git has TOKEN, the cluster does not
		"PodDisruptionBudget/shop-green missing": "dangerous",
		"Widget/w missing":                       "dangerous",
		"ClusterRole/shop-reader not-checked":    "benign",
		"Deployment/shop-canary extra":           "dangerous",
		"Deployment/shop-blue extra":             "dangerous", // not in this git folder
		"Service/shop extra":                     "dangerous",
	} {
		if got[k] != want {
			t.Errorf("%s: %q, want %q (all: %v)", k, got[k], want, got)
		}
	}
	if v := verdicts["apps/Deployment/shop-green"]; v.severity != Dangerous {
		t.Errorf("verdict = %+v", v)
	}
	b, _ := json.Marshal(fs)
	if strings.Contains(string(b), "s3cr3t-in-git") {
		t.Errorf("an env value reached a finding: %s", b)
	}
}
