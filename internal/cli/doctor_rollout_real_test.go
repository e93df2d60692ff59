package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gitlab.com/platform/bluegreen/internal/gitlab/gitlabtest"
	"gitlab.com/platform/bluegreen/internal/testenv"
)

// doctor on a Rollout app, against the real Argo Rollouts controller and a
// real Prometheus: the active Service selects a ReplicaSet hash, not a
// colour, and the checks are proven on that live ReplicaSet, by
// {{.Hash}}; a checks file that tells the sides apart by colour is to fix,
// naming the check.
func TestDoctorRolloutReal_ProvesTheChecksOnTheLiveReplicaSet(t *testing.T) {
	t.Parallel()
	w := rolloutWorld(t)
	live := w.rollout(t).Stable
	w.gitlab.TokenSelf(gitlabtest.Token{Name: "gitops", Scopes: []string{"api"}, UserID: 7})
	w.gitlab.Project(gitlabtest.Project{PathWithNamespace: "platform/gitops", ProjectAccess: gitlabtest.Maintainer})
	w.gitlab.ProtectedBranches("platform/gitops", gitlabtest.Maintainer, gitlabtest.Developer, gitlabtest.ProtectedBranch{Name: "main", Push: []int{gitlabtest.Maintainer}})
	var history strings.Builder
	history.WriteString("# TYPE shop_errors gauge\n")
	now := time.Now().Add(-5 * time.Second).Unix()
	for at := now - 600; at <= now; at += 15 {
		fmt.Fprintf(&history, "shop_errors{namespace=%q,%s=%q} 0.01 %d\n", w.ns, testenv.RolloutHashLabel, live, at)
	}
	history.WriteString("# EOF\n")
	p := testenv.NewPrometheus(t, testenv.PrometheusOptions{History: history.String()})
	dir := t.TempDir()
	byHash, byColour := filepath.Join(dir, "hash.yaml"), filepath.Join(dir, "colour.yaml")
	os.WriteFile(byHash, []byte(strings.ReplaceAll(doctorChecks, `app="{{.App}}",namespace="{{.Namespace}}",color="{{.Color}}"`, `namespace="{{.Namespace}}",rollouts_pod_template_hash="{{.Hash}}"`)), 0o644)
	os.WriteFile(byColour, []byte(doctorChecks), 0o644)

	code, out, errOut := w.run("doctor", map[string]string{"BG_PROMETHEUS_URL": p.URL(), "BG_CHECKS": byHash})
	t.Logf("doctor: exit %d\n%s%s", code, out, errOut)
	if code != 0 || strings.Contains(out, "FIX") {
		t.Fatalf("exit %d, want 0 with nothing to fix", code)
	}
	for _, want := range []string{"Service shop: an Argo Rollouts active Service: live ReplicaSet " + live, "Rollout shop", "check error-rate: one series for ReplicaSet " + live + ", now 0.01"} {
		if !strings.Contains(out, want) {
			t.Errorf("checklist lacks %q", want)
		}
	}
	code, out, errOut = w.run("doctor", map[string]string{"BG_PROMETHEUS_URL": p.URL(), "BG_CHECKS": byColour})
	if code != 1 || !strings.Contains(out, "FIX   check error-rate: uses {{.Color}}, not {{.Hash}}") {
		t.Fatalf("colour checks: exit %d, want 1 naming the check\n%s%s", code, out, errOut)
	}
}
